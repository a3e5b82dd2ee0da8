//! The verdict and the report of a run (one shard, or shards merged): invariants per conference
//! and question, each session against the broadcasts it was owed, SLOs, `summary.json`
//! ([`Summary`]), `summary.md`, `index.html` with SVG plots, and an HDR interval log per metric.

mod delivery;
pub mod faults;
pub mod hlog;
pub mod render;
mod slo;
pub mod summary;
mod verdict;

use std::path::Path;

use crate::record::Snapshot;

pub use slo::{Slo, parse_slo};
pub use summary::{ConferenceInfo, MetricStats, RunInfo, Summary};
pub use verdict::verdict;

/// Writes the report of `snap` into `dir`: `summary.json`, `summary.md`, `index.html`, the HDR
/// logs, and `shard.json` (the measurements, mergeable and comparable).
pub fn write(dir: &Path, snap: &Snapshot, summary: &Summary) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("shard.json"), serde_json::to_string(snap)?)?;
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(summary)?,
    )?;
    std::fs::write(dir.join("summary.md"), render::markdown::markdown(summary))?;
    std::fs::write(dir.join("index.html"), render::html::html(snap, summary))?;
    hlog::write(dir, snap)
}

#[cfg(test)]
mod tests;
