//! The ticker of one countdown: `question:timer_update` at `startedAt + k·1000 ms` (D16), a task
//! of its own so nothing else holds a tick back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lcr_protocol::event::{self, conference_room};
use lcr_protocol::server::QuestionTimerUpdate;
use lcr_protocol::{Millis, now_millis};
use tokio::time::{Instant, sleep_until, timeout};

use super::registry::STOPPED;
use crate::node::Node;
use crate::store::LiveRun;

/// The longest the countdown task waits for a store check (timer key, lease, counts) before it
/// goes on without the answer: under overload a slow Redis delays results, never ticks.
pub(super) const STORE_BUDGET: Duration = Duration::from_millis(300);

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
/// ticker that finds `next` taken by the stop
/// ([`CountdownRegistry::abort_all`](super::registry::CountdownRegistry::abort_all)) sends
/// nothing: a tick is missed rather than sent twice.
pub(super) async fn tick(node: Arc<Node>, run: LiveRun, next: Arc<AtomicU32>) -> Ticks {
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
