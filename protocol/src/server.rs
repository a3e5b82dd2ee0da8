//! Server → client payloads (spec §1.2), field for field.
//!
//! Every timestamp is Unix epoch milliseconds (D6). Unknown fields are ignored when parsing, as
//! D-preamble asks of clients; the fields D22 forbids are checked by [`forbidden_fields`].
//!
//! ```
//! use lcr_protocol::server::VoteResult;
//! use std::collections::BTreeMap;
//! let r = VoteResult {
//!     conference_id: "c".into(), question_id: "q".into(), total_votes: 1,
//!     option_counts: BTreeMap::from([("A".into(), 1), ("B".into(), 0)]), timestamp: 1,
//! };
//! assert_eq!(
//!     serde_json::to_value(&r).unwrap(),
//!     serde_json::json!({"conferenceId": "c", "questionId": "q", "totalVotes": 1,
//!                        "optionCounts": {"A": 1, "B": 0}, "timestamp": 1})
//! );
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{CloseReason, ConferenceStatus, ErrorCode, Millis, RejectReason, Role};

/// One answer of a question: `{ key, text }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionOption {
    /// The option key, upper-case ('A', 'B', …).
    pub key: String,
    /// What the audience reads.
    pub text: String,
}

/// `conference:joined`, to the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceJoined {
    /// The conference joined.
    pub conference_id: String,
    /// Its status now.
    pub conference_status: ConferenceStatus,
    /// The live question in `question:live` shape, or null (D13).
    pub live_question: Option<QuestionLive>,
    /// Audience users present (D9).
    pub audience_count: u64,
    /// Extension field (D3): the role the server gave this user here. Optional for clients, so
    /// a server without the extension fails only the scenarios that rest on D3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// `conference:left`, to the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceLeft {
    /// The conference left.
    pub conference_id: String,
}

/// `conference:status_changed`, to the conference room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConferenceStatusChanged {
    /// The conference.
    pub conference_id: String,
    /// ACTIVE or ENDED.
    pub status: ConferenceStatus,
    /// When it changed.
    pub timestamp: Millis,
}

/// `question:live`, to the conference room; also `conference:joined.liveQuestion`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionLive {
    /// The conference.
    pub conference_id: String,
    /// The question now live.
    pub question_id: String,
    /// Its text.
    pub question_text: String,
    /// Its options; never the correct one (D22).
    pub options: Vec<QuestionOption>,
    /// Whole seconds.
    pub duration: u32,
    /// When it went live.
    pub started_at: Millis,
    /// `startedAt + duration·1000`.
    pub expires_at: Millis,
}

/// `question:closed`, to the conference room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionClosed {
    /// The conference.
    pub conference_id: String,
    /// The question closed.
    pub question_id: String,
    /// manual or timeout.
    pub reason: CloseReason,
    /// When it closed.
    pub closed_at: Millis,
}

/// `question:timer_update`, to the conference room, once a second (D16).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionTimerUpdate {
    /// The conference.
    pub conference_id: String,
    /// The live question.
    pub question_id: String,
    /// Whole seconds left: `duration − k` at tick k.
    pub time_remaining: u32,
    /// The question's `expiresAt`.
    pub expires_at: Millis,
    /// Extension field: when the tick was sent (used to measure fan-out delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Millis>,
}

/// `vote:accepted`, to the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteAccepted {
    /// The conference.
    pub conference_id: String,
    /// The question.
    pub question_id: String,
    /// The option counted, upper-cased.
    pub selected_option: String,
    /// Whether it is the correct option (the voter's own answer only).
    pub is_correct: bool,
    /// When it was recorded.
    pub timestamp: Millis,
}

/// `vote:rejected`, to the sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteRejected {
    /// The conference.
    pub conference_id: String,
    /// The question.
    pub question_id: String,
    /// Why.
    pub reason: RejectReason,
    /// When it was refused.
    pub timestamp: Millis,
}

/// `vote:result`, to the conference room (coalesced, D20).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteResult {
    /// The conference.
    pub conference_id: String,
    /// The live question.
    pub question_id: String,
    /// Sum of `optionCounts`.
    pub total_votes: u64,
    /// Every option key, zeros included.
    pub option_counts: BTreeMap<String, u64>,
    /// When the counts were read.
    pub timestamp: Millis,
}

