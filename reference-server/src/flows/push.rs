//! Spec §3.4 and §4.1, pushing a question live.
//!
//! 1. The sender must be the host (`UNAUTHORIZED`) of an existing conference
//!    (`CONFERENCE_NOT_FOUND`) that is ACTIVE (`CONFERENCE_NOT_ACTIVE`, D7).
//! 2. `SET NX` the push lock (`OPERATION_IN_PROGRESS` when held); under it the status is read
//!    again, so a push never lands in a conference that has just ended.
//! 3. The question must belong to the conference (`QUESTION_NOT_FOUND`), checked before
//!    anything changes: a bad push never closes the live question.
//! 4. The open run is closed through the full close flow first (D14,
//!    [`crate::closing::close_open_run`]); pushing the question that is live now answers
//!    `OPERATION_IN_PROGRESS`.
//! 5. (with 6) Meta, live question, timer and zeroed counts, in one store step; TTLs of spec §2.
//! 7. `question:live` to the conference room (never `correctOption`, D22).
//! 8. The timer starts ([`crate::countdown`]).
//! 9. The lock is released (only if still ours), whatever happened.

use lcr_protocol::client::QuestionPushLive;
use lcr_protocol::event::{self, conference_room};
use lcr_protocol::{ErrorCode, now_millis};

use super::{Caller, FlowError};
use crate::closing::close_open_run;
use crate::countdown::{self, Origin};
use crate::node::Node;
use crate::store::{Lease, LiveRun};

/// Handles `question:push_live`.
pub async fn push_live(
    node: &Node,
    caller: &Caller<'_>,
    req: QuestionPushLive,
) -> Result<(), FlowError> {
    let cid = req.conference_id.as_str();
    let conference = node.conference(cid).await?;
    if conference.host_user_id != caller.user_id() {
        return Err(FlowError::new(
            ErrorCode::Unauthorized,
            "only the conference host may push questions",
        ));
    }
    require_active(cid, conference.status)?;
    let Some(token) = node.store.try_lock_push(cid, now_millis()).await? else {
        return Err(FlowError::new(
            ErrorCode::OperationInProgress,
            "another push is in progress for this conference",
        ));
    };
    let outcome = locked_push(node, &req).await;
    if let Err(e) = node.store.unlock_push(cid, &token).await {
        tracing::warn!(conference = %cid, error = %e, "push lock not released; it expires in 5 s");
    }
    outcome
}

fn require_active(cid: &str, status: lcr_protocol::ConferenceStatus) -> Result<(), FlowError> {
    if Node::is_active(status) {
        Ok(())
    } else {
        Err(FlowError::new(
            ErrorCode::ConferenceNotActive,
            format!("conference {cid} is {status}, not ACTIVE"),
        ))
    }
}

/// Steps 2–8, under the push lock.
async fn locked_push(node: &Node, req: &QuestionPushLive) -> Result<(), FlowError> {
    let cid = req.conference_id.as_str();
    let qid = req.question_id.as_str();
    require_active(cid, node.conference(cid).await?.status)?;
    let meta = node.catalog.question(cid, qid).await?.ok_or_else(|| {
        FlowError::new(
            ErrorCode::QuestionNotFound,
            format!("question {qid} is not a question of conference {cid}"),
        )
    })?;
    if node
        .store
        .live_question(cid)
        .await?
        .is_some_and(|live| live.question_id == qid)
    {
        return Err(FlowError::new(
            ErrorCode::OperationInProgress,
            format!("question {qid} is live already"),
        ));
    }
    close_open_run(node, cid).await?;

    let started_at = now_millis();
    let duration = req.duration_secs();
    let run = LiveRun {
        conference_id: cid.to_owned(),
        question_id: qid.to_owned(),
        started_at,
        expires_at: started_at + i64::from(duration) * 1000,
        duration,
    };
    // The countdown lease first, so no other node's watchdog takes the run in the instant
    // between its keys appearing and this node's task starting (D16, D25).
    node.store
        .timer_lease(
            &run,
            &node.settings.node_id,
            node.settings.timer_lease,
            Lease::Hold,
        )
        .await?;
    node.store.start_question(&run, &meta).await?;
    node.broadcast(
        conference_room(cid),
        event::QUESTION_LIVE,
        &run.live_payload(&meta),
    )
    .await;
    countdown::start(node, run, meta, Origin::Pushed);
    Ok(())
}
