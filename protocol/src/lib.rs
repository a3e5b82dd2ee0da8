//! The Live Conference Runtime protocol, as one crate.
//!
//! Everything two parties must agree on lives here and nowhere else: the Socket.IO event names
//! ([`event`]), the payload of every event ([`client`] for client→server, [`server`] for
//! server→client), the enumerations and error codes ([`codes`]), identifier rules ([`ids`]), the
//! Control API of decision D8 ([`admin`]) and the handshake token of D2 ([`token`]).
//!
//! The reference server, the conformance suite and the load generator all depend on this crate,
//! so an event name or a field name is spelled exactly once.
//!
//! ```
//! use lcr_protocol::{client::VoteSubmit, event, parse_request};
//!
//! let raw = serde_json::json!({"conferenceId": "conf-1", "questionId": "q1", "selectedOption": "b"});
//! let vote: VoteSubmit = parse_request(&raw).unwrap();
//! assert_eq!(vote.selected_option, "b");
//! assert_eq!(event::VOTE_SUBMIT, "vote:submit");
//! ```

pub mod admin;
pub mod client;
pub mod codes;
pub mod event;
pub mod ids;
pub mod server;
#[cfg(feature = "jwt")]
pub mod token;

pub use codes::{CloseReason, ConferenceStatus, ErrorCode, RejectReason, Role};

use serde::de::DeserializeOwned;

/// Milliseconds since the Unix epoch: the unit of every timestamp in the protocol (D6).
pub type Millis = i64;

/// Default question duration in seconds (spec §1.1, D15).
pub const DEFAULT_DURATION_SECS: u32 = 45;
/// Smallest accepted `duration` (D15).
pub const MIN_DURATION_SECS: u32 = 1;
/// Largest accepted `duration` (D15).
pub const MAX_DURATION_SECS: u32 = 3600;
/// Longest accepted `selectedOption`, before upper-casing.
pub const MAX_OPTION_KEY_LEN: usize = 16;
/// Longest accepted question text or option text in the Control API.
pub const MAX_TEXT_LEN: usize = 2000;
/// Engine.IO maximum payload, in bytes (64 KB; see docs/protocol.md, Limits).
pub const MAX_PAYLOAD_BYTES: u64 = 64 * 1024;

/// The current time in the protocol's unit (D6).
///
/// ```
/// assert!(lcr_protocol::now_millis() > 1_600_000_000_000);
/// ```
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or_default()
}

/// Why a client payload was refused: answered with `error` `INVALID_PAYLOAD` (D5).
///
/// Every variant but [`PayloadError::NotAnObject`] names the field, as spelled on the wire, and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The payload is not a JSON object (a string, a number, an array, nothing at all).
    #[error("payload must be a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("{field} is required")]
    Missing {
        /// The payload field, as spelled on the wire.
        field: String,
    },
    /// A field has the wrong JSON type (`conferenceId` a number, say).
    #[error("{field} must be {expected}")]
    WrongType {
        /// The payload field, as spelled on the wire (`a.b` when nested).
        field: String,
        /// What it must be, in words: "a string".
        expected: String,
    },
    /// The object does not parse for another reason (the message says which field).
    #[error("{0}")]
    Malformed(String),
    /// A field parsed but its value is not allowed.
    #[error("{field} {reason}")]
    Invalid {
        /// The payload field, as spelled on the wire.
        field: &'static str,
        /// What is wrong with it, worded to follow the field's name: "must be …".
        reason: String,
    },
}

impl PayloadError {
    /// Names the field that serde refused and what is wrong with it. serde reports a wrong type
    /// as `invalid type: <what came>, expected <what it must be>` and an absent field as
    /// `missing field `<name>``; `path` is where it happened (`.` for the object itself).
    fn from_serde(path: &str, message: &str) -> PayloadError {
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            let field = match path {
                "." => field.to_owned(),
                parent => format!("{parent}.{field}"),
            };
            return PayloadError::Missing { field };
        }
        let field = match path {
            "." => "payload".to_owned(),
            field => field.to_owned(),
        };
        // What came is written first and may quote the client's text; what is expected comes
        // from the payload types, so the last ", expected " is the separator.
        if message.starts_with("invalid type: ")
            && let Some((_, expected)) = message.rsplit_once(", expected ")
        {
            return PayloadError::WrongType {
                field,
                expected: expected.to_owned(),
            };
        }
        PayloadError::Malformed(format!("{field}: {message}"))
    }
}

/// A client payload that can check its own values after parsing (identifiers, ranges).
pub trait Validate {
    /// Checks every field; the first failure is returned.
    fn validate(&self) -> Result<(), PayloadError>;
}

