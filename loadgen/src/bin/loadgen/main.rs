//! `loadgen`: runs a load test (one process, `--workers K` child processes, or one `--shard I/N`
//! of a run spread over machines) and writes its report; `loadgen merge DIR...` merges shards;
//! `loadgen compare A B` compares two reports; `loadgen capacity` steps the audience up to the
//! knee, a run per step; `loadgen floor` measures the kernel's floor for a fan-out on this box.
//!
//! Its options are [`loadgen::cli`]'s; the server under test is chosen by `lcr-profile`; what
//! the audience does is [`loadgen::workload`]'s.

mod capacity;
mod compare;
mod created;
mod merge;
mod run;
mod workers;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use loadgen::cli::{Cli, CompareCli, FloorCli, MergeCli};
use loadgen::report::{self, Slo};

/// The async runtime (see [`reference_server::tokio_runtime`]).
fn runtime(threads: Option<u16>) -> anyhow::Result<tokio::runtime::Runtime> {
    reference_server::tokio_runtime(threads).context("cannot start the async runtime")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let outcome = match args.get(1).map(String::as_str) {
        Some("capacity") => {
            return match capacity::capacity(&args[2..]) {
                Ok(code) => ExitCode::from(code),
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
        Some("merge") => {
            let cli = MergeCli::parse_from(args.iter().skip(1));
            runtime(None).and_then(|rt| rt.block_on(merge::merge(cli)))
        }
        Some("compare") => compare::compare(CompareCli::parse_from(args.iter().skip(1))),
        Some("floor") => loadgen::floor::run(&FloorCli::parse_from(args.iter().skip(1)))
            .map(|floor| {
                if let Some(floor) = floor {
                    println!("{floor}");
                }
                true
            })
            .map_err(anyhow::Error::from),
        _ => {
            let mut cli = Cli::parse();
            cli.settle_shard()
                .map_err(anyhow::Error::msg)
                .and_then(|()| run::pin_if_asked(&cli))
                .and_then(|()| runtime(cli.worker_threads))
                .and_then(|rt| rt.block_on(run::run(cli, args)))
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The SLOs given on the command line.
fn slos(texts: &[String]) -> anyhow::Result<Vec<Slo>> {
    texts
        .iter()
        .map(|t| report::parse_slo(t).map_err(anyhow::Error::msg))
        .collect()
}
