//! The MongoDB connection (D23): the database holding the existing backend's collections
//! (protocol §11), with every call timed into `lcr_mongo_call_seconds`.
//!
//! - `conferences`: `{ _id: conferenceId, hostId, status, publicCode, endedAt? }`
//! - `conferencequestions`: `{ _id: questionId, conferenceId, order, questionText,
//!   options: [{key, text}], correctOption, status }`
//! - `conferencequestionanalytics`: one final result per question (D23), unique on
//!   `(conferenceId, questionId)`.
//!
//! Tests run against a MongoDB-wire server (`nx-27017`); production uses MongoDB itself.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mongodb::bson::{Document, doc};
use mongodb::{Client, Collection, Database};

use crate::metrics::Histogram;

/// Collection of conferences.
pub const CONFERENCES: &str = "conferences";
/// Collection of questions.
pub const QUESTIONS: &str = "conferencequestions";
/// Collection of final results (D23).
pub const ANALYTICS: &str = "conferencequestionanalytics";

/// A MongoDB call failed.
#[derive(Debug, thiserror::Error)]
pub enum MongoError {
    /// The driver's error (unreachable server, timeout, write error…).
    #[error("mongodb: {0}")]
    Driver(#[from] mongodb::error::Error),
}

/// One database on one MongoDB deployment, shared by the catalog and the results sink.
#[derive(Clone)]
pub struct MongoDb {
    db: Database,
    calls: Arc<Histogram>,
}

impl MongoDb {
    /// Connects to `url` (`mongodb://host:port`; server selection fails after 5 s unless the
    /// URL says otherwise) and uses database `name`. The driver reconnects by itself, so a
    /// MongoDB that is down at start-up only delays catalog reads and result writes.
    pub async fn connect(url: &str, name: &str, calls: Arc<Histogram>) -> Result<Self, MongoError> {
        let mut options = mongodb::options::ClientOptions::parse(url).await?;
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(5));
        options
            .connect_timeout
            .get_or_insert(Duration::from_secs(2));
        options
            .app_name
            .get_or_insert_with(|| "lcr-reference-server".into());
        let client = Client::with_options(options)?;
        Ok(MongoDb {
            db: client.database(name),
            calls,
        })
    }

    /// A collection of plain documents.
    pub fn collection(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    /// Runs one call, timing it.
    pub async fn timed<T, F>(&self, call: F) -> Result<T, MongoError>
    where
        F: IntoFuture<Output = Result<T, mongodb::error::Error>>,
    {
        let started = Instant::now();
        let out = call.await;
        self.calls.record(started.elapsed());
        Ok(out?)
    }

    /// `{ping: 1}`.
    pub async fn ping(&self) -> Result<(), MongoError> {
        self.timed(self.db.run_command(doc! {"ping": 1}))
            .await
            .map(|_| ())
    }
}

/// Whether `e` is a duplicate-key write error (code 11000).
pub fn is_duplicate_key(e: &MongoError) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    let MongoError::Driver(e) = e;
    matches!(&*e.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000)
}
