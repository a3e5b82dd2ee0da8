//! The catalog in MongoDB, the existing backend's collections (protocol §11): `conferences`
//! (`_id` = conferenceId, `hostId`, `status`, `publicCode`) and `conferencequestions`
//! (`_id` = questionId, `conferenceId`, `order`, `questionText`, `options`, `correctOption`,
//! `status`).
//!
//! Reads go to MongoDB; the runtime caches what it needs in Redis (spec §2.2: host and status
//! on first use, question metadata when pushed live).

use async_trait::async_trait;
use futures_util::TryStreamExt;
use lcr_protocol::ConferenceStatus;
use lcr_protocol::admin::ConferenceSpec;
use lcr_protocol::server::QuestionOption;
use mongodb::bson::{Bson, Document, doc};

use super::{Catalog, CatalogError, ConferenceRecord};
use crate::mongo::{CONFERENCES, MongoDb, MongoError, QUESTIONS};
use crate::store::QuestionMeta;

fn backend(e: MongoError) -> CatalogError {
    CatalogError::Backend(e.to_string())
}

/// A stable six-character public code (as the existing backend's: unique, upper-case
/// alphanumeric) derived from the conference id, so writing a conference again keeps its code.
///
/// ```
/// use reference_server::catalog::public_code;
/// assert_eq!(public_code("conf-1"), public_code("conf-1"));
/// assert_eq!(public_code("conf-1").len(), 6);
/// assert!(public_code("conf-1").chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
/// ```
pub fn public_code(conference_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    // FNV-1a, 64 bits.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in conference_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (0..6)
        .map(|i| ALPHABET[((h >> (i * 5)) & 31) as usize] as char)
        .collect()
}

fn status_of(doc: &Document) -> ConferenceStatus {
    doc.get_str("status")
        .ok()
        .and_then(ConferenceStatus::parse)
        .unwrap_or(ConferenceStatus::Draft)
}

fn meta_from(doc: &Document) -> Option<QuestionMeta> {
    let options = doc
        .get_array("options")
        .ok()?
        .iter()
        .filter_map(|o| {
            let o = o.as_document()?;
            Some(QuestionOption {
                key: o.get_str("key").ok()?.to_owned(),
                text: o.get_str("text").ok()?.to_owned(),
            })
        })
        .collect();
    Some(QuestionMeta {
        conference_id: doc.get_str("conferenceId").ok()?.to_owned(),
        question_id: doc.get_str("_id").ok()?.to_owned(),
        question_text: doc.get_str("questionText").ok()?.to_owned(),
        options,
        correct_option: doc.get_str("correctOption").ok()?.to_owned(),
    })
}

/// Conferences and questions in MongoDB.
pub struct MongoCatalog {
    db: MongoDb,
}

impl MongoCatalog {
    /// A catalog in `db`.
    pub fn new(db: MongoDb) -> Self {
        MongoCatalog { db }
    }
}

#[async_trait]
impl Catalog for MongoCatalog {
    async fn put_conference(
        &self,
        conference_id: &str,
        spec: &ConferenceSpec,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError> {
        let questions = self.db.collection(QUESTIONS);
        let ids: Vec<&str> = spec
            .questions
            .iter()
            .map(|q| q.question_id.as_str())
            .collect();
        if !ids.is_empty() {
            let taken =
                self.db
                    .timed(questions.find_one(
                        doc! {"_id": {"$in": &ids}, "conferenceId": {"$ne": conference_id}},
                    ))
                    .await
                    .map_err(backend)?;
            if let Some(t) = taken {
                return Err(CatalogError::QuestionTaken {
                    question_id: t.get_str("_id").unwrap_or_default().to_owned(),
                    conference_id: t.get_str("conferenceId").unwrap_or_default().to_owned(),
                });
            }
        }
        let conference = doc! {
            "_id": conference_id,
            "hostId": &spec.host_user_id,
            "status": status.to_string(),
            "publicCode": public_code(conference_id),
        };
        self.db
            .timed(
                self.db
                    .collection(CONFERENCES)
                    .replace_one(doc! {"_id": conference_id}, conference)
                    .upsert(true),
            )
            .await
            .map_err(backend)?;
        self.db
            .timed(
                questions.delete_many(doc! {"conferenceId": conference_id, "_id": {"$nin": &ids}}),
            )
            .await
            .map_err(backend)?;
        for (order, q) in spec.questions.iter().enumerate() {
            let options: Vec<Bson> = q
                .options
                .iter()
                .map(|o| Bson::Document(doc! {"key": &o.key, "text": &o.text}))
                .collect();
            let question = doc! {
                "_id": &q.question_id,
                "conferenceId": conference_id,
                "order": order as i32,
                "questionText": &q.question_text,
                "options": options,
                "correctOption": &q.correct_option,
                "status": "IDLE",
            };
            self.db
                .timed(
                    questions
                        .replace_one(doc! {"_id": &q.question_id}, question)
                        .upsert(true),
                )
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    async fn conference(
        &self,
        conference_id: &str,
    ) -> Result<Option<ConferenceRecord>, CatalogError> {
        let Some(doc) = self
            .db
            .timed(
                self.db
                    .collection(CONFERENCES)
                    .find_one(doc! {"_id": conference_id}),
            )
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let count = self
            .db
            .timed(
                self.db
                    .collection(QUESTIONS)
                    .count_documents(doc! {"conferenceId": conference_id}),
            )
            .await
            .map_err(backend)?;
        Ok(Some(ConferenceRecord {
            host_user_id: doc.get_str("hostId").unwrap_or_default().to_owned(),
            status: status_of(&doc),
            question_count: count as usize,
        }))
    }

    async fn question(
        &self,
        conference_id: &str,
        question_id: &str,
    ) -> Result<Option<QuestionMeta>, CatalogError> {
        let found = self
            .db
            .timed(
                self.db
                    .collection(QUESTIONS)
                    .find_one(doc! {"_id": question_id, "conferenceId": conference_id}),
            )
            .await
            .map_err(backend)?;
        Ok(found.as_ref().and_then(meta_from))
    }

    async fn set_status(
        &self,
        conference_id: &str,
        status: ConferenceStatus,
    ) -> Result<(), CatalogError> {
        let mut set = doc! {"status": status.to_string()};
        if status == ConferenceStatus::Ended {
            set.insert("endedAt", mongodb::bson::DateTime::now());
        }
        self.db
            .timed(
                self.db
                    .collection(CONFERENCES)
                    .update_one(doc! {"_id": conference_id}, doc! {"$set": set}),
            )
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// Every question of a conference in `order` (for tools and tests).
pub async fn questions_of(
    db: &MongoDb,
    conference_id: &str,
) -> Result<Vec<QuestionMeta>, MongoError> {
    let cursor = db
        .timed(
            db.collection(QUESTIONS)
                .find(doc! {"conferenceId": conference_id})
                .sort(doc! {"order": 1}),
        )
        .await?;
    let docs: Vec<Document> = db.timed(cursor.try_collect()).await?;
    Ok(docs.iter().filter_map(meta_from).collect())
}
