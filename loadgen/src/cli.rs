//! `loadgen`'s command line: a run ([`Cli`]), `loadgen merge` ([`MergeCli`]) and `loadgen compare`
//! ([`CompareCli`]). Public so that
//! other crates can check against the real flags (`lcr-deploy`'s compose test reads them through
//! [`clap::CommandFactory`]).
//!
//! ```
//! use clap::Parser;
//! let cli = loadgen::cli::Cli::parse_from(["loadgen", "--voters", "10", "--shard", "1/2"]);
//! assert_eq!((cli.voters, cli.shard), (Some(10), Some((1, 2))));
//! assert!(cli.targets.is_empty(), "no --target: the reference server in process");
//! assert_eq!(cli.workload().unwrap().voters(), 10);
//! ```

use std::path::PathBuf;

use clap::Parser;

use crate::clock::ClockMode;
use crate::plan::Spread;
use crate::workload::{Close, Durations, Sizes, Workload, WorkloadError};

/// Drive N voters through Q questions against a Live Conference Runtime server and report.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "loadgen",
    disable_version_flag = true,
    after_help = "Goose's own options (users, ramp, thresholds, reports) are accepted too; see goose's documentation. Subcommands: `loadgen merge DIR... --report-dir OUT` merges shard directories; `loadgen compare A B` compares two reports; `loadgen capacity` steps the audience up to the knee (each with --help)."
)]
pub struct Cli {
    /// The target profile (TOML): where the server is or how to start it, how its users get
    /// tokens, how a conference is created (docs/profiles.md). The flags below override it.
    #[arg(long, env = "LOADGEN_PROFILE")]
    pub profile: Option<PathBuf>,
    /// The conference a parent process or another shard created (`created.json` in its report
    /// folder): its ids as the server knows them. A shard that does not create the conference
    /// waits for this file (up to `--created-wait` seconds), so shards may start together.
    #[arg(long, env = "LOADGEN_CREATED")]
    pub created: Option<PathBuf>,
    /// Seconds a shard waits for the `--created` file to appear.
    #[arg(long, default_value_t = 120)]
    pub created_wait: u64,
    /// Target base URL (repeat to spread voters over several servers). Without it (and without
    /// a profile) the reference server runs in process.
    #[arg(long = "target", env = "LOADGEN_TARGET", value_delimiter = ',')]
    pub targets: Vec<String>,
    /// HS256 secret of the target (required with --target and no profile).
    #[arg(long, env = "JWT_SECRET")]
    pub jwt_secret: Option<String>,
    /// Control API token of the target (required with --target and no profile).
    #[arg(long, env = "ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// What the audience does (TOML: conferences and their sizes, questions, vote timing,
    /// churn; docs/workloads.md). The flags below are shortcuts that override it.
    #[arg(long, env = "LOADGEN_WORKLOAD")]
    pub workload: Option<PathBuf>,
    /// Voters in the whole run (default 1000; with a workload, its sizes scaled to this).
    #[arg(long)]
    pub voters: Option<usize>,
    /// Conferences running at once (default 1).
    #[arg(long)]
    pub conferences: Option<usize>,
    /// Questions per conference, pushed one after another (default 2).
    #[arg(long)]
    pub questions: Option<usize>,
    /// Seconds each question is live (default 10).
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=3600))]
    pub question_duration: Option<u32>,
    /// Close each question by hand after this many seconds instead of waiting for the timeout.
    #[arg(long)]
    pub close_after: Option<u32>,
    /// A fault to inject, added to the workload's `[[faults]]`: a TOML inline table with the
    /// same keys, e.g. `{ at = "q1+10s", run = "kill -STOP 1234", undo = "kill -CONT 1234",
    /// undo_after_s = 5 }` (repeatable; docs/faults.md).
    #[arg(long = "fault", value_parser = crate::workload::Fault::parse_flag)]
    pub faults: Vec<crate::workload::Fault>,
    /// Report directory (default reports/<run-id>).
    #[arg(long, env = "LOADGEN_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
    /// Seed of the vote schedule.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Service-level objectives, e.g. "vote_ack.p99<100ms" (repeatable); a miss fails the run.
    #[arg(long = "slo")]
    pub slos: Vec<String>,
    /// Run only slice I of N of the voters (for a run over several machines; merge after).
    /// Without it, `JOB_COMPLETION_INDEX` (set by a Kubernetes Indexed Job) and `--shards`
    /// give it.
    #[arg(long, value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// Shards of the run, with the index from `JOB_COMPLETION_INDEX` (the Job's completions).
    #[arg(long, env = "LOADGEN_SHARDS", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub shards: Option<u64>,
    /// This shard's index when `--shard` is not given: a Kubernetes Indexed Job sets it.
    #[arg(long, env = "JOB_COMPLETION_INDEX", hide = true)]
    pub shard_index: Option<usize>,
    /// Child processes on this machine (default: enough for ≤ 15,000 sockets each).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Names the run (the same on every shard of it).
    #[arg(long, env = "LOADGEN_RUN_ID")]
    pub run_id: Option<String>,
    /// Voters driven by one goose user.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=20_000))]
    pub batch_size: u64,
    /// Local addresses to connect from: "auto" (127.0.0.1–8 for a loopback target), "none", or a list.
    #[arg(long, default_value = "auto")]
    pub local_ips: String,
    /// Do not create the conference (another shard or the parent did).
    #[arg(long)]
    pub no_setup: bool,
    /// Server process ids on this machine to sample for peak RSS and CPU (repeatable).
    #[arg(long = "server-pid")]
    pub server_pids: Vec<u32>,
    /// Record every fan-out delivery in goose too: "on", "off" (connect, join and vote timings
    /// only; deliveries stay in loadgen's own histograms), or "auto" (on up to 5,000 voters in a
    /// process). Millions of deliveries through goose's metrics channel delay the voters.
    #[arg(long, default_value = "auto", value_parser = ["auto", "on", "off"])]
    pub goose_fanout: String,
    /// With the in-process server: put it on this Redis.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Voters (and the host) whose connection drops connect to the next target, join again and
    /// send their unanswered vote again: for runs that kill a server node mid-question. A vote
    /// the server answers `duplicate` after that was counted before the node died.
    #[arg(long)]
    pub reconnect: bool,
    /// Threads of each process's async runtime (default: one per core). A run whose servers and
    /// generator workers share a few cores does better with 1: no work stealing between them.
    /// Passed on to the worker processes.
    #[arg(long, env = "LOADGEN_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// How voters are spread over several targets: "round-robin" (voter i → target i mod T) or
    /// "by-worker" (every voter of worker k → target k mod T, so each worker talks to one
    /// server).
    #[arg(long, value_enum, default_value_t = Spread::RoundRobin)]
    pub spread: Spread,
    /// Pin each worker process to one CPU (Linux, with `taskset`): with `--spread by-worker`
    /// the CPU of the server it drives (server j on CPU j mod cores, as `loadgen/bench.sh`
    /// pins them with PIN=1). On one box, a delivery then wakes no other CPU. Passed on to
    /// the worker processes.
    #[arg(long)]
    pub pin_cpus: bool,
    /// The clocks: "auto" (same on loopback, else estimate), "same" (fan-out figures as
    /// measured; the offset is still estimated and reported), or "estimate" (each shard
    /// estimates the servers' clock offset from its vote answers and corrects every fan-out
    /// figure by it).
    #[arg(long, value_enum, default_value_t = ClockMode::Auto)]
    pub clock: ClockMode,
    /// With `--clock estimate`: report no fan-out figure when the offset's error bound is wider
    /// than this many ms.
    #[arg(long, default_value_t = 20.0)]
    pub clock_max_error: f64,
    /// Goose's options.
    #[command(flatten)]
    pub goose: goose::config::GooseConfiguration,
}

