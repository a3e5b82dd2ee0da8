//! Identifier rules (D4): conferenceId, questionId and userId are 1 to 64 characters of
//! `[A-Za-z0-9_-]`. Nothing else ever reaches a Redis key.
//!
//! ```
//! use lcr_protocol::ids::{is_valid_id, MAX_ID_LEN};
//! assert!(is_valid_id("conf_2026-keynote"));
//! assert!(!is_valid_id(""));
//! assert!(!is_valid_id("a:b"));
//! assert!(!is_valid_id(&"x".repeat(MAX_ID_LEN + 1)));
//! ```

use crate::PayloadError;

/// Longest identifier.
pub const MAX_ID_LEN: usize = 64;

/// Whether `s` is a valid identifier.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks one identifier field, naming the field in the error.
///
/// ```
/// use lcr_protocol::ids::check_id;
/// assert!(check_id("questionId", "q1").is_ok());
/// assert_eq!(
///     check_id("questionId", "q 1").unwrap_err().to_string(),
///     "questionId must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
/// );
/// ```
pub fn check_id(field: &'static str, value: &str) -> Result<(), PayloadError> {
    if is_valid_id(value) {
        Ok(())
    } else {
        Err(PayloadError::Invalid {
            field,
            reason: format!("must be 1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, '_' or '-'"),
        })
    }
}
