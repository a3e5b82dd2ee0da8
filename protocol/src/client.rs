//! Client → server payloads (spec §1.1), parsed with [`crate::parse_request`].
//!
//! ```
//! use lcr_protocol::{client::QuestionPushLive, parse_request};
//! let push: QuestionPushLive =
//!     parse_request(&serde_json::json!({"conferenceId": "c", "questionId": "q"})).unwrap();
//! assert_eq!(push.duration_secs(), 45);
//! assert!(parse_request::<QuestionPushLive>(&serde_json::json!({"conferenceId": "c", "questionId": "q", "duration": 0})).is_err());
//! ```

use serde::{Deserialize, Serialize};

use crate::ids::check_id;
use crate::{
    DEFAULT_DURATION_SECS, MAX_DURATION_SECS, MAX_OPTION_KEY_LEN, MIN_DURATION_SECS, PayloadError,
    Validate,
};

/// `conference:join`. The `role` a client sends is ignored (D3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceJoin {
    /// The conference to join.
    pub conference_id: String,
    /// Ignored by the server: the role comes from `conference:{id}:host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<serde_json::Value>,
}

/// `conference:leave`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceLeave {
    /// The conference to leave.
    pub conference_id: String,
}

/// `question:push_live`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionPushLive {
    /// The conference.
    pub conference_id: String,
    /// The question to put live.
    pub question_id: String,
    /// Whole seconds, 1 to 3600 (D15); absent means 45, an explicit `null` is invalid.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<serde_json::Value>,
}

/// Deserializes a field that is present, `null` included (absent fields use `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

impl QuestionPushLive {
    /// The duration in seconds, the default applied. Only meaningful after validation.
    pub fn duration_secs(&self) -> u32 {
        self.duration
            .as_ref()
            .and_then(serde_json::Value::as_u64)
            .map_or(DEFAULT_DURATION_SECS, |d| d as u32)
    }
}

/// `question:close`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionClose {
    /// The conference.
    pub conference_id: String,
    /// The question believed live.
    pub question_id: String,
}

/// `vote:submit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteSubmit {
    /// The conference.
    pub conference_id: String,
    /// The question voted on.
    pub question_id: String,
    /// The option key; compared upper-cased (D18).
    pub selected_option: String,
}

impl Validate for ConferenceJoin {
    fn validate(&self) -> Result<(), PayloadError> {
        check_id("conferenceId", &self.conference_id)
    }
}

impl Validate for ConferenceLeave {
    fn validate(&self) -> Result<(), PayloadError> {
        check_id("conferenceId", &self.conference_id)
    }
}

impl Validate for QuestionPushLive {
    fn validate(&self) -> Result<(), PayloadError> {
        check_id("conferenceId", &self.conference_id)?;
        check_id("questionId", &self.question_id)?;
        if let Some(d) = &self.duration {
            let reason = match d.as_i64().map(i128::from).or(d.as_u64().map(i128::from)) {
                Some(secs)
                    if (i128::from(MIN_DURATION_SECS)..=i128::from(MAX_DURATION_SECS))
                        .contains(&secs) =>
                {
                    return Ok(());
                }
                Some(secs) => format!(
                    "must be from {MIN_DURATION_SECS} to {MAX_DURATION_SECS} seconds, got {secs}"
                ),
                None => format!("must be a whole number of seconds, got {}", json_kind(d)),
            };
            return Err(PayloadError::Invalid {
                field: "duration",
                reason,
            });
        }
        Ok(())
    }
}

/// A JSON value in a few words for a message: a number as written, else its kind (a string is
/// not echoed: it may be long).
fn json_kind(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

impl Validate for QuestionClose {
    fn validate(&self) -> Result<(), PayloadError> {
        check_id("conferenceId", &self.conference_id)?;
        check_id("questionId", &self.question_id)
    }
}

impl Validate for VoteSubmit {
    fn validate(&self) -> Result<(), PayloadError> {
        check_id("conferenceId", &self.conference_id)?;
        check_id("questionId", &self.question_id)?;
        let len = self.selected_option.chars().count();
        if len == 0 || len > MAX_OPTION_KEY_LEN {
            return Err(PayloadError::Invalid {
                field: "selectedOption",
                reason: format!("must be 1 to {MAX_OPTION_KEY_LEN} characters"),
            });
        }
        Ok(())
    }
}

impl VoteSubmit {
    /// The option as compared against the question's keys (D18).
    pub fn option_key(&self) -> String {
        self.selected_option.to_uppercase()
    }
}

/// Reads `conferenceId` and `questionId` from any payload, valid or not, for an error's context.
///
/// ```
/// let (c, q) = lcr_protocol::client::context_ids(&serde_json::json!({"conferenceId": "c1", "questionId": 7}));
/// assert_eq!(c.as_deref(), Some("c1"));
/// assert_eq!(q, None);
/// ```
pub fn context_ids(value: &serde_json::Value) -> (Option<String>, Option<String>) {
    let get = |k: &str| {
        value
            .get(k)
            .and_then(serde_json::Value::as_str)
            .filter(|s| crate::ids::is_valid_id(s))
            .map(str::to_owned)
    };
    (get("conferenceId"), get("questionId"))
}
