//! The Control API's flows (D8): create or replace, activate, end a conference.
//!
//! - create/replace: the catalog holds the questions, the store the host and status
//!   (`conference:{id}:host`, `conference:{id}:status`; DRAFT is "no status key").
//! - activate: status ACTIVE, then `conference:status_changed` to the conference room.
//! - end: the live question closes with reason `manual` and its final result, status ENDED,
//!   `conference:status_changed`, timers stop, presence is cleared and the rooms emptied; later
//!   joins answer `CONFERENCE_ENDED`.
//!
//! Repeating activate or end is harmless and broadcasts nothing new.
//!
//! The routes of [`crate::http`] call these, as the socket layer calls [`crate::flows`].

use lcr_protocol::admin::{ConferenceSpec, ConferenceState};
use lcr_protocol::event::{self, conference_room};
use lcr_protocol::server::ConferenceStatusChanged;
use lcr_protocol::{ConferenceStatus, now_millis};

use crate::catalog::ConferenceRecord;
use crate::closing::close_open_run;
use crate::node::{LookupError, Node};

/// Why a Control API call failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 400: the body or path is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 404: no such conference.
    #[error("conference {0} does not exist")]
    NotFound(String),
    /// 409: the conference cannot make that transition.
    #[error("{0}")]
    Conflict(String),
    /// 503: a store or the catalog failed.
    #[error("{0}")]
    Unavailable(String),
}

impl From<crate::store::StoreError> for AdminError {
    fn from(e: crate::store::StoreError) -> Self {
        AdminError::Unavailable(e.to_string())
    }
}

impl From<crate::catalog::CatalogError> for AdminError {
    fn from(e: crate::catalog::CatalogError) -> Self {
        match e {
            crate::catalog::CatalogError::QuestionTaken { .. } => {
                AdminError::Conflict(e.to_string())
            }
            crate::catalog::CatalogError::Backend(_) => AdminError::Unavailable(e.to_string()),
        }
    }
}

/// The conference lookup failed although the catalog knows the conference: 503, logged as a
/// flow logs a failed store or catalog call.
fn unavailable(e: LookupError) -> AdminError {
    match &e {
        LookupError::Store(cause) => tracing::error!(error = %cause, "store call failed"),
        LookupError::Catalog(cause) => tracing::error!(error = %cause, "catalog call failed"),
        LookupError::NotFound(_) => {}
    }
    AdminError::Unavailable(e.to_string())
}

fn state(cid: &str, record: &ConferenceRecord, status: ConferenceStatus) -> ConferenceState {
    ConferenceState {
        conference_id: cid.to_owned(),
        host_user_id: record.host_user_id.clone(),
        status,
        question_count: record.question_count,
    }
}

/// `PUT /admin/conferences/{id}`: creates or replaces the conference and its questions.
pub async fn put(
    node: &Node,
    cid: &str,
    spec: ConferenceSpec,
) -> Result<ConferenceState, AdminError> {
    spec.validate()
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let status = spec.status.unwrap_or(ConferenceStatus::Draft);
    node.catalog.put_conference(cid, &spec, status).await?;
    node.store
        .put_conference(cid, &spec.host_user_id, status)
        .await?;
    Ok(ConferenceState {
        conference_id: cid.to_owned(),
        host_user_id: spec.host_user_id,
        status,
        question_count: spec.questions.len(),
    })
}

async fn existing(node: &Node, cid: &str) -> Result<ConferenceRecord, AdminError> {
    let record = node
        .catalog
        .conference(cid)
        .await?
        .ok_or_else(|| AdminError::NotFound(cid.to_owned()))?;
    node.conference(cid)
        .await
        .map_err(unavailable)
        .map(|live| ConferenceRecord {
            status: live.status,
            ..record
        })
}

async fn announce(node: &Node, cid: &str, status: ConferenceStatus) {
    node.broadcast(
        conference_room(cid),
        event::CONFERENCE_STATUS_CHANGED,
        &ConferenceStatusChanged {
            conference_id: cid.to_owned(),
            status,
            timestamp: now_millis(),
        },
    )
    .await;
}

/// `POST /admin/conferences/{id}/activate`.
pub async fn activate(node: &Node, cid: &str) -> Result<ConferenceState, AdminError> {
    let record = existing(node, cid).await?;
    match record.status {
        ConferenceStatus::Ended => Err(AdminError::Conflict(format!(
            "conference {cid} has ended and cannot be activated again"
        ))),
        ConferenceStatus::Active => Ok(state(cid, &record, ConferenceStatus::Active)),
        ConferenceStatus::Draft => {
            node.store.set_status(cid, ConferenceStatus::Active).await?;
            node.catalog
                .set_status(cid, ConferenceStatus::Active)
                .await?;
            announce(node, cid, ConferenceStatus::Active).await;
            Ok(state(cid, &record, ConferenceStatus::Active))
        }
    }
}

/// `POST /admin/conferences/{id}/end`.
pub async fn end(node: &Node, cid: &str) -> Result<ConferenceState, AdminError> {
    let record = existing(node, cid).await?;
    if record.status == ConferenceStatus::Ended {
        return Ok(state(cid, &record, ConferenceStatus::Ended));
    }
    // Take the push lock (a push in flight finishes first; the lock lasts 5 s at most), so no
    // question can go live in the conference while it ends.
    let token = wait_for_push_lock(node, cid).await?;
    let ended = async {
        close_open_run(node, cid).await?;
        node.store.set_status(cid, ConferenceStatus::Ended).await?;
        node.catalog
            .set_status(cid, ConferenceStatus::Ended)
            .await?;
        announce(node, cid, ConferenceStatus::Ended).await;
        node.empty_rooms(cid).await;
        node.store.clear_presence(cid).await?;
        node.conference_ended_here(cid).await;
        node.cluster
            .conference_ended(&node.settings.node_id, cid)
            .await;
        Ok::<_, AdminError>(())
    }
    .await;
    if let Err(e) = node.store.unlock_push(cid, &token).await {
        tracing::warn!(conference = %cid, error = %e, "push lock not released; it expires in 5 s");
    }
    ended.map(|()| state(cid, &record, ConferenceStatus::Ended))
}

async fn wait_for_push_lock(node: &Node, cid: &str) -> Result<String, AdminError> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(token) = node.store.try_lock_push(cid, now_millis()).await? {
            return Ok(token);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AdminError::Unavailable(format!(
                "conference {cid} is busy (push lock held for 10 s); try again"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
