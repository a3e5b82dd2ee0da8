//! Spec §4.3 (close) and §6.2 (final results): the host's manual close (D17).
//!
//! - The sender must be the host (`UNAUTHORIZED`) and name the live question
//!   (`QUESTION_NOT_LIVE`, also when somebody closed it first).
//! - The run closes through its countdown when this node runs it, so the countdown's
//!   broadcasts stay in order ([`crate::closing::close_live`]).
//!
//! The close itself, steps 1–8 (counts frozen, D19; `question:closed`, then
//! `vote:final_result` with `correctOption` revealed, D21; the result persisted, D23), is
//! [`crate::closing`]'s, shared with the timeout close ([`crate::countdown`]), the replacement
//! by a push (D14, [`super::push`]) and the conference end ([`crate::control`]).

use lcr_protocol::client::QuestionClose;
use lcr_protocol::{CloseReason, ErrorCode};

use super::{Caller, FlowError};
use crate::closing::close_live;
use crate::node::Node;

/// Handles `question:close`.
pub async fn close(node: &Node, caller: &Caller<'_>, req: QuestionClose) -> Result<(), FlowError> {
    let cid = req.conference_id.as_str();
    let qid = req.question_id.as_str();
    let conference = node.conference(cid).await?;
    if conference.host_user_id != caller.user_id() {
        return Err(FlowError::new(
            ErrorCode::Unauthorized,
            "only the conference host may close questions",
        ));
    }
    let not_live = || {
        FlowError::new(
            ErrorCode::QuestionNotLive,
            format!("question {qid} is not live in conference {cid}"),
        )
    };
    let live = node
        .store
        .live_question(cid)
        .await?
        .filter(|run| run.question_id == qid)
        .ok_or_else(not_live)?;
    close_live(node, &live, CloseReason::Manual)
        .await?
        .map(|_| ())
        .ok_or_else(not_live)
}
