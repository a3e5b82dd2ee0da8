//! Redis key names of spec §2 and §8, built only from identifiers already checked by D4.
//!
//! Two keys are this implementation's own, both needed by the decisions and both documented in
//! the README: `conference:{id}:audience:sockets` (a hash user → joined sockets, for D9's "a user
//! with several sockets counts once") and `results:pending` (a hash run → final result, for
//! D23's "never lost").

use lcr_protocol::Millis;

/// `conference:{id}:status` (String, no TTL).
pub fn status(c: &str) -> String {
    format!("conference:{c}:status")
}
/// `conference:{id}:host` (String, no TTL).
pub fn host(c: &str) -> String {
    format!("conference:{c}:host")
}
/// `conference:{id}:live_question` (Hash, TTL = duration).
pub fn live_question(c: &str) -> String {
    format!("conference:{c}:live_question")
}
/// `conference:{id}:audience` (Set of AUDIENCE user ids, no TTL).
pub fn audience(c: &str) -> String {
    format!("conference:{c}:audience")
}
/// `conference:{id}:audience:count` (String, TTL 10 s).
pub fn audience_count(c: &str) -> String {
    format!("conference:{c}:audience:count")
}
/// `conference:{id}:audience:sockets` (Hash user → sockets joined; this implementation's, D9).
pub fn audience_sockets(c: &str) -> String {
    format!("conference:{c}:audience:sockets")
}
/// `conference:{id}:lock:push_question` (String, NX, TTL 5 s).
pub fn push_lock(c: &str) -> String {
    format!("conference:{c}:lock:push_question")
}
/// `user:{id}:conferences` (Set, no TTL).
pub fn user_conferences(u: &str) -> String {
    format!("user:{u}:conferences")
}
/// `question:{id}:meta` (Hash, TTL 1 h).
pub fn meta(q: &str) -> String {
    format!("question:{q}:meta")
}
/// `question:{id}:votes:counts` (Hash, TTL 1 h after close).
pub fn counts(q: &str) -> String {
    format!("question:{q}:votes:counts")
}
/// `question:{id}:votes:users` (Set, TTL 1 h after close).
pub fn voters(q: &str) -> String {
    format!("question:{q}:votes:users")
}
/// `question:{id}:votes:correct` (String counter, TTL 1 h after close).
pub fn correct(q: &str) -> String {
    format!("question:{q}:votes:correct")
}
/// `question:{id}:timer` (Hash, TTL = duration).
pub fn timer(q: &str) -> String {
    format!("question:{q}:timer")
}
/// `question:{id}:lock:vote:{userId}` (String, NX, TTL 2 s).
pub fn vote_lock(q: &str, u: &str) -> String {
    format!("question:{q}:lock:vote:{u}")
}
/// `results:pending` (Hash run → final result JSON; this implementation's, D23).
pub const PENDING_RESULTS: &str = "results:pending";

/// Open runs by conference (extension, D25): `conferenceId → questionId|startedAt|expiresAt|duration`,
/// set by push and removed by close, so any node can find a run whose timer node died.
pub const OPEN_RUNS: &str = "runs:open";

/// The node running a question's countdown (extension, D16/D25): `nodeId|startedAt`, with a
/// short TTL renewed while the countdown runs; `handover|nextTick|startedAt` for one TTL after
/// its node stopped gracefully, until another node takes it.
pub fn timer_lease(q: &str) -> String {
    format!("question:{q}:timer:lease")
}

/// Cluster-wide coalescing of `audience:count` broadcasts (extension, D11/D25): `which` is
/// `change` or `periodic`; whoever sets it (NX, with the interval as TTL) broadcasts.
pub fn count_gate(c: &str, which: &str) -> String {
    format!("conference:{c}:count_gate:{which}")
}

/// The field of one run in [`PENDING_RESULTS`].
pub fn pending_field(c: &str, q: &str, started_at: Millis) -> String {
    format!("{c}:{q}:{started_at}")
}

/// TTL of `question:{id}:meta` and of the vote keys after the question closes (spec: 1 hour).
pub const QUESTION_KEYS_TTL_MS: i64 = 3_600_000;
/// TTL of the push lock (spec: 5 s).
pub const PUSH_LOCK_TTL_MS: i64 = 5_000;
/// TTL of a vote lock (spec: 2 s).
pub const VOTE_LOCK_TTL_MS: i64 = 2_000;
/// TTL of the audience count cache (spec: 10 s).
pub const AUDIENCE_COUNT_TTL_SECS: i64 = 10;

/// A fresh push-lock value: the time in nanoseconds since the epoch (the spec's value is a
/// timestamp), unique enough to tell one holder from the next.
pub fn lock_token() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
        .to_string()
}