/// `vote:final_result`, to the conference room after `question:closed` (D21).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteFinalResult {
    /// The conference.
    pub conference_id: String,
    /// The closed question.
    pub question_id: String,
    /// Sum of `optionCounts`.
    pub total_votes: u64,
    /// Every option key, zeros included.
    pub option_counts: BTreeMap<String, u64>,
    /// Revealed now that the question is closed.
    pub correct_option: String,
    /// Votes for `correctOption`.
    pub correct_count: u64,
    /// count / totalVotes × 100, two decimals; all 0 without votes.
    pub percentage_breakdown: BTreeMap<String, f64>,
    /// When the question closed.
    pub closed_at: Millis,
}

/// `audience:joined` and `audience:left`, to the host room only (D10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudiencePresence {
    /// The conference.
    pub conference_id: String,
    /// The audience member who arrived or left.
    pub user_id: String,
    /// Audience users present after the change.
    pub audience_count: u64,
    /// When.
    pub timestamp: Millis,
}

/// `audience:count`, to the conference room (D11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AudienceCount {
    /// The conference.
    pub conference_id: String,
    /// Audience users present.
    pub audience_count: u64,
    /// When it was read.
    pub timestamp: Millis,
}

/// `error`, to the sender (spec §9.2, D5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// The error code.
    pub code: ErrorCode,
    /// Human-readable explanation.
    pub message: String,
    /// When.
    pub timestamp: Millis,
    /// What the error is about.
    pub context: ErrorContext,
}

/// `error.context` (D5): the event and, where known, the ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorContext {
    /// The client event that failed.
    pub event: String,
    /// The conference, when the payload named a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_id: Option<String>,
    /// The question, when the payload named a valid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question_id: Option<String>,
}

/// The `data` of a refused connection's `connect_error` (D2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectErrorData {
    /// Always UNAUTHORIZED for a refused token.
    pub code: ErrorCode,
    /// Why the token was refused.
    pub message: String,
}

/// Percentages of D21: count / total × 100 rounded to two decimals, all 0 without votes.
///
/// ```
/// use std::collections::BTreeMap;
/// let counts = BTreeMap::from([("A".to_string(), 1), ("B".to_string(), 2), ("C".to_string(), 0)]);
/// let p = lcr_protocol::server::percentages(&counts, 3);
/// assert_eq!(p["A"], 33.33);
/// assert_eq!(p["B"], 66.67);
/// assert_eq!(p["C"], 0.0);
/// ```
pub fn percentages(counts: &BTreeMap<String, u64>, total: u64) -> BTreeMap<String, f64> {
    counts
        .iter()
        .map(|(k, &c)| {
            let pct = if total == 0 {
                0.0
            } else {
                (c as f64 * 10_000.0 / total as f64).round() / 100.0
            };
            (k.clone(), pct)
        })
        .collect()
}

/// Fields an AUDIENCE socket must never see in `event` before the question closes (D22).
///
/// Returns the offending JSON paths. `vote:final_result` may carry `correctOption`;
/// `audience:joined`/`audience:left` go to the host only, so any `userId` elsewhere is a leak.
///
/// ```
/// use lcr_protocol::{event, server::forbidden_fields};
/// let leak = serde_json::json!({"questionId": "q", "correctOption": "A"});
/// assert_eq!(forbidden_fields(event::QUESTION_LIVE, &leak), vec!["correctOption".to_string()]);
/// assert!(forbidden_fields(event::VOTE_FINAL_RESULT, &leak).is_empty());
/// ```
pub fn forbidden_fields(event: &str, payload: &serde_json::Value) -> Vec<String> {
    let mut found = Vec::new();
    // question:closed and vote:final_result mark the close: from there on the answer is public.
    let allow_correct = matches!(
        event,
        crate::event::VOTE_FINAL_RESULT | crate::event::QUESTION_CLOSED
    );
    let allow_user = matches!(
        event,
        crate::event::AUDIENCE_JOINED | crate::event::AUDIENCE_LEFT
    );
    walk(payload, String::new(), &mut |path, key| {
        let leaks = match key {
            "correctOption" | "correct_option" | "correctAnswer" => !allow_correct,
            "userId" | "user_id" | "voters" | "userIds" => !allow_user,
            _ => false,
        };
        if leaks {
            found.push(path.to_owned());
        }
    });
    found
}

fn walk(value: &serde_json::Value, path: String, visit: &mut impl FnMut(&str, &str)) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                visit(&p, k);
                walk(v, p, visit);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, format!("{path}[{i}]"), visit);
            }
        }
        _ => {}
    }
}
