//! The runtime state of spec §2 behind one trait, with two adapters.
//!
//! - [`redis::RedisStore`]: the spec's key design, exactly, with Lua scripts for every step that
//!   must be atomic (join/leave presence, vote, close). Several nodes share it.
//! - [`memory::MemoryStore`]: the same semantics in process, the embedded default (one node).
//!
//! Every operation is one atomic step of a flow, so the flows in [`crate::flows`] never do
//! check-then-set across calls.

pub mod keys;
pub mod memory;
pub mod redis;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use lcr_protocol::server::{QuestionLive, QuestionOption, VoteFinalResult};
use lcr_protocol::{CloseReason, ConferenceStatus, Millis, RejectReason, Role};
use serde::{Deserialize, Serialize};

/// A store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis answered with an error or could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// A stored value did not have the shape the store wrote.
    #[error("corrupt value at {key}: {reason}")]
    Corrupt {
        /// The key read.
        key: String,
        /// What was wrong.
        reason: String,
    },
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A conference as the runtime sees it: `conference:{id}:host` and `conference:{id}:status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceRuntime {
    /// The host's user id.
    pub host_user_id: String,
    /// DRAFT when no status key is set.
    pub status: ConferenceStatus,
}

impl ConferenceRuntime {
    /// The role `user_id` has in this conference (D3).
    pub fn role_of(&self, user_id: &str) -> Role {
        if self.host_user_id == user_id {
            Role::Host
        } else {
            Role::Audience
        }
    }
}

/// Presence after a join or leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresenceChange {
    /// True when this was the user's first socket in (or last socket out of) the conference.
    pub user_changed: bool,
    /// Audience users present after the change (D9).
    pub audience_count: u64,
}

/// Question metadata, cached in `question:{id}:meta` (spec §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionMeta {
    /// Owning conference.
    pub conference_id: String,
    /// The question.
    pub question_id: String,
    /// Its text.
    pub question_text: String,
    /// Its options.
    pub options: Vec<QuestionOption>,
    /// The correct key (never sent before close, D22).
    pub correct_option: String,
}

impl QuestionMeta {
    /// Option keys in question order.
    pub fn keys(&self) -> Vec<String> {
        self.options.iter().map(|o| o.key.clone()).collect()
    }
}

/// One run of a live question: `conference:{id}:live_question` and `question:{id}:timer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRun {
    /// The conference.
    pub conference_id: String,
    /// The question.
    pub question_id: String,
    /// When it went live (ms).
    pub started_at: Millis,
    /// When it closes (ms).
    pub expires_at: Millis,
    /// Seconds.
    pub duration: u32,
}

impl LiveRun {
    /// The `question:live` payload for this run.
    pub fn live_payload(&self, meta: &QuestionMeta) -> QuestionLive {
        QuestionLive {
            conference_id: self.conference_id.clone(),
            question_id: self.question_id.clone(),
            question_text: meta.question_text.clone(),
            options: meta.options.clone(),
            duration: self.duration,
            started_at: self.started_at,
            expires_at: self.expires_at,
        }
    }
}

/// What [`RuntimeStore::record_vote`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteOutcome {
    /// Counted.
    Accepted {
        /// The option is the correct one.
        is_correct: bool,
    },
    /// Not counted.
    Rejected(RejectReason),
    /// The conference's runtime state is gone while a node still runs its live question: the
    /// store lost data (a Redis restart without persistence). Not a close (D26): the voter
    /// is told to try again while the node restores the run.
    StateLost,
}

/// Running counts of one question (`question:{id}:votes:counts`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tally {
    /// Sum of the counts.
    pub total: u64,
    /// Every option key, zeros included.
    pub counts: BTreeMap<String, u64>,
}

/// The final result of one run, as persisted (D23: collection `conferencequestionanalytics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalRecord {
    /// The conference.
    pub conference_id: String,
    /// The question.
    pub question_id: String,
    /// Accepted votes.
    pub total_responses: u64,
    /// Per option.
    pub option_counts: BTreeMap<String, u64>,
    /// The correct key.
    pub correct_option: String,
    /// Votes for it.
    pub correct_count: u64,
    /// Per option, two decimals.
    pub percentage_breakdown: BTreeMap<String, f64>,
    /// manual or timeout.
    pub reason: CloseReason,
    /// Run start (ms).
    pub started_at: Millis,
    /// Close (ms).
    pub closed_at: Millis,
    /// When this record was made (ms).
    pub last_updated: Millis,
}

impl FinalRecord {
    /// Builds the record from the counts frozen at close.
    pub fn new(
        run: &LiveRun,
        meta_correct: &str,
        tally: Tally,
        correct_count: u64,
        reason: CloseReason,
        closed_at: Millis,
    ) -> Self {
        let percentage_breakdown = lcr_protocol::server::percentages(&tally.counts, tally.total);
        FinalRecord {
            conference_id: run.conference_id.clone(),
            question_id: run.question_id.clone(),
            total_responses: tally.total,
            option_counts: tally.counts,
            correct_option: meta_correct.to_owned(),
            correct_count,
            percentage_breakdown,
            reason,
            started_at: run.started_at,
            closed_at,
            last_updated: closed_at,
        }
    }

