//! A run's report folder as a comparison reads it: `summary.json` for every figure and
//! invariant, and `shard.json` only for the whole-run histograms behind the
//! latency-by-percentile plots. Either may come from another loadgen version: a summary field
//! that does not read is left out and said so (its figures then count as missing, which trips
//! a rule on them), and a missing or unreadable `shard.json` only costs the plots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::CompareError;
use crate::record::Snapshot;
use crate::report::Summary;
use crate::report::render::plot::by_percentile;

/// Latency by percentile (x in nines, y in ms) per metric.
pub type Curves = BTreeMap<String, Vec<(f64, f64)>>;

/// One run's report folder, read.
#[derive(Debug, Clone)]
pub struct Report {
    /// The folder, as given.
    pub dir: PathBuf,
    /// Its `summary.json` (fields that did not read left at their defaults).
    pub summary: Summary,
    /// Per metric with samples, from `shard.json`; `None` without a readable one.
    pub curves: Option<Curves>,
    /// What could not be read, in sentences for the page.
    pub notes: Vec<String>,
}

/// Top-level fields of which a summary must have one: `{}` or another tool's JSON is not a run.
const SUMMARY_MARKS: [&str; 3] = ["run", "metrics", "invariantsOk"];

/// Reads the report folder `dir` of run `side` ("A" or "B").
pub fn read(side: &str, dir: &Path) -> Result<Report, CompareError> {
    if !dir.is_dir() {
        return Err(CompareError::NoFolder {
            side: side.to_owned(),
            dir: dir.to_owned(),
            exists: dir.exists(),
        });
    }
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => CompareError::NoSummary {
            side: side.to_owned(),
            dir: dir.to_owned(),
        },
        _ => CompareError::Read {
            side: side.to_owned(),
            path: path.clone(),
            source,
        },
    })?;
    let (summary, dropped) = lenient(&text).map_err(|detail| CompareError::Malformed {
        side: side.to_owned(),
        path: path.clone(),
        detail,
    })?;
    let mut notes = Vec::new();
    if !dropped.is_empty() {
        notes.push(format!(
            "summary.json fields this version cannot read, left out: {} (a figure from them counts as missing)",
            dropped.join(", ")
        ));
    }
    let curves = match curves(&dir.join("shard.json")) {
        Ok(c) => Some(c),
        Err(why) => {
            notes.push(format!(
                "{why}: its latency-by-percentile plots are left out (every figure still comes from summary.json)"
            ));
            None
        }
    };
    Ok(Report {
        dir: dir.to_owned(),
        summary,
        curves,
        notes,
    })
}

/// `summary.json` read field by field: the fields that do not read as this version's (another
/// version's shape) are left out and named.
///
/// ```
/// use loadgen::compare::source::lenient;
/// let (s, dropped) = lenient(r#"{"invariantsOk": true, "metrics": [1, 2], "voters": 5, "newField": 1}"#).unwrap();
/// assert_eq!((s.invariants_ok, s.voters, s.metrics.len()), (true, 5, 0));
/// assert_eq!(dropped, ["metrics"]);
/// assert!(lenient("[]").is_err() && lenient("{}").is_err() && lenient("not json").is_err());
/// ```
pub fn lenient(text: &str) -> Result<(Summary, Vec<String>), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("not a JSON object".to_owned());
    };
    if !SUMMARY_MARKS.iter().any(|k| map.contains_key(*k)) {
        return Err(format!(
            "none of the fields of a loadgen summary ({})",
            SUMMARY_MARKS.join(", ")
        ));
    }
    let mut kept = Map::new();
    let mut dropped = Vec::new();
    for (k, v) in map {
        // Every field of `Summary` has a default, so each can be tried alone.
        let alone = Value::Object(Map::from_iter([(k.clone(), v)]));
        match serde_json::from_value::<Summary>(alone.clone()) {
            Ok(_) => {
                if let Value::Object(m) = alone {
                    kept.extend(m);
                }
            }
            Err(_) => dropped.push(k),
        }
    }
    serde_json::from_value(Value::Object(kept))
        .map(|s| (s, dropped))
        .map_err(|e| e.to_string())
}

/// The latency-by-percentile curve of every metric with samples in `shard.json`.
fn curves(path: &Path) -> Result<Curves, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("no shard.json".to_owned());
        }
        Err(e) => return Err(format!("shard.json unreadable ({e})")),
    };
    let snap: Snapshot =
        serde_json::from_str(&text).map_err(|e| format!("shard.json unreadable ({e})"))?;
    let curves: Curves = snap
        .histograms
        .keys()
        .filter_map(|m| {
            let h = snap.histogram(m)?;
            (!h.is_empty()).then(|| (m.clone(), by_percentile(&h)))
        })
        .collect();
    if curves.is_empty() {
        return Err("no histogram in shard.json".to_owned());
    }
    Ok(curves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::codec::{encode, new_hist};

    fn folder(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lg-source-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_folder_without_shard_json_still_reads_without_plots() {
        let d = folder("no-shard");
        std::fs::write(d.join("summary.json"), r#"{"invariantsOk": true}"#).unwrap();
        let r = read("A", &d).unwrap();
        assert!(r.summary.invariants_ok && r.curves.is_none());
        assert!(
            r.notes[0].starts_with("no shard.json: its latency-by-percentile plots are left out")
        );
        std::fs::write(d.join("shard.json"), "{ truncated").unwrap();
        let r = read("A", &d).unwrap();
        assert!(
            r.notes[0].starts_with("shard.json unreadable"),
            "{:?}",
            r.notes
        );
        let mut h = new_hist();
        h.record(1500).unwrap();
        let snap = Snapshot {
            histograms: [
                ("vote_ack".to_string(), encode(&h)),
                ("join".to_string(), encode(&new_hist())),
            ]
            .into(),
            ..Snapshot::default()
        };
        std::fs::write(d.join("shard.json"), serde_json::to_string(&snap).unwrap()).unwrap();
        let r = read("A", &d).unwrap();
        let curves = r.curves.unwrap();
        assert_eq!(
            curves.keys().collect::<Vec<_>>(),
            ["vote_ack"],
            "empty ones left out"
        );
        assert!((curves["vote_ack"][0].1 - 1.5).abs() < 0.01);
        assert!(r.notes.is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn missing_and_malformed_folders_are_errors_that_name_them() {
        let d = folder("bad");
        let gone = d.join("nothing-here");
        let e = read("B", &gone).unwrap_err().to_string();
        assert!(
            e.contains("run B") && e.contains("nothing-here") && e.contains("no such folder"),
            "{e}"
        );
        let e = read("A", &d).unwrap_err().to_string();
        assert!(
            e.contains("run A") && e.contains("holds no summary.json"),
            "{e}"
        );
        std::fs::write(d.join("summary.json"), "[1]").unwrap();
        let e = read("A", &d).unwrap_err().to_string();
        assert!(e.contains("not a JSON object"), "{e}");
        let file = d.join("summary.json");
        let e = read("A", &file).unwrap_err().to_string();
        assert!(e.contains("not a folder"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn another_versions_summary_reads_what_it_can() {
        let (s, dropped) = lenient(
            r#"{"run": {"runId": "old", "servers": [[1, 2, 3.0]]}, "metrics": {"vote_ack": {"count": 2, "p99": 3.5, "p42": 1}},
                "delivery": "gone", "questions": [{"questionId": "q", "ok": "yes"}]}"#,
        )
        .unwrap();
        assert_eq!(s.run.run_id, "old");
        assert_eq!(s.metrics["vote_ack"].p99, 3.5);
        assert_eq!(dropped, ["delivery", "questions"]);
    }
}
