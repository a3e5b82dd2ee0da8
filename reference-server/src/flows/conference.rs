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

use lcr_protocol::admin::{ConferenceSpec, ConferenceState};
use lcr_protocol::event::{self, conference_room, host_room};
use lcr_protocol::server::ConferenceStatusChanged;
use lcr_protocol::{CloseReason, ConferenceStatus, now_millis};

use super::close::close_live;
use crate::catalog::ConferenceRecord;
use crate::runtime::Runtime;

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
    rt: &Runtime,
    cid: &str,
    spec: ConferenceSpec,
) -> Result<ConferenceState, AdminError> {
    spec.validate()
        .map_err(|e| AdminError::BadRequest(e.to_string()))?;
    let status = spec.status.unwrap_or(ConferenceStatus::Draft);
    rt.catalog.put_conference(cid, &spec, status).await?;
    rt.store
        .put_conference(cid, &spec.host_user_id, status)
        .await?;
    Ok(ConferenceState {
        conference_id: cid.to_owned(),
        host_user_id: spec.host_user_id,
        status,
        question_count: spec.questions.len(),
    })
}

async fn existing(rt: &Runtime, cid: &str) -> Result<ConferenceRecord, AdminError> {
    let record = rt
        .catalog
        .conference(cid)
        .await?
        .ok_or_else(|| AdminError::NotFound(cid.to_owned()))?;
    rt.conference(cid)
        .await
        .map_err(|e| AdminError::Unavailable(e.message))
        .map(|live| ConferenceRecord {
            status: live.status,
            ..record
        })
}

async fn announce(rt: &Runtime, cid: &str, status: ConferenceStatus) {
    rt.broadcast(
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
pub async fn activate(rt: &Runtime, cid: &str) -> Result<ConferenceState, AdminError> {
    let record = existing(rt, cid).await?;
    match record.status {
        ConferenceStatus::Ended => Err(AdminError::Conflict(format!(
            "conference {cid} has ended and cannot be activated again"
        ))),
        ConferenceStatus::Active => Ok(state(cid, &record, ConferenceStatus::Active)),
        ConferenceStatus::Draft => {
            rt.store.set_status(cid, ConferenceStatus::Active).await?;
            rt.catalog.set_status(cid, ConferenceStatus::Active).await?;
            announce(rt, cid, ConferenceStatus::Active).await;
            Ok(state(cid, &record, ConferenceStatus::Active))
        }
    }
}

/// `POST /admin/conferences/{id}/end`.
pub async fn end(rt: &Runtime, cid: &str) -> Result<ConferenceState, AdminError> {
    let record = existing(rt, cid).await?;
    if record.status == ConferenceStatus::Ended {
        return Ok(state(cid, &record, ConferenceStatus::Ended));
    }
    if let Some(live) = rt.store.live_question(cid).await? {
        close_live(rt, &live, CloseReason::Manual).await?;
    }
    rt.store.set_status(cid, ConferenceStatus::Ended).await?;
    rt.catalog.set_status(cid, ConferenceStatus::Ended).await?;
    announce(rt, cid, ConferenceStatus::Ended).await;
    rt.store.clear_presence(cid).await?;
    rt.counts.forget(cid);
    rt.clear_room(host_room(cid)).await;
    rt.clear_room(conference_room(cid)).await;
    Ok(state(cid, &record, ConferenceStatus::Ended))
}
