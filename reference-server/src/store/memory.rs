//! The embedded default: spec §2's state in process, one mutex, same semantics as Redis.
//!
//! TTLs that matter to behaviour are honoured the way Redis would: the live question disappears
//! at `expiresAt` (votes after it are `question_closed`), the push lock after 5 s.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use lcr_protocol::{CloseReason, ConferenceStatus, Millis, RejectReason, Role, now_millis};

use super::keys::PUSH_LOCK_TTL_MS;
use super::{
    ConferenceRuntime, FinalRecord, LiveRun, PresenceChange, QuestionMeta, RuntimeStore,
    StoreResult, Tally, VoteOutcome,
};
use super::{Durability, Gate, Lease, LeaseGrant, TickClaim};

/// In-process store for a single node.
///
/// ```
/// # tokio_test_block(async {
/// use reference_server::store::{memory::MemoryStore, RuntimeStore};
/// use lcr_protocol::{ConferenceStatus, Role};
/// let store = MemoryStore::default();
/// store.put_conference("c1", "hana", ConferenceStatus::Active).await.unwrap();
/// let p = store.add_member("c1", "alex", Role::Audience).await.unwrap();
/// assert!(p.user_changed);
/// assert_eq!(store.audience_count("c1").await.unwrap(), 1);
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    conferences: HashMap<String, Conference>,
    questions: HashMap<String, Question>,
    user_conferences: HashMap<String, HashSet<String>>,
    pending: Vec<FinalRecord>,
    open_runs: HashMap<String, LiveRun>,
    gates: HashMap<String, std::time::Instant>,
}

#[derive(Default)]
struct Conference {
    host: String,
    status: Option<ConferenceStatus>,
    audience: HashSet<String>,
    sockets: HashMap<String, u32>,
    live: Option<LiveRun>,
    push_lock: Option<(String, Millis)>,
}

#[derive(Default)]
struct Question {
    meta: Option<QuestionMeta>,
    counts: Option<Tally>,
    voters: HashSet<String>,
    correct: u64,
    timer: Option<(Millis, Millis)>,
}

impl Conference {
    /// The live run, unless its TTL (expiresAt) has passed.
    fn live_at(&self, now: Millis) -> Option<&LiveRun> {
        self.live.as_ref().filter(|r| now < r.expires_at)
    }
}

impl State {
    fn conf(&mut self, c: &str) -> &mut Conference {
        self.conferences.entry(c.to_owned()).or_default()
    }
}

impl MemoryStore {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }
}

#[async_trait]
impl RuntimeStore for MemoryStore {
    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> StoreResult<()> {
        Ok(())
    }

    async fn put_conference(
        &self,
        c: &str,
        host: &str,
        status: ConferenceStatus,
    ) -> StoreResult<()> {
        self.with(|s| {
            let conf = s.conf(c);
            conf.host = host.to_owned();
            conf.status = status.is_runtime_status().then_some(status);
        });
        Ok(())
    }

    async fn conference(&self, c: &str) -> StoreResult<Option<ConferenceRuntime>> {
        Ok(self.with(|s| {
            s.conferences
                .get(c)
                .filter(|conf| !conf.host.is_empty())
                .map(|conf| ConferenceRuntime {
                    host_user_id: conf.host.clone(),
                    status: conf.status.unwrap_or(ConferenceStatus::Draft),
                })
        }))
    }

    async fn set_status(&self, c: &str, status: ConferenceStatus) -> StoreResult<()> {
        self.with(|s| s.conf(c).status = status.is_runtime_status().then_some(status));
        Ok(())
    }

    async fn clear_presence(&self, c: &str) -> StoreResult<()> {
        self.with(|s| {
            let conf = s.conf(c);
            let users: Vec<String> = conf.sockets.keys().cloned().collect();
            conf.audience.clear();
            conf.sockets.clear();
            for u in users {
                if let Some(set) = s.user_conferences.get_mut(&u) {
                    set.remove(c);
                    if set.is_empty() {
                        s.user_conferences.remove(&u);
                    }
                }
            }
        });
        Ok(())
    }

    async fn add_member(&self, c: &str, u: &str, role: Role) -> StoreResult<PresenceChange> {
        Ok(self.with(|s| {
            let conf = s.conf(c);
            let n = conf.sockets.entry(u.to_owned()).or_default();
            *n += 1;
            let first = *n == 1;
            if first && role == Role::Audience {
                conf.audience.insert(u.to_owned());
            }
            let audience_count = conf.audience.len() as u64;
            s.user_conferences
                .entry(u.to_owned())
                .or_default()
                .insert(c.to_owned());
            PresenceChange {
                user_changed: first,
                audience_count,
            }
        }))
    }

