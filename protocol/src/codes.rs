//! The protocol's enumerations: roles, statuses, close and reject reasons, error codes.
//!
//! Each serializes exactly as the spec spells it.
//!
//! ```
//! use lcr_protocol::{ErrorCode, RejectReason};
//! assert_eq!(serde_json::to_string(&ErrorCode::ConferenceNotFound).unwrap(), "\"CONFERENCE_NOT_FOUND\"");
//! assert_eq!(serde_json::to_string(&RejectReason::InvalidOption).unwrap(), "\"invalid_option\"");
//! assert_eq!(ErrorCode::RateLimited.as_str(), "RATE_LIMITED");
//! ```

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in the spec's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as spelled on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Parses the wire spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// A user's role in one conference (spec §3.1, D3).
    Role {
        /// The conference host (`conference:{id}:host`).
        Host = "HOST",
        /// Everybody else.
        Audience = "AUDIENCE",
    }
}

wire_enum! {
    /// A conference's status (spec §1.2 `conference:joined`).
    ConferenceStatus {
        /// Created, not yet activated (D7).
        Draft = "DRAFT",
        /// Open for questions.
        Active = "ACTIVE",
        /// Over: joins answer CONFERENCE_ENDED.
        Ended = "ENDED",
    }
}

wire_enum! {
    /// Why a question closed (`question:closed.reason`).
    CloseReason {
        /// The host closed it, replaced it, or the conference ended.
        Manual = "manual",
        /// Its timer ran out.
        Timeout = "timeout",
    }
}

wire_enum! {
    /// Why a vote was refused (`vote:rejected.reason`, D18).
    RejectReason {
        /// The user already voted on this run of the question.
        Duplicate = "duplicate",
        /// The question is not the live one.
        QuestionClosed = "question_closed",
        /// The option is not one of the question's keys.
        InvalidOption = "invalid_option",
        /// The sender is the host, or its socket has not joined the conference.
        NotAudience = "not_audience",
    }
}

wire_enum! {
    /// Error codes of the `error` event: spec §9.1 plus D5's two.
    ErrorCode {
        /// The user may not do this.
        Unauthorized = "UNAUTHORIZED",
        /// No such conference.
        ConferenceNotFound = "CONFERENCE_NOT_FOUND",
        /// The conference has ended.
        ConferenceEnded = "CONFERENCE_ENDED",
        /// The conference is not active (DRAFT or ENDED).
        ConferenceNotActive = "CONFERENCE_NOT_ACTIVE",
        /// No such question in this conference.
        QuestionNotFound = "QUESTION_NOT_FOUND",
        /// The question is not the live one.
        QuestionNotLive = "QUESTION_NOT_LIVE",
        /// The user already voted.
        DuplicateVote = "DUPLICATE_VOTE",
        /// No such option.
        InvalidOption = "INVALID_OPTION",
        /// A lock is held by another operation.
        OperationInProgress = "OPERATION_IN_PROGRESS",
        /// The operation timed out (a store call did not answer in time).
        Timeout = "TIMEOUT",
        /// Missing or mistyped field, bad identifier, out-of-range value (D5).
        InvalidPayload = "INVALID_PAYLOAD",
        /// Too many events from this socket (D24).
        RateLimited = "RATE_LIMITED",
    }
}

impl ConferenceStatus {
    /// Whether `conference:status_changed` may carry this status (ACTIVE or ENDED only).
    pub fn is_runtime_status(self) -> bool {
        !matches!(self, ConferenceStatus::Draft)
    }
}
