//! The ticker of one countdown: `question:timer_update` at `startedAt + k·1000 ms` (D16), a task
//! of its own so nothing else holds a tick back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lcr_protocol::event::{self, conference_room};
use lcr_protocol::server::QuestionTimerUpdate;
use lcr_protocol::{Millis, now_millis};
use tokio::time::{Instant, sleep_until};

use super::registry::STOPPED;
use crate::node::Node;
use crate::store::{LiveRun, QuestionMeta, TickClaim};

/// The tokio instant at which the wall clock reads `at`.
pub(super) fn instant_at(at: Millis) -> Instant {
    let delta = at - now_millis();
    let now = Instant::now();
    if delta >= 0 {
        now + Duration::from_millis(delta as u64)
    } else {
        now.checked_sub(Duration::from_millis(delta.unsigned_abs()))
            .unwrap_or(now)
    }
}

/// How a ticker ended.
pub(super) enum Ticks {
    /// Every tick up to k = duration − 1 went out.
    AllSent,
    /// The run is no longer open: it was closed elsewhere.
    TimerGone,
    /// The node stops; the countdown was handed over from the tick not sent.
    Stopped,
    /// Another node holds the countdown now (this one's lease lapsed, e.g. while it stalled).
    Held,
}

/// Sends `question:timer_update` for k = `first` … duration−1, in order, each exactly once
/// across the cluster (D16), at `startedAt + k·1000 ms`. It is a task of its own so nothing
/// else the countdown waits for (counts, results) holds a tick back.
///
/// Each tick is claimed in the store before it goes out ([`RuntimeStore::claim_tick`]): the
/// store keeps the next tick with the run, so whichever node runs the countdown, after a
/// takeover, a hand-over or a store that stalled or restarted, goes on from the first tick not
/// sent. A claim that fails (the store unreachable) is retried: a tick comes late rather than
/// never, or twice. A tick that comes due while the ticker is behind is still sent, late; the
/// generator reports the lateness.
///
/// `next` holds the tick it will send next. A tick is claimed here (`next` moved on) before it
/// goes out, so a node stopped in the middle of a broadcast hands over the tick after it, and a
/// ticker that finds `next` taken by the stop
/// ([`CountdownRegistry::abort_all`](super::registry::CountdownRegistry::abort_all)) sends
/// nothing.
///
/// [`RuntimeStore::claim_tick`]: crate::store::RuntimeStore::claim_tick
pub(super) async fn tick(
    node: Arc<Node>,
    run: LiveRun,
    meta: Arc<QuestionMeta>,
    next: Arc<AtomicU32>,
) -> Ticks {
    let room = conference_room(&run.conference_id);
    let due = |k: u32| run.started_at + i64::from(k) * 1000;
    let mut k = next.load(Ordering::SeqCst).max(1);
    let mut lost = false;
    while k < run.duration {
        sleep_until(instant_at(due(k))).await;
        match claim(&node, &run, k).await {
            TickClaim::Claimed => {}
            TickClaim::Sent { next_tick } => {
                // Sent by the node that ran the countdown before: go on from the first not.
                if next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                        (n != STOPPED).then_some(n.max(next_tick))
                    })
                    .is_err()
                {
                    return Ticks::Stopped;
                }
                k = next_tick.max(k + 1);
                continue;
            }
            TickClaim::Held => return Ticks::Held,
            TickClaim::Closed => return Ticks::TimerGone,
            TickClaim::StateLost => {
                if !lost {
                    lost = true;
                    node.metrics.state_lost();
                    tracing::error!(conference = %run.conference_id, question = %run.question_id,
                        "the live question's state is gone from the store (did Redis restart \
                         without persistence?): its votes so far are lost; restoring the run");
                }
                if let Err(e) = super::restore::restore(&node, &run, &meta).await {
                    tracing::error!(question = %run.question_id, error = %e,
                        "the lost run could not be restored; trying again in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                continue;
            }
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

/// Claims tick `k`, retrying every 200 ms while the store fails (it restarts, or is gone for a
/// while): a tick is never sent unclaimed.
async fn claim(node: &Node, run: &LiveRun, k: u32) -> TickClaim {
    let mut failures = 0u32;
    loop {
        match node
            .store
            .claim_tick(run, &node.settings.node_id, k, node.settings.timer_lease)
            .await
        {
            Ok(claim) => {
                if failures > 0 {
                    tracing::info!(question = %run.question_id, tick = k, failures,
                        "tick claimed after the store came back");
                }
                return claim;
            }
            Err(e) => {
                if failures == 0 {
                    tracing::warn!(question = %run.question_id, tick = k, error = %e,
                        "tick not claimed; retrying until the store answers");
                }
                failures += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