    /// The `vote:final_result` payload.
    pub fn payload(&self) -> VoteFinalResult {
        VoteFinalResult {
            conference_id: self.conference_id.clone(),
            question_id: self.question_id.clone(),
            total_votes: self.total_responses,
            option_counts: self.option_counts.clone(),
            correct_option: self.correct_option.clone(),
            correct_count: self.correct_count,
            percentage_breakdown: self.percentage_breakdown.clone(),
            closed_at: self.closed_at,
        }
    }

    /// The field naming this run among pending results.
    pub fn pending_field(&self) -> String {
        keys::pending_field(&self.conference_id, &self.question_id, self.started_at)
    }
}

/// How [`RuntimeStore::timer_lease`] asks for the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// Take it if free, renew it if this node holds it (the node running the countdown).
    Hold,
    /// Take it only if no node holds it (a node looking for orphaned countdowns).
    Take,
}

/// What [`RuntimeStore::timer_lease`] answered.
///
/// ```
/// use reference_server::store::LeaseGrant;
/// assert!(LeaseGrant::HandedOver { next_tick: 7 }.granted());
/// assert!(LeaseGrant::Granted.granted());
/// assert!(!LeaseGrant::Refused.granted());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseGrant {
    /// Another node holds the lease.
    Refused,
    /// This node holds it now: taken (free, or its holder died) or renewed.
    Granted,
    /// Taken from a node that stopped gracefully and handed the countdown over
    /// ([`RuntimeStore::hand_over_timer`]): the countdown goes on from `next_tick`.
    HandedOver {
        /// The first tick (k of D16) the handing node did not send.
        next_tick: u32,
    },
}

impl LeaseGrant {
    /// Whether this node holds the lease now.
    pub fn granted(self) -> bool {
        self != LeaseGrant::Refused
    }
}

/// What a store keeps when its server restarts (docs/reference-server.md#redis-durability).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    /// A short name for `/metrics`: `memory`, `none`, `rdb`, `aof-everysec`, `aof-always`,
    /// `aof-no`, `unknown`.
    pub mode: String,
    /// What that keeps and loses, for a person.
    pub keeps: String,
}

/// What [`RuntimeStore::claim_tick`] answered: whether this node may send tick `k` of a run.
///
/// The claim is the one authority over ticks (D16: each once, none skipped): a tick goes out
/// only after its claim, the store keeps the next tick with the run, so a node that takes a
/// countdown over, after a death, a hand-over or a store stall, goes on from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickClaim {
    /// This node holds the countdown (lease taken or renewed) and tick `k` is its to send.
    Claimed,
    /// Tick `k` was sent already; the countdown goes on from `next_tick`.
    Sent {
        /// The first tick not sent yet.
        next_tick: u32,
    },
    /// Another node holds the countdown.
    Held,
    /// The run is no longer open: closed (here or elsewhere).
    Closed,
    /// The run and its conference are gone from the store while this node runs it: the store
    /// lost data ([`VoteOutcome::StateLost`]).
    StateLost,
}

/// What [`RuntimeStore::pass_gate`] answered.
///
/// ```
/// use std::time::Duration;
/// use reference_server::store::Gate;
/// let shut = Gate::Shut(Duration::from_millis(1200));
/// assert!(!shut.passed());
/// assert_eq!(shut.opens_in(), Duration::from_millis(1200));
/// assert!(Gate::Passed.passed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// This caller is the first of the window.
    Passed,
    /// Another caller passed; the gate opens again after this long.
    Shut(Duration),
}

impl Gate {
    /// Whether this caller passed.
    pub fn passed(self) -> bool {
        self == Gate::Passed
    }

    /// How long until the gate opens (zero once passed).
    pub fn opens_in(self) -> Duration {
        match self {
            Gate::Passed => Duration::ZERO,
            Gate::Shut(left) => left,
        }
    }
}

