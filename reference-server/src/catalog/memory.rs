//! The embedded catalog.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use lcr_protocol::ConferenceStatus;
use lcr_protocol::admin::ConferenceSpec;

use super::{Catalog, CatalogError, ConferenceRecord, meta_of};
use crate::store::QuestionMeta;

/// The embedded catalog: conferences in a map.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use reference_server::catalog::{Catalog, MemoryCatalog};
/// use lcr_protocol::{admin::ConferenceSpec, ConferenceStatus};
/// let catalog = MemoryCatalog::default();
/// let spec = ConferenceSpec { host_user_id: "hana".into(), status: None, questions: vec![] };
/// catalog.put_conference("c1", &spec, ConferenceStatus::Draft).await.unwrap();
/// assert_eq!(catalog.conference("c1").await.unwrap().unwrap().host_user_id, "hana");
/// assert!(catalog.question("c1", "q1").await.unwrap().is_none());
/// # });
/// ```
#[derive(Default)]
pub struct MemoryCatalog {
    conferences: RwLock<HashMap<String, (ConferenceSpec, ConferenceStatus)>>,
}

#[async_trait]
impl Catalog for MemoryCatalog {
    async fn put_conference(
        &self,
        conference_id: &str,
        spec: &ConferenceSpec,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError> {
        let mut map = self.conferences.write().unwrap_or_else(|p| p.into_inner());
        for (other, (other_spec, _)) in map.iter().filter(|(id, _)| *id != conference_id) {
            if let Some(q) = spec.questions.iter().find(|q| {
                other_spec
                    .questions
                    .iter()
                    .any(|o| o.question_id == q.question_id)
            }) {
                return Err(CatalogError::QuestionTaken {
                    question_id: q.question_id.clone(),
                    conference_id: other.clone(),
                });
            }
        }
        map.insert(conference_id.to_owned(), (spec.clone(), status));
        Ok(())
    }

    async fn conference(
        &self,
        conference_id: &str,
    ) -> Result<Option<ConferenceRecord>, CatalogError> {
        let map = self.conferences.read().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .get(conference_id)
            .map(|(spec, status)| ConferenceRecord {
                host_user_id: spec.host_user_id.clone(),
                status: *status,
                question_count: spec.questions.len(),
            }))
    }

    async fn question(
        &self,
        conference_id: &str,
        question_id: &str,
    ) -> Result<Option<QuestionMeta>, CatalogError> {
        let map = self.conferences.read().unwrap_or_else(|p| p.into_inner());
        Ok(map
            .get(conference_id)
            .and_then(|(spec, _)| meta_of(conference_id, spec, question_id)))
    }

    async fn set_status(
        &self,
        conference_id: &str,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError> {
        if let Some(entry) = self
            .conferences
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(conference_id)
        {
            entry.1 = status;
        }
        Ok(())
    }
}
