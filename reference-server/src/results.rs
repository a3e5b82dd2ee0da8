//! Final results leave Redis only once written (D23): a sink, and the persister that drains
//! `results:pending` into it with retries.
//!
//! - [`MongoSink`] upserts into `conferencequestionanalytics` (D23), idempotently: writing the
//!   same run twice (a retry, or two nodes draining the same pending result) leaves one document,
//!   and an older run never overwrites a newer run of the same question.
//! - [`JsonlSink`] appends one JSON object per line, the embedded default. Each line carries the
//!   run's natural key (`conferenceId`, `questionId`, `startedAt`): after a crash between a write
//!   and its confirmation the same run may appear twice, identical, and readers keep one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Mutex, Notify};

use crate::store::{FinalRecord, RuntimeStore};

/// A sink write failed; the result stays pending and is retried.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// File system error.
    #[error("results file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Database error.
    #[error("results database: {0}")]
    Backend(String),
}

/// Where final results are written.
#[async_trait]
pub trait ResultSink: Send + Sync + 'static {
    /// Human-readable destination, for the start-up log.
    fn describe(&self) -> String;
    /// Writes one result durably; Ok means confirmed.
    async fn write(&self, record: &FinalRecord) -> Result<(), SinkError>;
}

/// Appends results to a JSON Lines file, `fsync`ed per write.
pub struct JsonlSink {
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonlSink {
    /// A sink appending to `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonlSink {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

#[async_trait]
impl ResultSink for JsonlSink {
    fn describe(&self) -> String {
        format!("JSON Lines file {}", self.path.display())
    }

    async fn write(&self, record: &FinalRecord) -> Result<(), SinkError> {
        let io = |source| SinkError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        let _guard = self.lock.lock().await;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(io)?;
        file.write_all(&line).await.map_err(io)?;
        file.sync_data().await.map_err(io)
    }
}

/// Final results in MongoDB's `conferencequestionanalytics`, one document per question (the
/// latest run), unique on `(conferenceId, questionId)`.
pub struct MongoSink {
    db: crate::mongo::MongoDb,
    indexed: tokio::sync::OnceCell<()>,
}

impl MongoSink {
    /// A sink into `db`. The unique index is created before the first write.
    pub fn new(db: crate::mongo::MongoDb) -> Self {
        MongoSink {
            db,
            indexed: tokio::sync::OnceCell::new(),
        }
    }

    /// The document D23 describes, for `record`.
    pub fn document(record: &FinalRecord) -> mongodb::bson::Document {
        use mongodb::bson::{DateTime, Document, doc};
        let counts: Document = record
            .option_counts
            .iter()
            .map(|(k, v)| (k.clone(), mongodb::bson::Bson::Int64(*v as i64)))
            .collect();
        let percentages: Document = record
            .percentage_breakdown
            .iter()
            .map(|(k, v)| (k.clone(), mongodb::bson::Bson::Double(*v)))
            .collect();
        doc! {
            "conferenceId": &record.conference_id,
            "questionId": &record.question_id,
            "totalResponses": record.total_responses as i64,
            "optionCounts": counts,
            "correctOption": &record.correct_option,
            "correctCount": record.correct_count as i64,
            "percentageBreakdown": percentages,
            "reason": record.reason.as_str(),
            "startedAt": DateTime::from_millis(record.started_at),
            "closedAt": DateTime::from_millis(record.closed_at),
            "lastUpdated": DateTime::from_millis(record.last_updated),
        }
    }
}

#[async_trait]
impl ResultSink for MongoSink {
    fn describe(&self) -> String {
        format!("MongoDB collection {}", crate::mongo::ANALYTICS)
    }

    async fn write(&self, record: &FinalRecord) -> Result<(), SinkError> {
        use mongodb::bson::{DateTime, doc};
        let backend = |e: crate::mongo::MongoError| SinkError::Backend(e.to_string());
        let analytics = self.db.collection(crate::mongo::ANALYTICS);
        self.indexed
            .get_or_try_init(|| async {
                let index = mongodb::IndexModel::builder()
                    .keys(doc! {"conferenceId": 1, "questionId": 1})
                    .options(
                        mongodb::options::IndexOptions::builder()
                            .unique(true)
                            .build(),
                    )
                    .build();
                self.db
                    .timed(analytics.create_index(index))
                    .await
                    .map(|_| ())
            })
            .await
            .map_err(backend)?;
        // Replaces the same or an older run; a newer run of the question does not match, the
        // upsert then collides with it on the unique index, and the newer result stays.
        let filter = doc! {
            "conferenceId": &record.conference_id,
            "questionId": &record.question_id,
            "startedAt": {"$lte": DateTime::from_millis(record.started_at)},
        };
        match self
            .db
            .timed(
                analytics
                    .replace_one(filter, Self::document(record))
                    .upsert(true),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::mongo::is_duplicate_key(&e) => {
                // Another document holds the question: keep it only if it is a newer run.
                let key =
                    doc! {"conferenceId": &record.conference_id, "questionId": &record.question_id};
                let stored = self
                    .db
                    .timed(analytics.find_one(key.clone()))
                    .await
                    .map_err(backend)?;
                let newer = stored
                    .as_ref()
                    .and_then(|d| d.get_datetime("startedAt").ok())
                    .is_some_and(|t| t.timestamp_millis() > record.started_at);
                if newer {
                    tracing::info!(question = %record.question_id,
                        "a newer run of this question is stored already; this result is superseded");
                } else {
                    // Written by something else, without a usable startedAt: ours replaces it.
                    self.db
                        .timed(analytics.replace_one(key, Self::document(record)))
                        .await
                        .map_err(backend)?;
                }
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }
}

/// Drains pending results into the sink; wakes on every close and every few seconds.
pub struct Persister {
    store: Arc<dyn RuntimeStore>,
    sink: Arc<dyn ResultSink>,
    wake: Notify,
}

impl Persister {
    /// A persister between a store and a sink.
    pub fn new(store: Arc<dyn RuntimeStore>, sink: Arc<dyn ResultSink>) -> Arc<Self> {
        Arc::new(Persister {
            store,
            sink,
            wake: Notify::new(),
        })
    }

    /// Where results go.
    pub fn describe(&self) -> String {
        self.sink.describe()
    }

    /// A result was frozen: write it soon.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Writes every pending result once; returns how many are still pending.
    pub async fn drain(&self) -> usize {
        let pending = match self.store.pending_results().await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read pending results");
                return usize::MAX;
            }
        };
        let mut left = 0;
        for record in pending {
            let written = self.sink.write(&record).await;
            let confirmed = match written {
                Ok(()) => self
                    .store
                    .result_persisted(&record)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match confirmed {
                Ok(()) => tracing::info!(
                    conference = %record.conference_id, question = %record.question_id,
                    total = record.total_responses, "final result written"
                ),
                Err(e) => {
                    left += 1;
                    tracing::warn!(
                        conference = %record.conference_id, question = %record.question_id,
                        error = %e, "final result not written yet; will retry"
                    );
                }
            }
        }
        left
    }

    /// Runs until `stop` resolves, retrying with backoff (0.5 s doubling to 30 s) while writes fail.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut backoff = Duration::from_millis(500);
        loop {
            let left = self.drain().await;
            let wait = if left == 0 {
                backoff = Duration::from_millis(500);
                Duration::from_secs(5)
            } else {
                let w = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                w
            };
            tokio::select! {
                _ = &mut stop => break,
                _ = self.wake.notified(), if left == 0 => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        self.drain().await;
    }
}
