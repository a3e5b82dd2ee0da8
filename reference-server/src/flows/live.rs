//! Spec §4.2 (timer) and §6.1 (real-time results): one task per live question.
//!
//! The task owns everything the room hears about the run until it closes:
//! - `question:timer_update` at `startedAt + k·1000 ms` for k = 1 … duration−1 with
//!   `timeRemaining = duration − k` (D16), sent by a ticker task of its own so that nothing else
//!   holds a tick back; a tick first checks `question:{id}:timer` still belongs to the run, so a
//!   close made elsewhere stops the countdown. A starved ticker skips a tick whose successor is
//!   already due; the timeout close waits up to half a second past `expiresAt` for the last
//!   one, so ticks precede `question:closed`;
//! - the timeout close at `expiresAt` (D16), retried with backoff until the store answers, and
//!   also attempted when a tick finds the timer key gone early (evicted, or a close elsewhere:
//!   the close is idempotent, so a run is never left without its final result);
//! - `vote:result`, coalesced to one per interval with the trailing edge guaranteed (D20): the
//!   first vote after a quiet interval is broadcast at once, later ones at the interval's end;
//! - a manual close requested by [`super::close::close_live`].
//!
//! With several nodes (D16, D25) exactly one of them runs a run's task: the task holds a lease
//! in the store (`question:{id}:timer:lease`, renewed three times per lease TTL) and stops,
//! without closing, if another node holds it. [`watch_open_runs`] runs on every node and
//! starts the task of any open run whose lease is free, so when a node dies another one takes
//! over within one lease TTL and closes the run by `expiresAt + 2 s`. Votes counted on other
//! nodes reach `vote:result` because the task reads the counts every result interval.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lcr_protocol::event::{self, conference_room};
use lcr_protocol::server::{QuestionTimerUpdate, VoteResult};
use lcr_protocol::{CloseReason, Millis, now_millis};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout};

use super::close::close_run;
#[cfg(test)]
use crate::config::Settings;
use crate::node::Node;
use crate::store::{FinalRecord, Lease, LeaseGrant, LiveRun, QuestionMeta, StoreError, Tally};

type CloseAnswer = Result<Option<FinalRecord>, StoreError>;

struct CloseRequest {
    reason: CloseReason,
    reply: oneshot::Sender<CloseAnswer>,
}

struct Runner {
    run: LiveRun,
    /// The next tick (k of D16) the ticker will send, for a hand-over on a graceful stop.
    next_tick: Arc<AtomicU32>,
    votes: Arc<Notify>,
    close: mpsc::Sender<CloseRequest>,
    task: tokio::task::AbortHandle,
}

/// The live questions whose task runs on this node, by conference.
#[derive(Default)]
pub struct LiveRegistry {
    runners: Mutex<HashMap<String, Runner>>,
    /// Set (under the `runners` lock) once the node stops: no countdown starts here any more.
    stopping: AtomicBool,
}

/// `Runner::next_tick` once the node stops: the ticker sends nothing more.
const STOPPED: u32 = u32::MAX;

impl LiveRegistry {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Runner>> {
        self.runners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the task of a run that was just pushed live, or taken over from a dead node.
    pub(crate) fn start(&self, node: &Node, run: LiveRun, meta: QuestionMeta, origin: Origin) {
        let node = node.self_arc();
        let first = first_tick(&run, origin, now_millis());
        let votes = Arc::new(Notify::new());
        let next_tick = Arc::new(AtomicU32::new(first));
        let (tx, rx) = mpsc::channel(4);
        // Spawned and registered under one lock (D20: no counted vote without its
        // `vote:result`). A vote counted meanwhile either finds the runner and notifies it, or
        // asked before the lock was taken; then it was counted before the task's first read of
        // the counts, which publishes it. Votes can come before the runner: the push registers
        // it after `question:live` has gone out, and a voter may answer that first.
        let mut map = self.map();
        if self.stopping() {
            // A push or a takeover that raced the node's stop: the countdown goes to another node.
            drop(map);
            tracing::info!(question = %run.question_id, "stopping: handing the countdown over");
            tokio::spawn(async move { node.hand_over(&run, first).await });
            return;
        }
        // On the clock thread, with the ticker and the lease renewals it spawns: ticks keep time
        // however busy this node's sockets are.
        let task = node.clock.spawn(drive(
            node.clone(),
            run.clone(),
            meta,
            next_tick.clone(),
            votes.clone(),
            rx,
        ));
        // A previous runner of the conference is never aborted: it has closed its run (push and
        // end close the open run first) or, if not, still closes it by itself at its expiry.
        map.insert(
            run.conference_id.clone(),
            Runner {
                run,
                next_tick,
                votes,
                close: tx,
                task: task.abort_handle(),
            },
        );
    }