impl Cli {
    /// The workload: `--workload`'s file (or today's shape), with the shortcuts given on the
    /// command line applied over it.
    pub fn workload(&self) -> Result<Workload, WorkloadError> {
        let mut w = match &self.workload {
            Some(path) => Workload::load(path)?,
            None => Workload::default(),
        };
        if let Some(n) = self.conferences {
            w.conferences.count = n;
            if let Sizes::List(_) = w.conferences.sizes {
                w.conferences.sizes = Sizes::Equal;
            }
        }
        if let Some(v) = self.voters {
            w = w.scaled(v, w.questions.count);
        }
        if let Some(q) = self.questions {
            w.questions.count = q;
        }
        if let Some(d) = self.question_duration {
            w.questions.duration_s = Durations::One(d);
        }
        if let Some(s) = self.close_after {
            w.questions.close = Close::Manual {
                after_s: f64::from(s),
            };
        }
        w.faults.extend(self.faults.iter().cloned());
        w.check("the command line and the workload")?;
        Ok(w)
    }

    /// Settles the shard from `--shard`, or from `JOB_COMPLETION_INDEX` with `--shards`
    /// (`LOADGEN_SHARDS`); an index without a count, or one past it, is an error.
    ///
    /// ```
    /// use clap::Parser;
    /// let mut cli = loadgen::cli::Cli::parse_from(["loadgen", "--shards", "4", "--shard-index", "2"]);
    /// cli.settle_shard().unwrap();
    /// assert_eq!(cli.shard, Some((2, 4)));
    /// let mut cli = loadgen::cli::Cli::parse_from(["loadgen", "--shard-index", "2"]);
    /// assert!(cli.settle_shard().unwrap_err().contains("LOADGEN_SHARDS"));
    /// ```
    pub fn settle_shard(&mut self) -> Result<(), String> {
        if self.shard.is_some() {
            return Ok(());
        }
        match (self.shard_index, self.shards) {
            (Some(i), Some(n)) if i < n as usize => self.shard = Some((i, n as usize)),
            (Some(i), Some(n)) => {
                return Err(format!(
                    "shard index {i} (JOB_COMPLETION_INDEX) is not below --shards {n}"
                ));
            }
            (Some(i), None) => {
                return Err(format!(
                    "shard index {i} (JOB_COMPLETION_INDEX) needs the shard count: --shards or LOADGEN_SHARDS"
                ));
            }
            (None, _) => {}
        }
        Ok(())
    }
}

