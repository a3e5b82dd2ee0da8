//! The catalog in Redis, for several nodes without MongoDB: one JSON document per conference
//! (`catalog:conference:{id}`) and the owner of every question id (`catalog:question_owner`).

use async_trait::async_trait;
use fred::prelude::*;
use lcr_protocol::ConferenceStatus;
use lcr_protocol::admin::ConferenceSpec;
use serde::{Deserialize, Serialize};

use super::{Catalog, CatalogError, ConferenceRecord, meta_of};
use crate::store::QuestionMeta;

const OWNERS: &str = "catalog:question_owner";

fn key(conference_id: &str) -> String {
    format!("catalog:conference:{conference_id}")
}

#[derive(Serialize, Deserialize)]
struct Document {
    spec: ConferenceSpec,
    status: ConferenceStatus,
}

fn backend(e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Backend(e.to_string())
}

/// Conferences in Redis, shared by every node on it.
pub struct RedisCatalog {
    pool: Pool,
}

impl RedisCatalog {
    /// A catalog on `pool`'s Redis.
    pub fn new(pool: Pool) -> Self {
        RedisCatalog { pool }
    }

    async fn document(&self, conference_id: &str) -> Result<Option<Document>, CatalogError> {
        let raw: Option<String> = self
            .pool
            .next()
            .get(key(conference_id))
            .await
            .map_err(backend)?;
        raw.map(|r| serde_json::from_str(&r).map_err(backend))
            .transpose()
    }
}

#[async_trait]
impl Catalog for RedisCatalog {
    async fn put_conference(
        &self,
        conference_id: &str,
        spec: &ConferenceSpec,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError> {
        for q in &spec.questions {
            let owner: Option<String> = self
                .pool
                .next()
                .hget(OWNERS, q.question_id.as_str())
                .await
                .map_err(backend)?;
            if let Some(other) = owner.filter(|o| o != conference_id) {
                // The owner may have been replaced without this question since.
                let still = self.document(&other).await?.is_some_and(|d| {
                    d.spec
                        .questions
                        .iter()
                        .any(|o| o.question_id == q.question_id)
                });
                if still {
                    return Err(CatalogError::QuestionTaken {
                        question_id: q.question_id.clone(),
                        conference_id: other,
                    });
                }
            }
        }
        let doc = serde_json::to_string(&Document {
            spec: spec.clone(),
            status,
        })
        .map_err(backend)?;
        let _: () = self
            .pool
            .next()
            .set(key(conference_id), doc, None, None, false)
            .await
            .map_err(backend)?;
        if !spec.questions.is_empty() {
            let owners: Vec<(String, String)> = spec
                .questions
                .iter()
                .map(|q| (q.question_id.clone(), conference_id.to_owned()))
                .collect();
            let _: () = self
                .pool
                .next()
                .hset(OWNERS, owners)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn conference(
        &self,
        conference_id: &str,
    ) -> Result<Option<ConferenceRecord>, CatalogError> {
        Ok(self
            .document(conference_id)
            .await?
            .map(|d| ConferenceRecord {
                host_user_id: d.spec.host_user_id,
                status: d.status,
                question_count: d.spec.questions.len(),
            }))
    }

    async fn question(
        &self,
        conference_id: &str,
        question_id: &str,
    ) -> Result<Option<QuestionMeta>, CatalogError> {
        Ok(self
            .document(conference_id)
            .await?
            .and_then(|d| meta_of(conference_id, &d.spec, question_id)))
    }

    async fn set_status(
        &self,
        conference_id: &str,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError> {
        if let Some(mut d) = self.document(conference_id).await? {
            d.status = status;
            let doc = serde_json::to_string(&d).map_err(backend)?;
            let _: () = self
                .pool
                .next()
                .set(key(conference_id), doc, None, None, false)
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}
