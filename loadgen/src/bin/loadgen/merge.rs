//! `loadgen merge DIR... --report-dir OUT`: one report from shard folders.

use anyhow::Context;
use loadgen::cli::MergeCli;
use loadgen::record::Snapshot;
use loadgen::report::{self, RunInfo, Summary};

/// Merges the shards' measurements and judges the whole run; true when it passed.
pub async fn merge(cli: MergeCli) -> anyhow::Result<bool> {
    let slos = super::slos(&cli.slos)?;
    let mut snaps: Vec<Snapshot> = Vec::new();
    let mut info: Option<RunInfo> = None;
    for d in &cli.dirs {
        let path = d.join("shard.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{}: no shard.json", d.display()))?;
        snaps.push(
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
        );
        if info.is_none() {
            info = Summary::read(d).ok().map(|s| s.run);
        }
    }
    let snap = Snapshot::merge(&snaps);
    let info = RunInfo {
        shards: cli.dirs.len(),
        partial: false,
        ..info.context("no summary.json in the shard directories")?
    };
    let summary = report::verdict(&snap, &info, &slos);
    report::write(&cli.report_dir, &snap, &summary)?;
    report::render::terminal::print(&cli.report_dir, &summary);
    Ok(summary.invariants_ok)
}