/// `--shard I/N`: slice `I` (0-based) of `N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N")?;
    let (i, n): (usize, usize) = (
        i.parse().map_err(|_| "bad I")?,
        n.parse().map_err(|_| "bad N")?,
    );
    if n == 0 || i >= n {
        return Err("need 0 ≤ I < N".into());
    }
    Ok((i, n))
}

#[derive(Parser, Debug)]
#[command(name = "loadgen merge")]
pub struct MergeCli {
    /// Shard report directories (each holds shard.json).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where the merged report goes.
    #[arg(long)]
    pub report_dir: PathBuf,
    /// SLOs to judge the merged run by.
    #[arg(long = "slo")]
    pub slos: Vec<String>,
}

/// Compare two runs' reports: did the change make it better or worse?
///
/// Writes `compare.html`, `compare.md` and `compare.json`. Exit status: 0, 1 when a `--fail-if`
/// rule tripped, 2 on an error (a missing folder, a malformed rule).
///
/// ```
/// use clap::Parser;
/// let cli = loadgen::cli::CompareCli::parse_from([
///     "loadgen compare", "reports/memory", "reports/redis", "--fail-if", "vote_ack.p99 > +10%", "--fail-if", "invariants",
/// ]);
/// assert_eq!(cli.fail_if.len(), 2);
/// assert!(cli.report_dir.is_none() && !cli.markdown);
/// ```
#[derive(Parser, Debug)]
#[command(
    name = "loadgen compare",
    bin_name = "loadgen compare",
    after_help = "RULE (B against A): FIGURE OP CHANGE, e.g. \"vote_ack.p99 > +10%\" (B more than 10 % above A), \"vote_ack.p99 > +5ms\" (us, ms, s), \"deliveries_per_second.mean < -10%\", \"join.count < -0\"; or \"invariants\" (B breaks any invariant) or \"invariants-regressed\" (B breaks one A holds). A rule on a figure missing in either run trips. See docs/comparing-runs.md."
)]
pub struct CompareCli {
    /// Report folder of run A, the baseline (holds summary.json; shard.json for the plots).
    pub a: PathBuf,
    /// Report folder of run B, the change.
    pub b: PathBuf,
    /// A's name on the pages (default: its run id, or its folder's name).
    #[arg(long)]
    pub label_a: Option<String>,
    /// B's name on the pages.
    #[arg(long)]
    pub label_b: Option<String>,
    /// Where compare.html, compare.md and compare.json go (default reports/compare-<A>-vs-<B>).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Fail (exit 1) when RULE trips (repeatable).
    #[arg(long = "fail-if", value_name = "RULE")]
    pub fail_if: Vec<String>,
    /// Print the Markdown summary (compare.md) to stdout.
    #[arg(long)]
    pub markdown: bool,
}
