//! Reading back what the Redis adapter stored: numbers in hash fields, and the snapshot
//! `close.lua` freezes into `results:pending`. A value of the wrong shape is
//! [`StoreError::Corrupt`].

use std::collections::{BTreeMap, HashMap};

use lcr_protocol::server::QuestionOption;
use lcr_protocol::{CloseReason, Millis};
use serde::Deserialize;

use crate::store::keys;
use crate::store::{FinalRecord, LiveRun, StoreError, StoreResult, Tally};

/// A value at `key` without the shape the store wrote.
pub(super) fn corrupt(key: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// Hash field `field` of `key`, a number.
pub(super) fn parse_num<T: std::str::FromStr>(
    key: &str,
    field: &str,
    v: Option<&String>,
) -> StoreResult<T> {
    v.and_then(|s| s.parse().ok())
        .ok_or_else(|| corrupt(key, format!("field {field} missing or not a number")))
}

/// The snapshot `close.lua` freezes into `results:pending`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    conference_id: String,
    question_id: String,
    started_at: String,
    closed_at: String,
    reason: String,
    /// HGETALL of votes:counts: field, value, field, value…
    counts: serde_json::Value,
    correct: String,
    options: String,
    correct_option: String,
}

impl Snapshot {
    fn into_record(self) -> StoreResult<FinalRecord> {
        let key = keys::PENDING_RESULTS;
        let options: Vec<QuestionOption> =
            serde_json::from_str(&self.options).map_err(|e| corrupt(key, e.to_string()))?;
        let flat: Vec<String> = match self.counts {
            serde_json::Value::Array(items) => items
                .into_iter()
                .map(|v| v.as_str().map(str::to_owned).unwrap_or_default())
                .collect(),
            // cjson encodes an empty table as an object.
            _ => Vec::new(),
        };
        let stored: HashMap<&str, u64> = flat
            .chunks(2)
            .filter_map(|kv| Some((kv.first()?.as_str(), kv.get(1)?.parse().ok()?)))
            .collect();
        let mut counts: BTreeMap<String, u64> = options
            .iter()
            .map(|o| {
                (
                    o.key.clone(),
                    stored.get(o.key.as_str()).copied().unwrap_or(0),
                )
            })
            .collect();
        if options.is_empty() {
            counts = stored
                .iter()
                .filter(|(k, _)| **k != "total")
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect();
        }
        let total = stored.get("total").copied().unwrap_or(0);
        let run = LiveRun {
            conference_id: self.conference_id,
            question_id: self.question_id,
            started_at: self
                .started_at
                .parse()
                .map_err(|_| corrupt(key, "startedAt"))?,
            expires_at: 0,
            duration: 0,
        };
        let reason = CloseReason::parse(&self.reason).ok_or_else(|| corrupt(key, "reason"))?;
        let closed_at: Millis = self
            .closed_at
            .parse()
            .map_err(|_| corrupt(key, "closedAt"))?;
        Ok(FinalRecord::new(
            &run,
            &self.correct_option,
            Tally { total, counts },
            self.correct.parse().unwrap_or(0),
            reason,
            closed_at,
        ))
    }
}

/// The [`FinalRecord`] of a snapshot `close.lua` froze.
pub(super) fn parse_snapshot(s: &str) -> StoreResult<FinalRecord> {
    serde_json::from_str::<Snapshot>(s)
        .map_err(|e| corrupt(keys::PENDING_RESULTS, e.to_string()))?
        .into_record()
}
