//! The handlers of client events, one file per spec flow, each reading like its section's steps.
//!
//! | file | event | spec | decisions |
//! |---|---|---|---|
//! | [`join`] | `conference:join` | §7.1 join | D3, D7, D9, D10, D13 |
//! | [`leave`] | `conference:leave`, disconnect | §7.2 leave, §7.3 disconnect | D9, D10, D12 |
//! | [`push`] | `question:push_live` | §3.4, §4.1 push live | D7, D14, D15 |
//! | [`close`] | `question:close` | §4.3 close, §6.2 final results | D17, D19, D21, D23 |
//! | [`vote`] | `vote:submit` | §3.4, §5.1 vote | D18, D19 |
//!
//! What they share with the rest of the server lives below them: the close of a run
//! ([`crate::closing`]), the countdown, §4.2 and §6.1 ([`crate::countdown`], D16, D20), the
//! audience count, §7.4 ([`crate::audience`], D11). The Control API's flows (D8) are
//! [`crate::control`].
//!
//! A flow takes the [`Node`](crate::node::Node), a [`Caller`] (the socket that sent the
//! event) and a validated payload from [`lcr_protocol::client`]. It answers the sender through
//! [`Outbox`] and the rooms through the node; a failure is a [`FlowError`], which the socket
//! layer turns into an `error` event (D5).

pub mod close;
pub mod join;
pub mod leave;
pub mod push;
pub mod vote;

use lcr_protocol::ErrorCode;
use serde::Serialize;

use crate::catalog::CatalogError;
use crate::node::LookupError;
use crate::session::Session;
use crate::store::StoreError;

/// A flow failed: sent to the sender as `error` with this code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FlowError {
    /// The error code (spec §9.1, D5).
    pub code: ErrorCode,
    /// What happened, for a person.
    pub message: String,
}

impl FlowError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FlowError {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store call failed");
        FlowError::new(
            ErrorCode::Timeout,
            format!("runtime store unavailable: {e}"),
        )
    }
}

impl From<CatalogError> for FlowError {
    fn from(e: CatalogError) -> Self {
        tracing::error!(error = %e, "catalog call failed");
        FlowError::new(
            ErrorCode::Timeout,
            format!("question source unavailable: {e}"),
        )
    }
}

impl From<LookupError> for FlowError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NotFound(_) => {
                FlowError::new(ErrorCode::ConferenceNotFound, e.to_string())
            }
            LookupError::Store(e) => e.into(),
            LookupError::Catalog(e) => e.into(),
        }
    }
}

/// The sending socket, as flows see it.
pub trait Outbox: Send + Sync {
    /// Emits to this socket only.
    fn send_value(&self, event: &'static str, payload: serde_json::Value);
    /// Joins Socket.IO rooms.
    fn join_rooms(&self, rooms: Vec<String>);
    /// Leaves Socket.IO rooms.
    fn leave_rooms(&self, rooms: Vec<String>);
}

/// Who sent the event being handled.
pub struct Caller<'a> {
    /// The socket's session (user, joined conferences).
    pub session: &'a Session,
    /// Its outbox.
    pub out: &'a dyn Outbox,
}

impl Caller<'_> {
    /// The sender's user id.
    pub fn user_id(&self) -> &str {
        &self.session.user_id
    }

    /// Emits a typed payload to the sender.
    pub fn send<T: Serialize>(&self, event: &'static str, payload: &T) {
        match serde_json::to_value(payload) {
            Ok(v) => self.out.send_value(event, v),
            Err(e) => tracing::error!(event, error = %e, "payload did not serialize"),
        }
    }
}