/// Parses and validates a client payload: the one door every incoming event goes through.
///
/// ```
/// use lcr_protocol::{client::ConferenceJoin, parse_request, PayloadError};
///
/// let bad = serde_json::json!({"conferenceId": "has spaces"});
/// let err = parse_request::<ConferenceJoin>(&bad).unwrap_err();
/// assert!(matches!(err, PayloadError::Invalid { field: "conferenceId", .. }));
/// let err = parse_request::<ConferenceJoin>(&serde_json::json!({"conferenceId": 7})).unwrap_err();
/// assert_eq!(err.to_string(), "conferenceId must be a string");
/// assert_eq!(parse_request::<ConferenceJoin>(&serde_json::json!("x")).unwrap_err(), PayloadError::NotAnObject);
/// ```
pub fn parse_request<T: DeserializeOwned + Validate>(
    value: &serde_json::Value,
) -> Result<T, PayloadError> {
    if !value.is_object() {
        return Err(PayloadError::NotAnObject);
    }
    let parsed: T = serde_path_to_error::deserialize(value)
        .map_err(|e| PayloadError::from_serde(&e.path().to_string(), &e.inner().to_string()))?;
    parsed.validate()?;
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::client::{
        ConferenceJoin, ConferenceLeave, QuestionClose, QuestionPushLive, VoteSubmit,
    };
    use crate::{PayloadError, parse_request};

    /// The message `parse_request` gives for `payload` as event `T`.
    fn message<T: serde::de::DeserializeOwned + crate::Validate + std::fmt::Debug>(
        payload: Value,
    ) -> String {
        parse_request::<T>(&payload)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn only_what_is_not_an_object_is_called_so() {
        for payload in [
            json!(null),
            json!("a"),
            json!(7),
            json!([{"conferenceId": "c1"}]),
        ] {
            assert_eq!(
                message::<ConferenceJoin>(payload),
                "payload must be a JSON object"
            );
        }
        assert_ne!(
            message::<ConferenceJoin>(json!({})),
            "payload must be a JSON object"
        );
    }

    #[test]
    fn a_missing_field_is_named() {
        assert_eq!(
            message::<ConferenceJoin>(json!({})),
            "conferenceId is required"
        );
        assert_eq!(
            message::<ConferenceLeave>(json!({"conferenceid": "c1"})),
            "conferenceId is required"
        );
        assert_eq!(
            message::<QuestionClose>(json!({"conferenceId": "c1"})),
            "questionId is required"
        );
        assert_eq!(
            message::<VoteSubmit>(json!({"conferenceId": "c1", "questionId": "q1"})),
            "selectedOption is required"
        );
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named() {
        for bad in [
            json!(7),
            json!(null),
            json!(true),
            json!(["c1"]),
            json!({"id": "c1"}),
            json!(1.5),
        ] {
            assert_eq!(
                message::<ConferenceJoin>(json!({"conferenceId": bad})),
                "conferenceId must be a string",
                "{bad}"
            );
        }
        assert_eq!(
            message::<QuestionPushLive>(json!({"conferenceId": "c1", "questionId": ["q1"]})),
            "questionId must be a string"
        );
        assert_eq!(
            message::<VoteSubmit>(
                json!({"conferenceId": "c1", "questionId": "q1", "selectedOption": {"k": "A"}})
            ),
            "selectedOption must be a string"
        );
        // What came is not echoed: a string that looks like serde's own words changes nothing.
        assert_eq!(
            message::<VoteSubmit>(
                json!({"conferenceId": "c1", "questionId": "q1", "selectedOption": 1})
            ),
            "selectedOption must be a string"
        );
    }

    #[test]
    fn an_invalid_value_is_named_with_what_is_wrong() {
        assert_eq!(
            message::<ConferenceJoin>(json!({"conferenceId": "a:b"})),
            "conferenceId must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
        );
        assert_eq!(
            message::<QuestionClose>(json!({"conferenceId": "c1", "questionId": ""})),
            "questionId must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
        );
        assert_eq!(
            message::<VoteSubmit>(
                json!({"conferenceId": "c1", "questionId": "q1", "selectedOption": ""})
            ),
            "selectedOption must be 1 to 16 characters"
        );
    }

    #[test]
    fn duration_messages() {
        let push = |d: Value| {
            message::<QuestionPushLive>(
                json!({"conferenceId": "c1", "questionId": "q1", "duration": d}),
            )
        };
        assert_eq!(
            push(json!(1.5)),
            "duration must be a whole number of seconds, got 1.5"
        );
        assert_eq!(
            push(json!("45")),
            "duration must be a whole number of seconds, got a string"
        );
        assert_eq!(
            push(json!(null)),
            "duration must be a whole number of seconds, got null"
        );
        assert_eq!(
            push(json!([45])),
            "duration must be a whole number of seconds, got an array"
        );
        assert_eq!(
            push(json!(1e20)),
            "duration must be a whole number of seconds, got 1e+20"
        );
        assert_eq!(
            push(json!(0)),
            "duration must be from 1 to 3600 seconds, got 0"
        );
        assert_eq!(
            push(json!(3601)),
            "duration must be from 1 to 3600 seconds, got 3601"
        );
        assert_eq!(
            push(json!(-5)),
            "duration must be from 1 to 3600 seconds, got -5"
        );
    }

    #[test]
    fn serde_messages_map_to_fields() {
        assert_eq!(
            PayloadError::from_serde("a", "invalid type: string \", expected x\", expected a map"),
            PayloadError::WrongType {
                field: "a".into(),
                expected: "a map".into()
            }
        );
        assert_eq!(
            PayloadError::from_serde("a", "missing field `b`"),
            PayloadError::Missing {
                field: "a.b".into()
            }
        );
        assert_eq!(
            PayloadError::from_serde("a", "invalid length 2, expected 3").to_string(),
            "a: invalid length 2, expected 3"
        );
        assert_eq!(
            PayloadError::from_serde(".", "invalid type: sequence, expected struct X").to_string(),
            "payload must be struct X"
        );
    }
}
