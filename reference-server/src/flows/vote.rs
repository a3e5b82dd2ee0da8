//! Spec §3.4 and §5.1, a vote, with D18's checks in order:
//!
//! 1. Payload valid (else `error` INVALID_PAYLOAD; done by the socket layer).
//! 2. The sender is not the host, and 3. its socket joined the conference (`not_audience`).
//!    The store checks the conference has not ended too: the end clears the audience on every
//!    node, and a node may hear of it after its socket heard `conference:status_changed`.
//! 4. The question is the live one (`question_closed`).
//! 5. The option, upper-cased, is a key of the question (`invalid_option`).
//! 6. The user has not voted on this run from any socket on any node (`duplicate`).
//!
//! Steps 2–6 and the counting run as one atomic store step (spec §5.3's set check, lock and
//! `SADD` in one), so concurrent submissions of one user yield exactly one `vote:accepted`.
//! Then `vote:accepted` to the sender and a coalesced `vote:result` to the room (D20). A vote
//! on a run whose state the store lost is answered `error` TIMEOUT, never as a close (D26).

use lcr_protocol::client::VoteSubmit;
use lcr_protocol::event;
use lcr_protocol::server::{VoteAccepted, VoteRejected};
use lcr_protocol::{ErrorCode, RejectReason, Role, now_millis};

use super::{Caller, FlowError};
use crate::node::Node;
use crate::store::VoteOutcome;

/// Handles `vote:submit`.
pub async fn submit(node: &Node, caller: &Caller<'_>, req: VoteSubmit) -> Result<(), FlowError> {
    let option = req.option_key();
    let reject = |reason: RejectReason| {
        caller.send(
            event::VOTE_REJECTED,
            &VoteRejected {
                conference_id: req.conference_id.clone(),
                question_id: req.question_id.clone(),
                reason,
                timestamp: now_millis(),
            },
        );
    };
    if caller.session.role_in(&req.conference_id) != Some(Role::Audience) {
        node.metrics.vote_rejected(RejectReason::NotAudience);
        reject(RejectReason::NotAudience);
        return Ok(());
    }
    let outcome = node
        .store
        .record_vote(
            &req.conference_id,
            &req.question_id,
            caller.user_id(),
            &option,
            now_millis(),
        )
        .await?;
    match outcome {
        VoteOutcome::Accepted { is_correct } => {
            caller.send(
                event::VOTE_ACCEPTED,
                &VoteAccepted {
                    conference_id: req.conference_id.clone(),
                    question_id: req.question_id.clone(),
                    selected_option: option,
                    is_correct,
                    timestamp: now_millis(),
                },
            );
            node.countdowns.vote_counted(&req.conference_id);
            node.metrics.vote_accepted();
        }
        VoteOutcome::Rejected(reason) => {
            node.metrics.vote_rejected(reason);
            reject(reason);
        }
        // Not a close (D26): the node timing the question restores it; the voter tries again.
        VoteOutcome::StateLost => {
            return Err(FlowError::new(
                ErrorCode::Timeout,
                format!(
                    "the runtime state of question {} was lost (the store restarted without it); \
                     it is being restored: vote again",
                    req.question_id
                ),
            ));
        }
    }
    Ok(())
}
