//! Closing a run (spec §4.3, §6.2), whoever asks: a host's `question:close`, the timeout of its
//! countdown, a push that replaces it (D14), the end of its conference. Below the flows, so the
//! countdown closes a run without depending on a flow.
//!
//! 1–3. One atomic store step decides whether the run is still open, freezes its counts into a
//!      pending result and deletes the live question and timer keys. A vote is either inside
//!      the frozen counts or rejected `question_closed` (D19).
//! 4. `question:closed` to the conference room,
//! 5. then `vote:final_result` with `correctOption` revealed and percentages (D21).
//! 6–8. The persister writes the result (D23); the vote keys are deleted once it is confirmed.

use lcr_protocol::event::{self, conference_room};
use lcr_protocol::server::QuestionClosed;
use lcr_protocol::{CloseReason, now_millis};

use crate::node::Node;
use crate::store::{FinalRecord, LiveRun, StoreError};

/// Closes whatever run of the conference is still open (D14 replacement, conference end):
/// the live one with reason `manual`, or one whose time ran out but whose timeout close has not
/// happened yet (its live key is gone with its TTL, its timer task is still here) with reason
/// `timeout`. Without the second case a push in that instant would lose the old run's result.
pub async fn close_open_run(node: &Node, cid: &str) -> Result<(), StoreError> {
    if let Some(live) = node.store.live_question(cid).await? {
        close_live(node, &live, CloseReason::Manual).await?;
    }
    if let Some(expired) = node.countdowns.current(cid) {
        close_live(node, &expired, CloseReason::Timeout).await?;
    }
    // With several nodes the expired run's countdown may be on a node that just died, before
    // any node took it over: the open-runs registry still names it (D25).
    if node.store.shared()
        && let Some(orphan) = node
            .store
            .open_runs()
            .await?
            .into_iter()
            .find(|r| r.conference_id == cid)
    {
        close_live(node, &orphan, CloseReason::Timeout).await?;
    }
    Ok(())
}

/// Closes a live run: through its timer task when this node runs it (so the task's broadcasts
/// stay in order), directly otherwise. `None` when somebody closed it first.
pub async fn close_live(
    node: &Node,
    run: &LiveRun,
    reason: CloseReason,
) -> Result<Option<FinalRecord>, StoreError> {
    match node.countdowns.request_close(run, reason).await {
        Some(answer) => answer,
        None => close_run(node, run, reason).await,
    }
}

/// The close itself (steps 1–6). Called by the run's timer task or by [`close_live`].
pub(crate) async fn close_run(
    node: &Node,
    run: &LiveRun,
    reason: CloseReason,
) -> Result<Option<FinalRecord>, StoreError> {
    let Some(record) = node.store.close_question(run, reason, now_millis()).await? else {
        return Ok(None);
    };
    let room = conference_room(&run.conference_id);
    node.broadcast(
        room.clone(),
        event::QUESTION_CLOSED,
        &QuestionClosed {
            conference_id: run.conference_id.clone(),
            question_id: run.question_id.clone(),
            reason,
            closed_at: record.closed_at,
        },
    )
    .await;
    node.broadcast(room, event::VOTE_FINAL_RESULT, &record.payload())
        .await;
    node.persister.wake();
    node.metrics.question_closed();
    tracing::info!(conference = %run.conference_id, question = %run.question_id, %reason,
        total = record.total_responses, "question closed");
    Ok(Some(record))
}
