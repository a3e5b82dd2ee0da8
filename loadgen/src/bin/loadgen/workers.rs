//! A run over several processes on this machine: the parent starts one worker per shard (this
//! binary again, with `--shard I/N`) and collects their measurements.

use std::path::Path;

use anyhow::Context;
use loadgen::record::Snapshot;

/// Runs the shards as child processes of this binary and collects their snapshots.
pub async fn run_workers(
    argv: &[String],
    workers: usize,
    run_id: &str,
    dir: &Path,
    targets: &[String],
    secrets: Option<(String, String)>,
    server_pids: &str,
) -> anyhow::Result<Vec<Snapshot>> {
    let exe = std::env::current_exe()?;
    // Keep the user's options but the ones the parent decides for its children.
    let skip_value = [
        "--workers",
        "--report-dir",
        "--run-id",
        "--target",
        "--shard",
        "--shards",
        "--shard-index",
        "--created",
        "--report-file",
        "--server-pid",
    ];
    let mut keep = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if skip_value.contains(&a.as_str()) {
            it.next();
        } else if !skip_value.iter().any(|s| a.starts_with(&format!("{s}="))) && a != "--no-setup" {
            keep.push(a.clone());
        }
    }
    let mut children = Vec::new();
    let created = dir.join("created.json");
    for i in 0..workers {
        let shard_dir = dir.join(format!("shard-{i}"));
        let mut command = tokio::process::Command::new(&exe);
        // What the parent decides for its children, not the environment it was given.
        for var in [
            "JOB_COMPLETION_INDEX",
            "LOADGEN_SHARDS",
            "LOADGEN_REPORT_DIR",
            "LOADGEN_RUN_ID",
            "LOADGEN_CREATED",
        ] {
            command.env_remove(var);
        }
        // The first worker runs the faults; their commands may need the servers' processes.
        command.env("LOADGEN_SERVER_PIDS", server_pids);
        if let Some((secret, admin)) = &secrets {
            command.env("JWT_SECRET", secret).env("ADMIN_TOKEN", admin);
        }
        if created.is_file() {
            command.arg("--created").arg(&created);
        }
        let child = command
            .args(&keep)
            .args([
                "--shard",
                &format!("{i}/{workers}"),
                "--workers",
                "1",
                "--run-id",
                run_id,
                "--no-setup",
            ])
            .arg("--report-dir")
            .arg(&shard_dir)
            .args(
                targets
                    .iter()
                    .flat_map(|t| ["--target".to_owned(), t.clone()]),
            )
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting worker {i}"))?;
        children.push((i, shard_dir, child));
    }
    let mut snaps = Vec::new();
    for (i, shard_dir, mut child) in children {
        let status = child.wait().await?;
        eprintln!("[loadgen] worker {i} exited with {status}");
        let mut snap: Snapshot = match std::fs::read_to_string(shard_dir.join("shard.json")) {
            Ok(text) => serde_json::from_str(&text)?,
            Err(_) => Snapshot {
                problems: vec![format!("worker {i} wrote no shard.json")],
                ..Snapshot::default()
            },
        };
        // Exit 1 is a worker's own verdict, already in its snapshot; anything else is a failure
        // the snapshot cannot tell.
        if !matches!(status.code(), Some(0 | 1)) {
            snap.problems
                .push(format!("worker {i} exited with {status}"));
        }
        snaps.push(snap);
    }
    Ok(snaps)
}