    /// The run this node is timing for the conference, if any (open until its task ends).
    pub(crate) fn current(&self, conference_id: &str) -> Option<LiveRun> {
        self.map().get(conference_id).map(|r| r.run.clone())
    }

    /// A vote was counted: the run's task will broadcast `vote:result`.
    pub(crate) fn vote_counted(&self, conference_id: &str) {
        if let Some(r) = self.map().get(conference_id) {
            r.votes.notify_one();
        }
    }

    /// Asks the run's task to close it; `None` when no task of this node runs that run.
    pub(crate) async fn request_close(
        &self,
        run: &LiveRun,
        reason: CloseReason,
    ) -> Option<CloseAnswer> {
        let sender = {
            let map = self.map();
            let r = map.get(&run.conference_id)?;
            (r.run.question_id == run.question_id && r.run.started_at == run.started_at)
                .then(|| r.close.clone())?
        };
        let (reply, answer) = oneshot::channel();
        sender.send(CloseRequest { reason, reply }).await.ok()?;
        answer.await.ok()
    }

    fn finished(&self, run: &LiveRun) {
        let mut map = self.map();
        if map
            .get(&run.conference_id)
            .is_some_and(|r| r.run.started_at == run.started_at)
        {
            map.remove(&run.conference_id);
        }
    }

    /// The node stops: stops every task without closing its run, and any later
    /// [`LiveRegistry::start`] hands its run over at once. Returns the runs with the next tick
    /// each would have sent, which the caller hands over so another node goes on at once. The
    /// tick is taken from the ticker before the abort reaches it (the clock thread may run the
    /// ticker first): a ticker that has not claimed its tick yet sends nothing more.
    pub(crate) fn abort_all(&self) -> Vec<(LiveRun, u32)> {
        let mut map = self.map();
        self.stopping.store(true, Ordering::SeqCst);
        map.drain()
            .map(|(_, r)| {
                let next = r.next_tick.swap(STOPPED, Ordering::SeqCst);
                r.task.abort();
                (r.run, next)
            })
            .collect()
    }

