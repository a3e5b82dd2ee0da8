//! `conformance matrix PROFILE...`: the suite against several servers, then one page comparing
//! them ([`crate::report::matrix`]). Each profile runs as a child process of this binary with
//! its own report folder, so one server's failure never stops the others.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context;
use futures_util::StreamExt;

use crate::cli::Matrix as MatrixCli;
use crate::report::Report;
use crate::report::matrix::{Column, Matrix};
use crate::run::slug;

/// Runs every profile, writes `index.html` and `index.json`; true when no server failed a
/// scenario it claims.
///
/// # Errors
///
/// When a run cannot start or writes no report.
pub async fn run(cli: MatrixCli) -> anyhow::Result<bool> {
    std::fs::create_dir_all(&cli.report_dir)
        .with_context(|| format!("creating {}", cli.report_dir.display()))?;
    let exe = std::env::current_exe().context("finding the conformance binary")?;
    let mut dirs: Vec<(PathBuf, String)> = Vec::new();
    for profile in &cli.profiles {
        let mut name = slug(profile);
        while dirs.iter().any(|(_, d)| *d == name) {
            name.push('_');
        }
        dirs.push((profile.clone(), name));
    }
    let runs = futures_util::stream::iter(dirs.iter().map(|(profile, dir)| {
        let (exe, out) = (exe.clone(), cli.report_dir.join(dir));
        let args = cli.suite_args.clone();
        async move {
            let log = std::fs::File::create(out.with_extension("log"))
                .with_context(|| format!("creating {}.log", out.display()))?;
            let status = tokio::process::Command::new(&exe)
                .arg("--profile")
                .arg(profile)
                .arg("--report-dir")
                .arg(&out)
                .args(&args)
                .stdout(Stdio::from(log.try_clone()?))
                .stderr(Stdio::from(log))
                .kill_on_drop(true)
                .status()
                .await
                .with_context(|| format!("running the suite for {}", profile.display()))?;
            eprintln!(
                "conformance matrix: {} → {} ({status})",
                profile.display(),
                out.display()
            );
            anyhow::Ok(status)
        }
    }))
    .buffered(cli.jobs.max(1))
    .collect::<Vec<_>>()
    .await;
    let mut columns = Vec::new();
    for ((profile, dir), status) in dirs.iter().zip(runs) {
        let status = status?;
        let path = cli.report_dir.join(dir).join("report.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "{} wrote no report ({status}); its log: {}",
                profile.display(),
                cli.report_dir.join(dir).with_extension("log").display()
            )
        })?;
        let report: Report =
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        columns.push(Column {
            name: report.profile.clone(),
            report_dir: dir.clone(),
            report,
        });
    }
    let matrix = Matrix::new(columns);
    std::fs::write(cli.report_dir.join("index.html"), matrix.html())?;
    std::fs::write(cli.report_dir.join("index.json"), matrix.json())?;
    for (c, s) in matrix.columns.iter().zip(&matrix.summaries) {
        eprintln!(
            "conformance matrix: {:<50} {} passed, {} failed, {} not claimed, {} not applicable",
            c.name, s.passed, s.failed, s.not_claimed, s.not_applicable
        );
    }
    eprintln!(
        "conformance matrix: {}",
        cli.report_dir.join("index.html").display()
    );
    Ok(matrix.summaries.iter().all(|s| s.failed == 0))
}
