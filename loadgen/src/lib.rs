//! The Live Conference Runtime load generator.
//!
//! goose drives 1k to 100k Socket.IO voters against any server (by URL, through Socket.IO and a
//! target profile's fixture only) and measures what matters: vote acknowledgement latency from
//! each vote's due time, fan-out delay of every broadcast to every recipient (corrected for the
//! servers' clock offset when they run elsewhere), and the correctness of every conference:
//! each question's counts, and each voter's broadcasts while it was in the room. What the
//! audience does comes from a workload: many conferences of varied sizes, bursts of votes,
//! late joiners, leaves and reconnect storms. Reports go to `reports/<run-id>/`.
//!
//! - [`cli`]: the `loadgen` binary's options (a run, `merge`, `compare`, `capacity`, `floor`),
//!   importable.
//! - [`workload`]: what the audience does (`--workload` TOML).
//! - [`plan`]: the run decided up front (conferences, ids, shards, every voter's part).
//! - [`drive`]: voters and hosts on the lean client of `lcr-client`.
//! - [`attack`]: one shard under goose.
//! - [`clock`]: the servers' clock offset, from vote answers.
//! - [`record`]: HDR histograms, time series, spreads, tallies, sessions; mergeable snapshots.
//! - [`report`]: the verdict, `summary.json`, `summary.md`, `index.html` with plots, HDR logs.
//! - [`compare`]: two runs' reports side by side (`loadgen compare`), with `--fail-if` rules.
//! - [`capacity`]: `loadgen capacity`, the audience stepped up to the knee.
//! - [`floor`]: `loadgen floor`, the kernel's floor for a fan-out on this box.
//! - [`progress`]: the live progress line.

pub mod attack;
pub mod capacity;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod drive;
pub mod floor;
pub mod plan;
pub mod progress;
pub mod record;
pub mod report;
pub mod workload;
