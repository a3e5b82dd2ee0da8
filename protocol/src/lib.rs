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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The payload is not a JSON object (a string, a number, an array, nothing at all).
    #[error("payload must be a JSON object")]
    NotAnObject,
    /// A field is missing, has the wrong type, or the object does not parse.
    #[error("{0}")]
    Malformed(String),
    /// A field parsed but its value is not allowed.
    #[error("{field}: {reason}")]
    Invalid {
        /// The payload field, as spelled on the wire.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
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
/// assert_eq!(parse_request::<ConferenceJoin>(&serde_json::json!("x")).unwrap_err(), PayloadError::NotAnObject);
/// ```
pub fn parse_request<T: DeserializeOwned + Validate>(
    value: &serde_json::Value,
) -> Result<T, PayloadError> {
    if !value.is_object() {
        return Err(PayloadError::NotAnObject);
    }
    let parsed: T = T::deserialize(value).map_err(|e| PayloadError::Malformed(e.to_string()))?;
    parsed.validate()?;
    Ok(parsed)
}