/// The runtime state of spec §2. Every method is one atomic step.
#[async_trait]
pub trait RuntimeStore: Send + Sync + 'static {
    /// `"redis"` or `"memory"`.
    fn kind(&self) -> &'static str;
    /// Whether other nodes share this store (so state changes can come from elsewhere).
    fn shared(&self) -> bool {
        false
    }
    /// Whether the store answers (`/ready`).
    async fn ping(&self) -> StoreResult<()>;

    /// Creates or replaces a conference: host key, status key (absent for DRAFT).
    async fn put_conference(
        &self,
        conference_id: &str,
        host_user_id: &str,
        status: ConferenceStatus,
    ) -> StoreResult<()>;
    /// Host and status, or `None` when the conference is unknown to the runtime.
    async fn conference(&self, conference_id: &str) -> StoreResult<Option<ConferenceRuntime>>;
    /// Sets ACTIVE or ENDED.
    async fn set_status(&self, conference_id: &str, status: ConferenceStatus) -> StoreResult<()>;
    /// Clears presence when the conference ends (spec §2.5: DEL on conference end).
    async fn clear_presence(&self, conference_id: &str) -> StoreResult<()>;

    /// One more socket of `user_id` in the conference (spec §7.1 step 4, D9).
    async fn add_member(
        &self,
        conference_id: &str,
        user_id: &str,
        role: Role,
    ) -> StoreResult<PresenceChange>;
    /// One socket of `user_id` fewer (spec §7.2 step 3, §7.3, D9).
    async fn remove_member(
        &self,
        conference_id: &str,
        user_id: &str,
        role: Role,
    ) -> StoreResult<PresenceChange>;
    /// Audience count, through the 10 s cache (spec §7.4).
    async fn audience_count(&self, conference_id: &str) -> StoreResult<u64>;

    /// `SET NX` the push lock (spec §3.4 step 5). Returns the holder's token (a timestamp, as
    /// the spec's value), or `None` when another operation holds it.
    async fn try_lock_push(&self, conference_id: &str, now: Millis) -> StoreResult<Option<String>>;
    /// Releases the push lock if `token` still holds it (a lock that expired and was taken by
    /// another operation is left alone).
    async fn unlock_push(&self, conference_id: &str, token: &str) -> StoreResult<()>;
    /// The live run, if a question is live.
    async fn live_question(&self, conference_id: &str) -> StoreResult<Option<LiveRun>>;
    /// Whether `question:{id}:timer` still belongs to this run (false once closed anywhere).
    async fn timer_running(&self, run: &LiveRun) -> StoreResult<bool>;
    /// Spec §4.1 step 5–6: meta, live question, timer, zeroed counts, all at once.
    async fn start_question(&self, run: &LiveRun, meta: &QuestionMeta) -> StoreResult<()>;
    /// Cached question metadata.
    async fn question_meta(&self, question_id: &str) -> StoreResult<Option<QuestionMeta>>;

    /// Spec §5.1 steps 1–6 in D18's order, atomically: host, live, option, duplicate, count.
    async fn record_vote(
        &self,
        conference_id: &str,
        question_id: &str,
        user_id: &str,
        option_key: &str,
        now: Millis,
    ) -> StoreResult<VoteOutcome>;
    /// Current counts of every option.
    async fn tally(&self, question_id: &str, keys: &[String]) -> StoreResult<Tally>;

    /// Spec §4.3 atomically: if `run` is still live (or expired but never closed), ends it,
    /// freezes its counts into a pending result and returns it; `None` if already closed.
    async fn close_question(
        &self,
        run: &LiveRun,
        reason: CloseReason,
        closed_at: Millis,
    ) -> StoreResult<Option<FinalRecord>>;
    /// Runs pushed live and not closed yet, whichever node pushed them (D25).
    async fn open_runs(&self) -> StoreResult<Vec<LiveRun>>;
    /// The countdown lease of `run` for `node_id` for `ttl` (D16, D25): granted when this call
    /// took it ([`Lease::Take`]: only if no node holds it) or took or renewed it
    /// ([`Lease::Hold`]).
    async fn timer_lease(
        &self,
        run: &LiveRun,
        node_id: &str,
        ttl: Duration,
        mode: Lease,
    ) -> StoreResult<LeaseGrant>;
    /// Claims tick `k` of `run`'s countdown for `node_id`, taking or renewing its lease for
    /// `ttl` ([`TickClaim`]). One atomic step: two nodes never both claim a tick.
    async fn claim_tick(
        &self,
        run: &LiveRun,
        node_id: &str,
        k: u32,
        ttl: Duration,
    ) -> StoreResult<TickClaim>;
    /// What the store keeps across a restart of its server, said at start-up and in
    /// `/metrics` (docs/reference-server.md#redis-durability).
    async fn durability(&self) -> Durability;
    /// Gives the lease up, if `node_id` holds it, so another node takes over at once.
    async fn release_timer_lease(&self, run: &LiveRun, node_id: &str) -> StoreResult<()>;
    /// Gives the lease up on a graceful stop, if `node_id` holds it, for one `ttl`: the node that
    /// takes it next is told `next_tick`, the first tick this one did not send (D16: each tick
    /// once), as [`LeaseGrant::HandedOver`].
    async fn hand_over_timer(
        &self,
        run: &LiveRun,
        node_id: &str,
        next_tick: u32,
        ttl: Duration,
    ) -> StoreResult<()>;
    /// A cluster-wide gate: [`Gate::Passed`] for the first caller of `key` in each `ttl`
    /// window; every other caller on any node learns how long it stays shut.
    async fn pass_gate(&self, key: &str, ttl: Duration) -> StoreResult<Gate>;

    /// Final results not yet confirmed written (D23), oldest first.
    async fn pending_results(&self) -> StoreResult<Vec<FinalRecord>>;
    /// The write of `record` is confirmed: drop it from pending and delete the run's vote keys
    /// (spec §4.3 step 6, §6.2), unless the same question is live again.
    async fn result_persisted(&self, record: &FinalRecord) -> StoreResult<()>;
}
