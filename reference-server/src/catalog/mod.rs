//! Where conferences and questions come from: the question source of spec §11 ("MongoDB remains
//! source of truth"). The Control API (D8) writes here; flows read questions when pushing live.
//!
//! - [`MemoryCatalog`]: the embedded default, one node.
//! - [`RedisCatalog`]: several nodes on Redis without MongoDB share it.
//! - [`MongoCatalog`]: the collections `conferences` and `conferencequestions` (protocol §11),
//!   what production uses.

use async_trait::async_trait;
use lcr_protocol::ConferenceStatus;
use lcr_protocol::admin::ConferenceSpec;

use crate::store::QuestionMeta;

mod memory;
mod mongo;
mod redis;

pub use memory::MemoryCatalog;
pub use mongo::{MongoCatalog, public_code, questions_of};
pub use redis::RedisCatalog;

/// A catalog call failed.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The backing database failed.
    #[error("catalog backend: {0}")]
    Backend(String),
    /// A question id already belongs to another conference. The runtime keys of spec §2 are
    /// `question:{questionId}:…`, so question ids must be unique across conferences.
    #[error("questionId {question_id} already belongs to conference {conference_id}")]
    QuestionTaken {
        /// The question id.
        question_id: String,
        /// The conference that has it.
        conference_id: String,
    },
}

/// A conference as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceRecord {
    /// Its host.
    pub host_user_id: String,
    /// Its status.
    pub status: ConferenceStatus,
    /// How many questions it holds.
    pub question_count: usize,
}

/// Conference and question metadata.
#[async_trait]
pub trait Catalog: Send + Sync + 'static {
    /// Creates or replaces a conference and all its questions.
    async fn put_conference(
        &self,
        conference_id: &str,
        spec: &ConferenceSpec,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError>;
    /// The conference, if it exists.
    async fn conference(
        &self,
        conference_id: &str,
    ) -> Result<Option<ConferenceRecord>, CatalogError>;
    /// One question of one conference.
    async fn question(
        &self,
        conference_id: &str,
        question_id: &str,
    ) -> Result<Option<QuestionMeta>, CatalogError>;
    /// Records a status change.
    async fn set_status(
        &self,
        conference_id: &str,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError>;
}

/// The question `question_id` of `spec`, as the runtime caches it.
pub(crate) fn meta_of(
    conference_id: &str,
    spec: &ConferenceSpec,
    question_id: &str,
) -> Option<QuestionMeta> {
    spec.questions
        .iter()
        .find(|q| q.question_id == question_id)
        .map(|q| QuestionMeta {
            conference_id: conference_id.to_owned(),
            question_id: q.question_id.clone(),
            question_text: q.question_text.clone(),
            options: q.options.clone(),
            correct_option: q.correct_option.clone(),
        })
}