    /// Whether the node is stopping (see [`LiveRegistry::abort_all`]).
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn runs_here(&self, run: &LiveRun) -> bool {
        self.map().get(&run.conference_id).is_some_and(|r| {
            r.run.question_id == run.question_id && r.run.started_at == run.started_at
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

/// The longest the countdown task waits for a store check (timer key, lease, counts) before it
/// goes on without the answer: under overload a slow Redis delays results, never ticks.
const STORE_BUDGET: Duration = Duration::from_millis(300);

/// The tokio instant at which the wall clock reads `at`.
fn instant_at(at: Millis) -> Instant {
    let delta = at - now_millis();
    let now = Instant::now();
    if delta >= 0 {
        now + Duration::from_millis(delta as u64)
    } else {
        now.checked_sub(Duration::from_millis(delta.unsigned_abs()))
            .unwrap_or(now)
    }
}

/// Leading-and-trailing-edge coalescing: at most one emission per `interval`.
///
/// ```
/// use std::time::Duration;
/// use tokio::time::Instant;
/// use reference_server::flows::live::Coalescer;
/// let mut c = Coalescer::new(Duration::from_millis(100));
/// let t0 = Instant::now();
/// assert!(c.changed(t0));                          // leading edge: emit now
/// assert!(!c.changed(t0 + Duration::from_millis(10)));  // inside the interval: wait
/// assert_eq!(c.due(), Some(t0 + Duration::from_millis(100)));  // trailing edge scheduled
/// c.emitted(t0 + Duration::from_millis(100));
/// assert_eq!(c.due(), None);
/// ```
#[derive(Debug)]
pub struct Coalescer {
    interval: Duration,
    last: Option<Instant>,
    pending: bool,
}

impl Coalescer {
    /// A coalescer that lets one emission through per `interval`.
    pub fn new(interval: Duration) -> Self {
        Coalescer {
            interval,
            last: None,
            pending: false,
        }
    }

    /// Something changed at `now`: true means emit now (and it is recorded as emitted).
    pub fn changed(&mut self, now: Instant) -> bool {
        if self.last.is_none_or(|l| now >= l + self.interval) {
            self.last = Some(now);
            self.pending = false;
            true
        } else {
            self.pending = true;
            false
        }
    }

    /// When the trailing emission is due, if one is pending.
    pub fn due(&self) -> Option<Instant> {
        self.pending
            .then(|| self.last.map(|l| l + self.interval))
            .flatten()
    }

    /// The trailing emission happened at `now`.
    pub fn emitted(&mut self, now: Instant) {
        self.last = Some(now);
        self.pending = false;
    }
}

/// A task aborted when this handle is dropped, so a countdown that ends, or is itself aborted,
/// never leaves its ticker or its lease renewals running.
struct Owned<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a run's countdown starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Just pushed live here: every tick from k = 1.
    Pushed,
    /// Taken over from a node that died: from the latest tick already due.
    TakenOver,
    /// Handed over by a node that stopped gracefully: from the tick it did not send.
    HandedOver {
        /// That tick.
        next_tick: u32,
    },
}

/// How a ticker ended.
enum Ticks {
    /// Every tick up to k = duration − 1 went out.
    AllSent,
    /// `question:{id}:timer` no longer belongs to the run: it was closed elsewhere or vanished.
    TimerGone,
    /// The node stops; the countdown was handed over from the tick not sent.
    Stopped,
}

/// Sends `question:timer_update` for k = `first` … duration−1, in order and at most once each
/// (D16), at `startedAt + k·1000 ms`. It is a task of its own so nothing else the countdown
/// waits for (counts, results, lease checks) holds a tick back. A ticker starved of CPU skips a
/// tick whose successor is already due: a countdown value a second stale is wrong, and sending
/// it would only add to the overload. The generator reports such skips as missed timer updates.
///
/// `next` holds the tick it will send next. A tick is claimed (`next` moved on) before it goes
/// out, so a node stopped in the middle of a broadcast hands over the tick after it, and a
/// ticker that finds `next` taken by the stop ([`LiveRegistry::abort_all`]) sends nothing: a
/// tick is missed rather than sent twice.
async fn tick(node: Arc<Node>, run: LiveRun, next: Arc<AtomicU32>) -> Ticks {
    let room = conference_room(&run.conference_id);
    let due = |k: u32| run.started_at + i64::from(k) * 1000;
    let mut k = next.load(Ordering::SeqCst).max(1);
    while k < run.duration {
        sleep_until(instant_at(due(k))).await;
        while k + 1 < run.duration && now_millis() >= due(k + 1) {
            k += 1;
        }
        // A slow store must not hold the countdown back: past the budget, tick on.
        match timeout(STORE_BUDGET, node.store.timer_running(&run))
            .await
            .unwrap_or(Ok(true))
        {
            Ok(false) => return Ticks::TimerGone,
            Ok(true) => {}
            Err(e) => tracing::warn!(error = %e, "timer check failed; ticking on"),
        }
        if next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n != STOPPED).then_some(k + 1)
            })
            .is_err()
        {
            return Ticks::Stopped;
        }
        node.broadcast(
            room.clone(),
            event::QUESTION_TIMER_UPDATE,
            &QuestionTimerUpdate {
                conference_id: run.conference_id.clone(),
                question_id: run.question_id.clone(),
                time_remaining: run.duration - k,
                expires_at: run.expires_at,
                timestamp: Some(now_millis()),
            },
        )
        .await;
        k += 1;
    }
    Ticks::AllSent
}

/// The first tick a countdown sends: 1 for a fresh run; after a hand-over the one the stopping
/// node did not send; after a takeover the latest tick already due, at once. That one came due
/// after the other node stopped: a node dies at least two thirds of a lease TTL (≥ 1 s with the
/// default 1.5 s) before its lease lapses, and the ticks before it are stale (see [`tick`]).
fn first_tick(run: &LiveRun, origin: Origin, now: Millis) -> u32 {
    match origin {
        Origin::Pushed => 1,
        Origin::HandedOver { next_tick } => next_tick.max(1),
        Origin::TakenOver => {
            let elapsed = (now - run.started_at).max(0) / 1000;
            u32::try_from(elapsed).unwrap_or(u32::MAX).max(1)
        }
    }
}

/// How long past `expiresAt` the close waits for a late ticker's last tick, so that it precedes
/// `question:closed` and the close still comes within D16's second.
const LAST_TICK_GRACE: Duration = Duration::from_millis(500);

async fn drive(
    node: Arc<Node>,
    run: LiveRun,
    meta: QuestionMeta,
    next_tick: Arc<AtomicU32>,
    votes: Arc<Notify>,
    mut close_requests: mpsc::Receiver<CloseRequest>,
) {
    let room = conference_room(&run.conference_id);
    let keys = meta.keys();
    let expiry = instant_at(run.expires_at);
    let mut results = Coalescer::new(node.settings.result_interval);
    let far = Instant::now() + Duration::from_secs(86_400 * 365);
    let node_id = node.settings.node_id.as_str();
    let lease_ttl = node.settings.timer_lease;
    // The lease is renewed by a task of its own, so a slow store delays neither the ticks nor
    // the renewals; the countdown only reads what the renewals found.
    let lease = Arc::new(LeaseState::new());
    let renewer = Owned(tokio::spawn(renew_lease(
        node.clone(),
        run.clone(),
        lease.clone(),
    )));
    let mut ticker = Owned(tokio::spawn(tick(node.clone(), run.clone(), next_tick)));
    let mut ticking = true;
    let mut check_at = Instant::now() + lease_ttl / 3;
    // Votes counted on other nodes are seen by reading the counts every result interval.
    let shared = node.store.shared();
    let mut poll_at = Instant::now() + node.settings.result_interval;
    let mut published_total: u64 = 0;
    let mut registered = true;
    // Votes counted before this task was registered (see [`LiveRegistry::start`]) or, after a
    // takeover, on the node that stopped: their counts go out now, not at the next vote.
    if let Ok(Ok(tally)) = timeout(STORE_BUDGET, node.store.tally(&run.question_id, &keys)).await
        && tally.total > 0
        && results.changed(Instant::now())
    {
        published_total = send_result(&node, &run, tally, &room).await;
    }

    loop {
        let flush_at = results.due();
        tokio::select! {
            biased;
            request = close_requests.recv(), if registered => {
                let Some(CloseRequest { reason, reply }) = request else {
                    // The runner left the registry: the node stops (this task is being aborted,
                    // and its countdown handed over; releasing the lease here would undo that),
                    // or a newer run of the conference replaced it. Either way no close request
                    // comes any more, and the run ends by its own expiry.
                    registered = false;
                    continue;
                };
                // No tick after question:closed (D17).
                ticker.0.abort();
                let answer = close_run(&node, &run, reason).await;
                let _ = reply.send(answer);
                break;
            }
            _ = sleep_until(expiry) => {
                // Every tick goes out before question:closed, however late the ticker runs.
                if ticking {
                    let _ = tokio::time::timeout_at(expiry + LAST_TICK_GRACE, &mut ticker.0).await;
                }
                ticker.0.abort();
                close_until_done(&node, &run, CloseReason::Timeout, &mut close_requests).await;
                break;
            }
            ended = &mut ticker.0, if ticking => {
                ticking = false;
                if let Ok(Ticks::TimerGone) = ended {
                    // Closed elsewhere (then this finds nothing to do) or the key vanished
                    // early: either way the run ends here with its result.
                    close_until_done(&node, &run, CloseReason::Timeout, &mut close_requests).await;
                    break;
                }
            }
            _ = sleep_until(check_at) => {
                check_at = Instant::now() + lease_ttl / 3;
                if lease.lost() {
                    tracing::warn!(question = %run.question_id, "another node runs this countdown; stopping here");
                    break;
                }
                // Unconfirmed for a whole TTL: another node may hold it now. Two countdowns
                // must never tick at once (D16), so this one stops; whoever holds the lease, or
                // takes it next, ends the run.
                if lease.unconfirmed_for() > lease_ttl {
                    tracing::warn!(question = %run.question_id,
                        "timer lease unconfirmed for a whole TTL; leaving the countdown to the cluster");
                    break;
                }
            }
            _ = votes.notified() => {
                if results.changed(Instant::now()) {
                    if closed_elsewhere(&node, &run).await {
                        ticker.0.abort();
                        close_until_done(&node, &run, CloseReason::Timeout, &mut close_requests).await;
                        break;
                    }
                    published_total = publish_result(&node, &run, &keys, &room).await.unwrap_or(published_total);
                }
            }
            _ = sleep_until(flush_at.unwrap_or(far)), if flush_at.is_some() => {
                results.emitted(Instant::now());
                if closed_elsewhere(&node, &run).await {
                    ticker.0.abort();
                    close_until_done(&node, &run, CloseReason::Timeout, &mut close_requests).await;
                    break;
                }
                published_total = publish_result(&node, &run, &keys, &room).await.unwrap_or(published_total);
            }
            _ = sleep_until(poll_at), if shared => {
                poll_at = Instant::now() + node.settings.result_interval;
                if let Ok(Ok(tally)) = timeout(STORE_BUDGET, node.store.tally(&run.question_id, &keys)).await
                    && tally.total != published_total
                    && results.changed(Instant::now())
                {
                    if closed_elsewhere(&node, &run).await {
                        ticker.0.abort();
                        close_until_done(&node, &run, CloseReason::Timeout, &mut close_requests).await;
                        break;
                    }
                    published_total = publish_result(&node, &run, &keys, &room).await.unwrap_or(published_total);
                }
            }
        }
    }
    drop(ticker);
    drop(renewer);
    node.live.finished(&run);
    if !lease.lost()
        && let Err(e) = node.store.release_timer_lease(&run, node_id).await
    {
        tracing::debug!(error = %e, "timer lease not released; it expires by itself");
    }
}

/// What the lease renewals of one countdown found.
struct LeaseState {
    created: std::time::Instant,
    /// Milliseconds after `created` of the last confirmed renewal.
    confirmed_ms: std::sync::atomic::AtomicU64,
    lost: std::sync::atomic::AtomicBool,
}

impl LeaseState {
    fn new() -> Self {
        LeaseState {
            created: std::time::Instant::now(),
            confirmed_ms: std::sync::atomic::AtomicU64::new(0),
            lost: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A renewal asked at `asked` succeeded: the lease holds for a TTL from then at least.
    fn confirm(&self, asked: std::time::Instant) {
        let ms = asked.saturating_duration_since(self.created).as_millis() as u64;
        self.confirmed_ms
            .fetch_max(ms, std::sync::atomic::Ordering::Relaxed);
    }

    fn unconfirmed_for(&self) -> Duration {
        let ms = self.confirmed_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.created
            .elapsed()
            .saturating_sub(Duration::from_millis(ms))
    }

    fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Renews the countdown lease every third of its TTL until aborted; records each answer.
async fn renew_lease(node: Arc<Node>, run: LiveRun, lease: Arc<LeaseState>) {
    let ttl = node.settings.timer_lease;
    loop {
        let asked = std::time::Instant::now();
        match node
            .store
            .timer_lease(&run, &node.settings.node_id, ttl, Lease::Hold)
            .await
        {
            // The lease runs from when Redis ran the script, at or after `asked`.
            Ok(LeaseGrant::Granted | LeaseGrant::HandedOver { .. }) => lease.confirm(asked),
            Ok(LeaseGrant::Refused) => {
                lease.lost.store(true, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            Err(e) => tracing::warn!(error = %e, "timer lease not renewed; retrying"),
        }
        tokio::time::sleep_until((asked + ttl / 3).into()).await;
    }
}

/// Every node, every quarter of a lease TTL: starts the countdown of any open run no node holds
/// (its node died, or shut down), which then ticks on or closes it (D16, D25).
pub(crate) async fn watch_open_runs(node: &Node) {
    let runs = match node.store.open_runs().await {
        Ok(runs) => runs,
        Err(e) => {
            tracing::debug!(error = %e, "open runs unreadable");
            return;
        }
    };
    for run in runs {
        if node.live.stopping() {
            return;
        }
        if node.live.runs_here(&run) {
            continue;
        }
        let (node_id, ttl) = (&node.settings.node_id, node.settings.timer_lease);
        let origin = match node
            .store
            .timer_lease(&run, node_id, ttl, Lease::Take)
            .await
        {
            Ok(LeaseGrant::Granted) => Origin::TakenOver,
            Ok(LeaseGrant::HandedOver { next_tick }) => Origin::HandedOver { next_tick },
            Ok(LeaseGrant::Refused) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "timer lease unavailable");
                continue;
            }
        };
        let meta = match node.store.question_meta(&run.question_id).await {
            Ok(Some(meta)) => meta,
            Ok(None) => match node
                .catalog
                .question(&run.conference_id, &run.question_id)
                .await
            {
                Ok(Some(meta)) => meta,
                _ => {
                    tracing::error!(question = %run.question_id, "open run without metadata");
                    give_back(node, &run, origin).await;
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "question metadata unreadable");
                give_back(node, &run, origin).await;
                continue;
            }
        };
        match origin {
            Origin::HandedOver { next_tick } => tracing::info!(conference = %run.conference_id,
                question = %run.question_id, expires_at = run.expires_at, next_tick,
                "going on with a countdown a stopping node handed over"),
            _ => tracing::warn!(conference = %run.conference_id, question = %run.question_id,
                expires_at = run.expires_at, "taking over the countdown of a run no node holds"),
        }
        node.metrics.timer_takeover();
        node.live.start(node, run, meta, origin);
    }
}

/// Gives up a lease this node just took and can not use: as it was, so the next taker starts
/// from the tick a hand-over named, if one did.
async fn give_back(node: &Node, run: &LiveRun, origin: Origin) {
    match origin {
        Origin::HandedOver { next_tick } => node.hand_over(run, next_tick).await,
        _ => {
            if let Err(e) = node
                .store
                .release_timer_lease(run, &node.settings.node_id)
                .await
            {
                tracing::debug!(error = %e, "timer lease not given back; it expires by itself");
            }
        }
    }
}

/// Whether another node closed the run (several nodes only; a slow store says no).
async fn closed_elsewhere(node: &Node, run: &LiveRun) -> bool {
    node.store.shared()
        && matches!(
            timeout(STORE_BUDGET, node.store.timer_running(run)).await,
            Ok(Ok(false))
        )
}

/// Closes the run, retrying (0.1 s doubling to 5 s) while the store fails, so a passing Redis
/// outage delays the final result and never loses it. Close requests that arrive meanwhile get
/// the same answer.
async fn close_until_done(
    node: &Node,
    run: &LiveRun,
    reason: CloseReason,
    requests: &mut mpsc::Receiver<CloseRequest>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match close_run(node, run, reason).await {
            Ok(record) => {
                while let Ok(CloseRequest { reply, .. }) = requests.try_recv() {
                    let _ = reply.send(Ok(None));
                }
                if record.is_none() {
                    tracing::debug!(question = %run.question_id, "run was already closed");
                }
                return;
            }
            Err(e) => {
                tracing::error!(question = %run.question_id, error = %e,
                    retry_in = ?backoff, "close failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Broadcasts `tally` as `vote:result`; returns the total sent.
async fn send_result(node: &Node, run: &LiveRun, tally: Tally, room: &str) -> u64 {
    let total = tally.counts.values().sum();
    node.broadcast(
        room.to_owned(),
        event::VOTE_RESULT,
        &VoteResult {
            conference_id: run.conference_id.clone(),
            question_id: run.question_id.clone(),
            total_votes: total,
            option_counts: tally.counts,
            timestamp: now_millis(),
        },
    )
    .await;
    total
}

/// Broadcasts the current counts; returns the total sent.
async fn publish_result(node: &Node, run: &LiveRun, keys: &[String], room: &str) -> Option<u64> {
    match node.store.tally(&run.question_id, keys).await {
        Ok(tally) => Some(send_result(node, run, tally, room).await),
        Err(e) => {
            tracing::warn!(error = %e, "vote:result skipped: counts unreadable");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::MemoryCatalog;
    use crate::results::{JsonlSink, Persister};
    use crate::rooms::{Rooms, Shortfall};
    use crate::store::memory::MemoryStore;
    use crate::store::{RuntimeStore, VoteOutcome};
    use lcr_protocol::server::QuestionOption;
    use lcr_protocol::{ConferenceStatus, Role};

    /// The room transport of these tests: keeps what was broadcast.
    #[derive(Default)]
    struct Broadcasts {
        sent: Mutex<Vec<(&'static str, serde_json::Value)>>,
        arrived: Notify,
    }

    #[async_trait::async_trait]
    impl Rooms for Broadcasts {
        async fn broadcast(
            &self,
            _room: String,
            event: &'static str,
            payload: serde_json::Value,
        ) -> crate::rooms::Shortfall {
            self.sent.lock().unwrap().push((event, payload));
            self.arrived.notify_waiters();
            Shortfall::default()
        }
        async fn empty(&self, _room: String) {}
        fn forget_local(&self, _conference_id: &str) {}
    }

    impl Broadcasts {
        /// Waits (up to 10 s) for a broadcast of `event` that `accept` takes.
        async fn wait_for(
            &self,
            event: &str,
            accept: impl Fn(&serde_json::Value) -> bool,
        ) -> Option<serde_json::Value> {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let arrived = self.arrived.notified();
                if let Some((_, v)) = self
                    .sent
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(e, v)| *e == event && accept(v))
                {
                    return Some(v.clone());
                }
                tokio::time::timeout_at(deadline, arrived).await.ok()?;
            }
        }
    }

    fn meta() -> QuestionMeta {
        QuestionMeta {
            conference_id: "c".into(),
            question_id: "q".into(),
            question_text: "Which?".into(),
            options: ["A", "B"]
                .map(|k| QuestionOption {
                    key: k.into(),
                    text: format!("Answer {k}"),
                })
                .to_vec(),
            correct_option: "A".into(),
        }
    }

    /// A node on the memory store whose broadcasts are kept; the clock's guard and the
    /// results file go with it.
    async fn test_node(
        name: &str,
    ) -> (
        Arc<Node>,
        Arc<MemoryStore>,
        Arc<Broadcasts>,
        crate::clock::ClockGuard,
        std::path::PathBuf,
    ) {
        let (clock, guard) = crate::clock::Clock::start().unwrap();
        let store = Arc::new(MemoryStore::default());
        let rooms = Arc::new(Broadcasts::default());
        let results =
            std::env::temp_dir().join(format!("lcr-live-{name}-{}.jsonl", std::process::id()));
        let node = Node::new(
            Settings::default(),
            store.clone(),
            Arc::new(MemoryCatalog::default()),
            Persister::new(store.clone(), Arc::new(JsonlSink::new(&results))),
            rooms.clone(),
            crate::cluster::ClusterBus::default(),
            crate::metrics::Metrics::default(),
            clock,
        );
        store
            .put_conference("c", "host", ConferenceStatus::Active)
            .await
            .unwrap();
        (node, store, rooms, guard, results)
    }

    #[tokio::test]
    async fn a_stopping_node_hands_over_the_tick_it_did_not_send_and_sends_no_more() {
        let (node, store, rooms, _clock, results) = test_node("stop").await;
        // Tick 1 is due already (sent at once), tick 2 in half a second.
        let r = LiveRun {
            duration: 4,
            expires_at: now_millis() + 2_500,
            ..run(now_millis() - 1_500)
        };
        store.start_question(&r, &meta()).await.unwrap();
        node.live.start(&node, r.clone(), meta(), Origin::Pushed);
        rooms
            .wait_for(event::QUESTION_TIMER_UPDATE, |v| v["timeRemaining"] == 3)
            .await
            .expect("tick 1");
        let handed = node.live.abort_all();
        assert_eq!(
            handed,
            vec![(r.clone(), 2)],
            "tick 2 was not sent: it is handed over"
        );
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let ticks: Vec<_> = rooms
            .sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(e, _)| *e == event::QUESTION_TIMER_UPDATE)
            .map(|(_, v)| v["timeRemaining"].clone())
            .collect();
        assert_eq!(ticks, vec![serde_json::json!(3)], "nothing after the stop");
        // A push or takeover that races the stop starts nothing here.
        node.live.start(&node, r, meta(), Origin::Pushed);
        assert_eq!(node.live.len(), 0);
        let _ = std::fs::remove_file(results);
    }

    #[tokio::test]
    async fn a_run_whose_runner_left_the_registry_still_closes_at_its_expiry() {
        let (node, store, rooms, _clock, results) = test_node("replaced").await;
        let old = LiveRun {
            duration: 2,
            expires_at: now_millis() + 1_500,
            ..run(now_millis() - 500)
        };
        store.start_question(&old, &meta()).await.unwrap();
        node.live.start(&node, old.clone(), meta(), Origin::Pushed);
        // Another runner of the conference takes the registry's place: the old one hears no
        // close request any more, and must neither stop nor give its lease up before its end.
        let newer = LiveRun {
            question_id: "q2".into(),
            ..run(now_millis())
        };
        node.live.start(&node, newer, meta(), Origin::Pushed);
        let closed = rooms
            .wait_for(event::QUESTION_CLOSED, |v| v["questionId"] == "q")
            .await
            .expect("the old run closes by itself");
        assert_eq!(closed["reason"], "timeout");
        node.stop_timers().await;
        let _ = std::fs::remove_file(results);
    }

    #[tokio::test]
    async fn votes_counted_before_the_runner_starts_get_their_vote_result() {
        let (node, store, rooms, _clock, results) = test_node("early").await;
        store.add_member("c", "u1", Role::Audience).await.unwrap();
        let r = run(now_millis());
        store.start_question(&r, &meta()).await.unwrap();
        // A voter answered `question:live` before the push registered the runner: nothing
        // was there to notify.
        let outcome = store.record_vote("c", "q", "u1", "B", now_millis()).await;
        assert!(matches!(outcome, Ok(VoteOutcome::Accepted { .. })));
        node.live.vote_counted("c");

        node.live.start(&node, r, meta(), Origin::Pushed);

        let result = rooms
            .wait_for(event::VOTE_RESULT, |v| v["totalVotes"] == 1)
            .await
            .expect("the counted vote reaches vote:result without another vote");
        assert_eq!(
            result["optionCounts"],
            serde_json::json!({ "A": 0, "B": 1 })
        );
        node.stop_timers().await;
        let _ = std::fs::remove_file(results);
    }

    fn run(started_at: Millis) -> LiveRun {
        LiveRun {
            conference_id: "c".into(),
            question_id: "q".into(),
            started_at,
            expires_at: started_at + 45_000,
            duration: 45,
        }
    }

    #[test]
    fn a_pushed_run_ticks_from_one_however_late_its_task_starts() {
        assert_eq!(first_tick(&run(10_000), Origin::Pushed, 10_000), 1);
        assert_eq!(first_tick(&run(10_000), Origin::Pushed, 13_500), 1);
    }

    #[test]
    fn a_handed_over_run_goes_on_from_the_tick_its_node_did_not_send() {
        // 6.4 s in, the stopping node had sent tick 6: the taker sends 7 at 7 s, not 6 again.
        let handed = Origin::HandedOver { next_tick: 7 };
        assert_eq!(first_tick(&run(10_000), handed, 16_400), 7);
        // A hand-over that took longer: still 7; the ticker itself skips it if 8 is due too
        // (a stale countdown value, see `tick`).
        assert_eq!(first_tick(&run(10_000), handed, 18_200), 7);
    }

    #[test]
    fn a_taken_over_run_sends_the_latest_due_tick_at_once() {
        // 6.4 s in: tick 6 came due after the other node stopped (it died a lease TTL ago).
        assert_eq!(first_tick(&run(10_000), Origin::TakenOver, 16_400), 6);
        assert_eq!(first_tick(&run(10_000), Origin::TakenOver, 16_000), 6);
        // Before the first tick, and with a clock a little behind startedAt: from 1.
        assert_eq!(first_tick(&run(10_000), Origin::TakenOver, 10_500), 1);
        assert_eq!(first_tick(&run(10_000), Origin::TakenOver, 9_000), 1);
    }
}
