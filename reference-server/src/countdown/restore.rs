//! Putting back a live run whose state the store lost (D26): Redis restarted without the data,
//! yet this node still times the question. The run is written again as it was (same
//! `startedAt` and `expiresAt`, counts from zero), with its conference from the catalog, so the
//! votes still to come are counted and the question closes with a final result; the votes
//! counted before the loss are gone, and `lcr_runtime_state_lost_total` says so.

use crate::node::Node;
use crate::store::{LiveRun, QuestionMeta};

/// Why a lost run could not be put back.
#[derive(Debug, thiserror::Error)]
pub(super) enum RestoreError {
    /// The catalog has no such conference (it lived in the same Redis, and went with it).
    #[error("conference {0} is not in the catalog either")]
    Unknown(String),
    /// The catalog did not answer.
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    /// The store did not take the writes.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Writes the conference (host, status) and the run back into the store.
pub(super) async fn restore(
    node: &Node,
    run: &LiveRun,
    meta: &QuestionMeta,
) -> Result<(), RestoreError> {
    let conference = node
        .catalog
        .conference(&run.conference_id)
        .await?
        .ok_or_else(|| RestoreError::Unknown(run.conference_id.clone()))?;
    // The countdown's lease first, so no other node takes the run over as an orphan once it
    // is back in `runs:open`; then the run: a vote between the last two writes finds the run
    // live (and is counted) rather than a conference whose question is not live (refused as
    // closed).
    node.store
        .timer_lease(
            run,
            &node.settings.node_id,
            node.settings.timer_lease,
            crate::store::Lease::Hold,
        )
        .await?;
    node.store.start_question(run, meta).await?;
    node.store
        .put_conference(
            &run.conference_id,
            &conference.host_user_id,
            conference.status,
        )
        .await?;
    tracing::warn!(conference = %run.conference_id, question = %run.question_id,
        expires_at = run.expires_at, "lost run restored: votes from now on are counted");
    Ok(())
}
