//! The task of one live run, on the clock thread: everything the room hears about the run
//! until it closes (spec §4.2, §6.1), besides the ticks its ticker sends.
//!
//! - the timeout close at `expiresAt` (D16), retried with backoff until the store answers, and
//!   also attempted when the ticker finds the timer key gone early (evicted, or a close
//!   elsewhere: the close is idempotent, so a run is never left without its final result);
//! - `vote:result`, coalesced to one per interval with the trailing edge guaranteed (D20): the
//!   first vote after a quiet interval is broadcast at once, later ones at the interval's end;
//!   with several nodes the counts are also read every result interval, for votes counted
//!   elsewhere;
//! - a manual close requested through the registry ([`crate::closing::close_live`]);
//! - stopping, without closing, when another node holds the lease ([`super::lease`]).

use std::sync::Arc;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use lcr_protocol::event::{self, conference_room};
use lcr_protocol::server::VoteResult;
use lcr_protocol::{CloseReason, now_millis};
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until, timeout};

use super::lease::{LeaseState, renew_lease};
use super::registry::CloseRequest;
use super::ticker::{Ticks, instant_at, tick};
use crate::closing::close_run;
use crate::coalesce::Coalescer;
use crate::node::Node;
use crate::store::{LiveRun, QuestionMeta, Tally};

/// A task aborted when this handle is dropped, so a countdown that ends, or is itself aborted,
/// never leaves its ticker or its lease renewals running.
struct Owned<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The longest the task waits for a store read (counts, a close made elsewhere) before it goes
/// on without the answer: under overload a slow Redis delays results, and nothing else.
const STORE_BUDGET: Duration = Duration::from_millis(300);

/// How long past `expiresAt` the close waits for a late ticker's last tick, so that it precedes
/// `question:closed` and the close still comes within D16's second.
const LAST_TICK_GRACE: Duration = Duration::from_millis(500);

/// Runs the countdown of `run` until it closes, or stops here (the node stops, or another node
/// holds the lease); then leaves the registry and releases the lease it still holds.
pub(super) async fn drive(
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
    let lease = Arc::new(LeaseState::default());
    let renewer = Owned(tokio::spawn(renew_lease(
        node.clone(),
        run.clone(),
        lease.clone(),
    )));
    let mut ticker = Owned(tokio::spawn(tick(
        node.clone(),
        run.clone(),
        Arc::new(meta),
        next_tick,
    )));
    let mut ticking = true;
    let mut check_at = Instant::now() + lease_ttl / 3;
    // Votes counted on other nodes are seen by reading the counts every result interval.
    let shared = node.store.shared();
    let mut poll_at = Instant::now() + node.settings.result_interval;
    let mut published_total: u64 = 0;
    let mut registered = true;
    // Votes counted before this task was registered (see [`super::start`]) or, after a
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
                match ended {
                    Ok(Ticks::TimerGone) => {
                        // Closed elsewhere: this finds nothing to do, and the run ends here.
                        close_until_done(&node, &run, CloseReason::Timeout, &mut close_requests).await;
                        break;
                    }
                    Ok(Ticks::Held) => {
                        tracing::warn!(question = %run.question_id,
                            "another node runs this countdown now; stopping here");
                        break;
                    }
                    _ => {}
                }
            }
            _ = sleep_until(check_at) => {
                check_at = Instant::now() + lease_ttl / 3;
                // A lease that lapsed (a stalled store or node) may be taken by another node;
                // ticks stay single either way, since each is claimed in the store first.
                if lease.lost() {
                    tracing::warn!(question = %run.question_id, "another node runs this countdown; stopping here");
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
    node.countdowns.finished(&run);
    if !lease.lost()
        && let Err(e) = node.store.release_timer_lease(&run, node_id).await
    {
        tracing::debug!(error = %e, "timer lease not released; it expires by itself");
    }
}

/// Whether another node closed the run (several nodes only; a slow store says no). A run
/// whose conference is gone too was not closed: the store lost it, and the ticker restores it
/// (D26).
async fn closed_elsewhere(node: &Node, run: &LiveRun) -> bool {
    node.store.shared()
        && matches!(
            timeout(STORE_BUDGET, node.store.timer_running(run)).await,
            Ok(Ok(false))
        )
        && matches!(
            timeout(STORE_BUDGET, node.store.conference(&run.conference_id)).await,
            Ok(Ok(Some(_)))
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
