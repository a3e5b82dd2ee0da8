//! The Control API of decision D8: how a test creates, activates and ends conferences.
//!
//! Every `/admin` call carries `Authorization: Bearer <ADMIN_TOKEN>`.
//!
//! ```
//! use lcr_protocol::admin::{self, ConferenceSpec};
//! assert_eq!(admin::conference_path("c1"), "/admin/conferences/c1");
//! assert_eq!(admin::activate_path("c1"), "/admin/conferences/c1/activate");
//! let spec: ConferenceSpec = serde_json::from_value(serde_json::json!({
//!     "hostUserId": "hana",
//!     "questions": [{"questionId": "q1", "questionText": "2+2?",
//!                    "options": [{"key": "A", "text": "4"}, {"key": "B", "text": "5"}],
//!                    "correctOption": "A"}]
//! })).unwrap();
//! assert!(spec.validate().is_ok());
//! ```

use serde::{Deserialize, Serialize};

use crate::ids::check_id;
use crate::server::QuestionOption;
use crate::{ConferenceStatus, MAX_OPTION_KEY_LEN, MAX_TEXT_LEN, PayloadError};

/// Route of `PUT` (create or replace).
pub const CONFERENCE_ROUTE: &str = "/admin/conferences/{conference_id}";
/// Route of `POST …/activate`.
pub const ACTIVATE_ROUTE: &str = "/admin/conferences/{conference_id}/activate";
/// Route of `POST …/end`.
pub const END_ROUTE: &str = "/admin/conferences/{conference_id}/end";
/// Liveness probe.
pub const HEALTH_PATH: &str = "/health";
/// Readiness probe (the store answers).
pub const READY_PATH: &str = "/ready";
/// Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";
/// Most questions one conference may hold.
pub const MAX_QUESTIONS: usize = 1000;
/// Most options one question may hold.
pub const MAX_OPTIONS: usize = 26;

/// `PUT` path for a conference.
pub fn conference_path(conference_id: &str) -> String {
    format!("/admin/conferences/{conference_id}")
}

/// `POST` path that activates a conference.
pub fn activate_path(conference_id: &str) -> String {
    format!("/admin/conferences/{conference_id}/activate")
}

/// `POST` path that ends a conference.
pub fn end_path(conference_id: &str) -> String {
    format!("/admin/conferences/{conference_id}/end")
}

/// Body of `PUT /admin/conferences/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceSpec {
    /// The user whose token makes them HOST.
    pub host_user_id: String,
    /// Initial status; DRAFT when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConferenceStatus>,
    /// The questions the host may push.
    #[serde(default)]
    pub questions: Vec<QuestionSpec>,
}

/// One question of a [`ConferenceSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionSpec {
    /// Its identifier (D4).
    pub question_id: String,
    /// Its text.
    pub question_text: String,
    /// Its options, at least two, keys unique and upper-case.
    pub options: Vec<QuestionOption>,
    /// The key of the correct option.
    pub correct_option: String,
}

/// The answer of every `/admin/conferences` call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceState {
    /// The conference.
    pub conference_id: String,
    /// Its host.
    pub host_user_id: String,
    /// Its status after the call.
    pub status: ConferenceStatus,
    /// How many questions it holds.
    pub question_count: usize,
}

/// The body of every 4xx/5xx answer of the Control API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    /// A short machine-readable code (`BAD_REQUEST`, `UNAUTHORIZED`, `NOT_FOUND`, `CONFLICT`, …).
    pub error: String,
    /// What went wrong.
    pub message: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> PayloadError {
    PayloadError::Invalid {
        field,
        reason: reason.into(),
    }
}

impl ConferenceSpec {
    /// Checks identifiers, option keys, texts and the correct option of every question.
    pub fn validate(&self) -> Result<(), PayloadError> {
        check_id("hostUserId", &self.host_user_id)?;
        if self.questions.len() > MAX_QUESTIONS {
            return Err(invalid(
                "questions",
                format!("must hold at most {MAX_QUESTIONS} questions"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for q in &self.questions {
            q.validate()?;
            if !seen.insert(q.question_id.as_str()) {
                return Err(invalid(
                    "questions",
                    format!("must not hold questionId {} twice", q.question_id),
                ));
            }
        }
        Ok(())
    }
}

impl QuestionSpec {
    /// Checks this question alone.
    pub fn validate(&self) -> Result<(), PayloadError> {
        check_id("questionId", &self.question_id)?;
        if self.question_text.is_empty() || self.question_text.chars().count() > MAX_TEXT_LEN {
            return Err(invalid(
                "questionText",
                format!("must be 1 to {MAX_TEXT_LEN} characters"),
            ));
        }
        if !(2..=MAX_OPTIONS).contains(&self.options.len()) {
            return Err(invalid(
                "options",
                format!("must hold 2 to {MAX_OPTIONS} options"),
            ));
        }
        let mut keys = std::collections::HashSet::new();
        for o in &self.options {
            let ok = !o.key.is_empty()
                && o.key.len() <= MAX_OPTION_KEY_LEN
                && o.key
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(invalid(
                    "options",
                    format!(
                        "must have keys of 1 to {MAX_OPTION_KEY_LEN} characters of A-Z, 0-9, got {:?}",
                        o.key
                    ),
                ));
            }
            if o.key == "total" || !keys.insert(o.key.as_str()) {
                return Err(invalid(
                    "options",
                    format!(
                        "must not repeat a key or use the reserved key \"total\", got {}",
                        o.key
                    ),
                ));
            }
            if o.text.chars().count() > MAX_TEXT_LEN {
                return Err(invalid(
                    "options",
                    format!("must have texts of at most {MAX_TEXT_LEN} characters"),
                ));
            }
        }
        if !keys.contains(self.correct_option.as_str()) {
            return Err(invalid(
                "correctOption",
                format!(
                    "must be one of the option keys, got {:?}",
                    self.correct_option
                ),
            ));
        }
        Ok(())
    }
}
