//! The Live Conference Runtime load generator.
//!
//! goose drives 1k to 100k Socket.IO voters against any server (by URL, through Socket.IO and
//! the Control API of D8 only) and measures what matters: vote acknowledgement latency from
//! each vote's scheduled time, fan-out delay of every broadcast to every recipient, and the
//! correctness of every question's count. Reports go to `reports/<run-id>/`.
//!
//! - [`cli`]: the `loadgen` binary's options (a run, and `loadgen merge`), importable.
//! - [`plan`]: the run decided up front (ids, shards, the seeded vote schedule).
//! - [`drive`]: voters and host on the lean client of `lcr-client`.
//! - [`attack`]: one shard under goose.
//! - [`record`]: HDR histograms, time series, spreads, tallies; mergeable snapshots.
//! - [`report`]: invariants, SLOs, `summary.json`/`.md`, `index.html` with plots, HDR logs.

pub mod attack;
pub mod cli;
pub mod drive;
pub mod plan;
pub mod record;
pub mod report;
