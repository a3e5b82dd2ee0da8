//! Socket.IO event names (spec §1): the only place they are spelled.
//!
//! ```
//! use lcr_protocol::event;
//! assert!(event::CLIENT_EVENTS.contains(&event::VOTE_SUBMIT));
//! assert!(event::SERVER_EVENTS.contains(&event::VOTE_FINAL_RESULT));
//! ```

/// Client → server: join a conference room.
pub const CONFERENCE_JOIN: &str = "conference:join";
/// Client → server: leave a conference room.
pub const CONFERENCE_LEAVE: &str = "conference:leave";
/// Client → server (host): push a question live.
pub const QUESTION_PUSH_LIVE: &str = "question:push_live";
/// Client → server (host): close the live question.
pub const QUESTION_CLOSE: &str = "question:close";
/// Client → server (audience): submit a vote.
pub const VOTE_SUBMIT: &str = "vote:submit";

/// Server → sender: the join was accepted.
pub const CONFERENCE_JOINED: &str = "conference:joined";
/// Server → sender: the leave was done.
pub const CONFERENCE_LEFT: &str = "conference:left";
/// Server → conference room: activated or ended.
pub const CONFERENCE_STATUS_CHANGED: &str = "conference:status_changed";
/// Server → conference room: a question went live.
pub const QUESTION_LIVE: &str = "question:live";
/// Server → conference room: the live question closed.
pub const QUESTION_CLOSED: &str = "question:closed";
/// Server → conference room: countdown tick.
pub const QUESTION_TIMER_UPDATE: &str = "question:timer_update";
/// Server → sender: the vote was recorded.
pub const VOTE_ACCEPTED: &str = "vote:accepted";
/// Server → sender: the vote was refused.
pub const VOTE_REJECTED: &str = "vote:rejected";
/// Server → conference room: running counts (coalesced, D20).
pub const VOTE_RESULT: &str = "vote:result";
/// Server → conference room: the result once the question closed.
pub const VOTE_FINAL_RESULT: &str = "vote:final_result";
/// Server → host room: an audience member arrived.
pub const AUDIENCE_JOINED: &str = "audience:joined";
/// Server → host room: an audience member left.
pub const AUDIENCE_LEFT: &str = "audience:left";
/// Server → conference room: the audience count (coalesced and periodic, D11).
pub const AUDIENCE_COUNT: &str = "audience:count";
/// Server → sender: something the sender asked for failed.
pub const ERROR: &str = "error";

/// Socket.IO's own event for a refused namespace connection (D2).
pub const CONNECT_ERROR: &str = "connect_error";

/// Every client → server event of spec §1.1.
pub const CLIENT_EVENTS: [&str; 5] = [
    CONFERENCE_JOIN,
    CONFERENCE_LEAVE,
    QUESTION_PUSH_LIVE,
    QUESTION_CLOSE,
    VOTE_SUBMIT,
];

/// Every server → client event of spec §1.2.
pub const SERVER_EVENTS: [&str; 14] = [
    CONFERENCE_JOINED,
    CONFERENCE_LEFT,
    CONFERENCE_STATUS_CHANGED,
    QUESTION_LIVE,
    QUESTION_CLOSED,
    QUESTION_TIMER_UPDATE,
    VOTE_ACCEPTED,
    VOTE_REJECTED,
    VOTE_RESULT,
    VOTE_FINAL_RESULT,
    AUDIENCE_JOINED,
    AUDIENCE_LEFT,
    AUDIENCE_COUNT,
    ERROR,
];

/// The Socket.IO room every participant of a conference joins: `conference:{id}`.
///
/// ```
/// assert_eq!(lcr_protocol::event::conference_room("c1"), "conference:c1");
/// ```
pub fn conference_room(conference_id: &str) -> String {
    format!("conference:{conference_id}")
}

/// The Socket.IO room only the host joins: `host:{id}`.
///
/// ```
/// assert_eq!(lcr_protocol::event::host_room("c1"), "host:c1");
/// ```
pub fn host_room(conference_id: &str) -> String {
    format!("host:{conference_id}")
}