    async fn remove_member(&self, c: &str, u: &str, role: Role) -> StoreResult<PresenceChange> {
        Ok(self.with(|s| {
            let conf = s.conf(c);
            let last = match conf.sockets.get_mut(u) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    conf.sockets.remove(u);
                    true
                }
                None => false,
            };
            if last && role == Role::Audience {
                conf.audience.remove(u);
            }
            let audience_count = conf.audience.len() as u64;
            if last && let Some(set) = s.user_conferences.get_mut(u) {
                set.remove(c);
                if set.is_empty() {
                    s.user_conferences.remove(u);
                }
            }
            PresenceChange {
                user_changed: last,
                audience_count,
            }
        }))
    }

    async fn audience_count(&self, c: &str) -> StoreResult<u64> {
        Ok(self.with(|s| {
            s.conferences
                .get(c)
                .map_or(0, |conf| conf.audience.len() as u64)
        }))
    }

    async fn try_lock_push(&self, c: &str, now: Millis) -> StoreResult<Option<String>> {
        let token = super::keys::lock_token();
        Ok(self.with(|s| {
            let conf = s.conf(c);
            if conf
                .push_lock
                .as_ref()
                .is_some_and(|(_, until)| now < *until)
            {
                None
            } else {
                conf.push_lock = Some((token.clone(), now + PUSH_LOCK_TTL_MS));
                Some(token)
            }
        }))
    }

    async fn unlock_push(&self, c: &str, token: &str) -> StoreResult<()> {
        self.with(|s| {
            let conf = s.conf(c);
            if conf.push_lock.as_ref().is_some_and(|(t, _)| t == token) {
                conf.push_lock = None;
            }
        });
        Ok(())
    }

    async fn live_question(&self, c: &str) -> StoreResult<Option<LiveRun>> {
        let now = now_millis();
        Ok(self.with(|s| {
            s.conferences
                .get(c)
                .and_then(|conf| conf.live_at(now).cloned())
        }))
    }

    async fn timer_running(&self, run: &LiveRun) -> StoreResult<bool> {
        let now = now_millis();
        Ok(self.with(|s| {
            s.questions.get(&run.question_id).is_some_and(|q| {
                q.timer
                    .is_some_and(|(started, expires)| started == run.started_at && now < expires)
            })
        }))
    }

    async fn start_question(&self, run: &LiveRun, meta: &QuestionMeta) -> StoreResult<()> {
        self.with(|s| {
            s.conf(&run.conference_id).live = Some(run.clone());
            s.open_runs.insert(run.conference_id.clone(), run.clone());
            let q = s.questions.entry(run.question_id.clone()).or_default();
            q.meta = Some(meta.clone());
            q.counts = Some(Tally {
                total: 0,
                counts: meta.keys().into_iter().map(|k| (k, 0)).collect(),
            });
            q.voters.clear();
            q.correct = 0;
            q.timer = Some((run.started_at, run.expires_at));
        });
        Ok(())
    }

    async fn question_meta(&self, q: &str) -> StoreResult<Option<QuestionMeta>> {
        Ok(self.with(|s| s.questions.get(q).and_then(|q| q.meta.clone())))
    }

    async fn record_vote(
        &self,
        c: &str,
        q: &str,
        u: &str,
        option: &str,
        now: Millis,
    ) -> StoreResult<VoteOutcome> {
        Ok(self.with(|s| {
            let Some(conf) = s.conferences.get(c) else {
                return VoteOutcome::Rejected(RejectReason::NotAudience);
            };
            if conf.host == u || conf.status == Some(ConferenceStatus::Ended) {
                return VoteOutcome::Rejected(RejectReason::NotAudience);
            }
            if conf.live_at(now).is_none_or(|r| r.question_id != q) {
                return VoteOutcome::Rejected(RejectReason::QuestionClosed);
            }
            let Some(question) = s.questions.get_mut(q) else {
                return VoteOutcome::Rejected(RejectReason::QuestionClosed);
            };
            let Some(meta) = &question.meta else {
                return VoteOutcome::Rejected(RejectReason::QuestionClosed);
            };
            if !meta.options.iter().any(|o| o.key == option) {
                return VoteOutcome::Rejected(RejectReason::InvalidOption);
            }
            let is_correct = meta.correct_option == option;
            if !question.voters.insert(u.to_owned()) {
                return VoteOutcome::Rejected(RejectReason::Duplicate);
            }
            let counts = question.counts.get_or_insert_with(Tally::default);
            counts.total += 1;
            *counts.counts.entry(option.to_owned()).or_default() += 1;
            if is_correct {
                question.correct += 1;
            }
            VoteOutcome::Accepted { is_correct }
        }))
    }

    async fn tally(&self, q: &str, keys: &[String]) -> StoreResult<Tally> {
        Ok(self.with(|s| {
            let stored = s.questions.get(q).and_then(|q| q.counts.as_ref());
            Tally {
                total: stored.map_or(0, |t| t.total),
                counts: keys
                    .iter()
                    .map(|k| {
                        let n = stored.and_then(|t| t.counts.get(k)).copied().unwrap_or(0);
                        (k.clone(), n)
                    })
                    .collect(),
            }
        }))
    }

    async fn close_question(
        &self,
        run: &LiveRun,
        reason: CloseReason,
        closed_at: Millis,
    ) -> StoreResult<Option<FinalRecord>> {
        let now = now_millis();
        Ok(self.with(|s| {
            let field =
                super::keys::pending_field(&run.conference_id, &run.question_id, run.started_at);
            let is_run =
                |l: &LiveRun| l.question_id == run.question_id && l.started_at == run.started_at;
            if s.open_runs.get(&run.conference_id).is_some_and(is_run) {
                s.open_runs.remove(&run.conference_id);
            }
            let conf = s.conf(&run.conference_id);
            // Same decision as close.lua: a live key that is another run means "already closed";
            // no live key (closed, or expired by its TTL) needs the counts to be unfrozen still.
            match conf.live_at(now) {
                Some(l) if !is_run(l) => return None,
                Some(_) => {}
                None => {
                    let frozen = s.pending.iter().any(|p| p.pending_field() == field);
                    let counted = s
                        .questions
                        .get(&run.question_id)
                        .is_some_and(|q| q.counts.is_some());
                    if frozen || !counted {
                        return None;
                    }
                }
            }
            let conf = s.conf(&run.conference_id);
            if conf.live.as_ref().is_some_and(is_run) {
                conf.live = None;
            }
            let question = s.questions.get_mut(&run.question_id)?;
            let meta = question.meta.clone()?;
            let counts = question.counts.clone()?;
            question.timer = None;
            let tally = Tally {
                total: counts.total,
                counts: meta
                    .keys()
                    .into_iter()
                    .map(|k| {
                        let n = counts.counts.get(&k).copied().unwrap_or(0);
                        (k, n)
                    })
                    .collect(),
            };
            let record = FinalRecord::new(
                run,
                &meta.correct_option,
                tally,
                question.correct,
                reason,
                closed_at,
            );
            s.pending.push(record.clone());
            Some(record)
        }))
    }

    async fn open_runs(&self) -> StoreResult<Vec<LiveRun>> {
        Ok(self.with(|s| s.open_runs.values().cloned().collect()))
    }

    async fn timer_lease(
        &self,
        _: &LiveRun,
        _: &str,
        _: Duration,
        _: Lease,
    ) -> StoreResult<LeaseGrant> {
        Ok(LeaseGrant::Granted) // one node: it always holds every countdown
    }

    async fn claim_tick(
        &self,
        run: &LiveRun,
        _: &str,
        _: u32,
        _: Duration,
    ) -> StoreResult<TickClaim> {
        // One node: the countdown is always this node's, and its ticker never goes back.
        Ok(if self.timer_running(run).await? {
            TickClaim::Claimed
        } else {
            TickClaim::Closed
        })
    }

    async fn durability(&self) -> Durability {
        Durability {
            mode: "memory".into(),
            keeps: "in-process store: the state lives and dies with this process".into(),
        }
    }

    async fn release_timer_lease(&self, _: &LiveRun, _: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn hand_over_timer(&self, _: &LiveRun, _: &str, _: u32, _: Duration) -> StoreResult<()> {
        Ok(()) // no other node to take it: the store goes with this process
    }

    async fn pass_gate(&self, key: &str, ttl: Duration) -> StoreResult<Gate> {
        let now = std::time::Instant::now();
        Ok(self.with(|s| {
            s.gates.retain(|_, until| *until > now);
            match s.gates.get(key) {
                Some(until) => Gate::Shut(*until - now),
                None => {
                    s.gates.insert(key.to_owned(), now + ttl);
                    Gate::Passed
                }
            }
        }))
    }

    async fn pending_results(&self) -> StoreResult<Vec<FinalRecord>> {
        Ok(self.with(|s| s.pending.clone()))
    }

    async fn result_persisted(&self, record: &FinalRecord) -> StoreResult<()> {
        self.with(|s| {
            let field = record.pending_field();
            s.pending.retain(|p| p.pending_field() != field);
            // As persisted.lua: keep the vote keys while a newer run of the question is open
            // (its timer is set from push until close, like meta status LIVE).
            if let Some(q) = s
                .questions
                .get_mut(&record.question_id)
                .filter(|q| q.timer.is_none())
            {
                q.counts = None;
                q.voters.clear();
                q.correct = 0;
            }
        });
        Ok(())
    }
}
