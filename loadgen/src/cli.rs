//! `loadgen`'s command line: a run ([`Cli`]), `loadgen merge` ([`MergeCli`]), `loadgen compare`
//! ([`CompareCli`]), `loadgen capacity` ([`CapacityCli`]) and `loadgen floor` ([`FloorCli`]).
//! Public so that other crates can check against the real flags (`lcr-deploy`'s compose test
//! reads them through [`clap::CommandFactory`]).
//!
//! ```
//! use clap::Parser;
//! let cli = loadgen::cli::Cli::parse_from(["loadgen", "--voters", "10", "--shard", "1/2"]);
//! assert_eq!((cli.voters, cli.shard), (Some(10), Some((1, 2))));
//! assert!(cli.targets.is_empty(), "no --target: the reference server in process");
//! assert_eq!(cli.workload().unwrap().voters(), 10);
//!
//! let cli = loadgen::cli::CompareCli::parse_from([
//!     "loadgen compare", "reports/memory", "reports/redis", "--fail-if", "vote_ack.p99 > +10%", "--fail-if", "invariants",
//! ]);
//! assert_eq!(cli.fail_if.len(), 2);
//! assert!(cli.report_dir.is_none() && !cli.markdown);
//!
//! let cli = loadgen::cli::FloorCli::parse_from(["loadgen floor", "--sockets", "100", "--sender", "tasks"]);
//! assert_eq!((cli.sockets, cli.rounds, cli.interval_ms), (100, 300, 100));
//! assert_eq!((cli.sender, cli.receiver), (loadgen::cli::FloorShape::Tasks, loadgen::cli::FloorShape::Bare));
//! ```
//!
//! (The examples are here, not on each struct, since clap shows a struct's doc comment as its
//! `--help`.)

use std::path::{Path, PathBuf};

use clap::Parser;
use clap::builder::RangedU64ValueParser;

use crate::clock::ClockMode;
use crate::plan::Spread;
use crate::workload::{Close, Durations, Sizes, Workload, WorkloadError};

/// Drive N voters through Q questions against a Live Conference Runtime server and report.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "loadgen",
    disable_version_flag = true,
    after_help = "Goose's own options (users, ramp, thresholds, reports) are accepted too; see goose's documentation. Subcommands: `loadgen merge DIR... --report-dir OUT` merges shard directories; `loadgen compare A B` compares two reports; `loadgen capacity` steps the audience up to the knee; `loadgen floor` measures what a bare loopback fan-out costs on this box (each with --help)."
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
#[command(name = "loadgen merge", bin_name = "loadgen merge")]
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

/// `loadgen capacity`: step the audience up to the knee.
///
/// Its own options are below; every other argument is a run option (`loadgen --help`) passed
/// unchanged to each step's run, so a search takes whatever a run takes (a workload, a profile,
/// targets, workers, the question's duration, goose's options) without this list having to
/// follow the run's. What the search decides for each step (voters, one question, the report
/// folder, the run id, the SLOs) cannot be given as a run option.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "loadgen capacity",
    disable_version_flag = true,
    after_help = "Every other option is a run option (see `loadgen --help`), passed to each step: --workload, --profile, --target, --redis-url, --workers, --question-duration, --seed, goose's options… Each step runs `loadgen <run options> --voters N --questions 1 --report-dir DIR/step-N --run-id ID-N --slo …` and the search stops at the first step that fails. Exit code: 0 when the knee is at least --require (default --from), 1 when it is not (no step passed, or the server failed below it), 2 when a step could not be run or the generator limited the step that fell short. docs/capacity.md explains."
)]
pub struct CapacityCli {
    /// Voters of the first step.
    #[arg(long, default_value_t = 1000)]
    pub from: usize,
    /// Voters of the last step: the search ends here when every step passed.
    #[arg(long, default_value_t = 100_000)]
    pub to: usize,
    /// Each step's voters are the one before's times this (above 1), rounded; `--to` is the
    /// last step.
    #[arg(long, default_value_t = 2.0)]
    pub factor: f64,
    /// Service-level objectives every step must meet, e.g. "vote_ack.p99<200ms" (repeatable).
    /// Default: vote_ack.p99<500ms and fanout_question_live.p99<1s.
    #[arg(long = "slo")]
    pub slos: Vec<String>,
    /// Fail (exit 1) unless the knee is at least this many voters (default: --from).
    #[arg(long)]
    pub require: Option<usize>,
    /// Where capacity.json, capacity.html and each step's folder go (default
    /// reports/<run-id>).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Names the search (default capacity-<unix time>); step N's run is `<run-id>-N`.
    #[arg(long)]
    pub run_id: Option<String>,
    /// The run options, passed to every step.
    #[arg(skip)]
    pub run_options: Vec<String>,
}

/// Run options the search sets for each step itself.
pub const CAPACITY_DECIDES: [&str; 9] = [
    "--voters",
    "--questions",
    "--report-dir",
    "--run-id",
    "--shard",
    "--shards",
    "--shard-index",
    "--created",
    "--no-setup",
];

impl CapacityCli {
    /// Parses the arguments after `capacity`: its own options wherever they stand (`--to 10`
    /// or `--to=10`), every other argument kept in order as a run option. After `--`, every
    /// argument is a run option.
    ///
    /// ```
    /// let args = ["--from", "40", "--question-duration", "3", "--to=160", "--slo", "vote_ack.p99<5s"];
    /// let cli = loadgen::cli::CapacityCli::parse_args(args.iter().map(|s| s.to_string())).unwrap();
    /// assert_eq!((cli.from, cli.to, cli.factor), (40, 160, 2.0));
    /// assert_eq!(cli.slos, ["vote_ack.p99<5s"]);
    /// assert_eq!(cli.run_options, ["--question-duration", "3"]);
    /// ```
    ///
    /// # Errors
    ///
    /// clap's, for its own options (and `--help`).
    pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<CapacityCli, clap::Error> {
        use clap::CommandFactory;
        let command = CapacityCli::command();
        let takes_value = |long: &str| -> Option<bool> {
            if long == "help" {
                return Some(false);
            }
            command
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .map(|a| a.get_action().takes_values())
        };
        let (mut own, mut run) = (vec!["loadgen capacity".to_owned()], Vec::new());
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            if a == "--" {
                run.extend(args.by_ref());
                break;
            }
            let long = a
                .strip_prefix("--")
                .map(|l| l.split('=').next().unwrap_or(l));
            match long.and_then(takes_value) {
                Some(true) if !a.contains('=') => {
                    own.push(a);
                    own.extend(args.next());
                }
                Some(_) => own.push(a),
                None if a == "-h" => own.push(a),
                None => run.push(a),
            }
        }
        let mut cli = CapacityCli::try_parse_from(own)?;
        cli.run_options = run;
        Ok(cli)
    }

    /// The run of the first step as a run would read it (so a typo stops the search before
    /// its first step, not after it): the run options and `--voters`, `--questions 1`.
    ///
    /// ```
    /// use loadgen::cli::CapacityCli;
    /// let cli = |a: &[&str]| CapacityCli::parse_args(a.iter().map(|s| s.to_string())).unwrap();
    /// assert!(cli(&["--question-duration", "3"]).first_run().is_ok());
    /// let err = cli(&["--voters", "10"]).first_run().unwrap_err().to_string();
    /// assert!(err.contains("--voters"), "{err}");
    /// assert!(cli(&["--no-such-option"]).first_run().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// A run option the search decides, one a run does not take, or a workload that does not
    /// hold.
    pub fn first_run(&self) -> Result<Cli, crate::capacity::CapacityError> {
        use crate::capacity::CapacityError;
        for a in &self.run_options {
            let name = a.split('=').next().unwrap_or(a);
            if CAPACITY_DECIDES.contains(&name) {
                return Err(CapacityError::RunOption {
                    option: a.clone(),
                    why: "the search sets it for each step (voters from --from to --to, one question, the report in DIR/step-N, the run id ID-N): leave it out".into(),
                });
            }
        }
        let args = ["loadgen".to_owned()]
            .into_iter()
            .chain(self.run_options.iter().cloned())
            .chain(Self::step_options(
                self.from,
                Path::new("step"),
                "step",
                &self.slos,
            ));
        let cli = Cli::try_parse_from(args).map_err(|e| CapacityError::RunOption {
            option: self.run_options.join(" "),
            why: e.render().to_string().trim().to_owned(),
        })?;
        cli.workload().map_err(|e| CapacityError::RunOption {
            option: "--workload".into(),
            why: e.to_string(),
        })?;
        Ok(cli)
    }

    /// What the search adds to the run options for the step of `voters`, judged by `slos`.
    pub fn step_options(
        voters: usize,
        report_dir: &Path,
        run_id: &str,
        slos: &[String],
    ) -> Vec<String> {
        let mut out = vec![
            "--voters".to_owned(),
            voters.to_string(),
            "--questions".into(),
            "1".into(),
            "--report-dir".into(),
            report_dir.display().to_string(),
            "--run-id".into(),
            run_id.into(),
        ];
        for slo in slos {
            out.extend(["--slo".to_owned(), slo.clone()]);
        }
        out
    }
}

/// What a fan-out of small messages costs over loopback TCP on this box with no server: a loop
/// of `send`s (`--sender bare`) or a tokio task per socket fed by a channel (`--sender tasks`),
/// read by a child process with one epoll loop (`--receiver bare`) or a task per socket
/// (`--receiver tasks`). Set a server's CPU per delivery and the generator's CPU per message
/// against it (docs/benchmarks.md#the-kernels-floor).
///
/// Prints CPU µs per delivery for the sender and the receiver (user and system) and the TCP
/// segments per delivery (the machine's counters: other TCP traffic, other floor runs included,
/// is counted too). Run it placed as the load run it is compared with (e.g. under `taskset -c 0
/// chrt --batch 0` for a pinned one).
#[derive(Parser, Debug, Clone)]
#[command(name = "loadgen floor", bin_name = "loadgen floor")]
pub struct FloorCli {
    /// Connections, each written once per round (the reference load has 10,000 voters).
    #[arg(long, default_value_t = 10_000, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub sockets: usize,
    /// Broadcasts; each writes one frame to every socket.
    #[arg(long, default_value_t = 300, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub rounds: usize,
    /// Time from the start of one broadcast to the next (D20's `vote:result` interval); 0 sends
    /// them back to back.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub interval_ms: u64,
    /// Bytes per frame (a `vote:result` websocket frame of the reference load, four options, is
    /// about 190).
    #[arg(long, default_value_t = 190, value_parser = RangedU64ValueParser::<usize>::new().range(1..=1_048_576))]
    pub frame_bytes: usize,
    /// How the sender writes: a loop of `send`s, or a writer task per socket fed by a channel
    /// (the broadcast loop then runs on one more thread than the runtime's).
    #[arg(long, value_enum, default_value_t = FloorShape::Bare)]
    pub sender: FloorShape,
    /// How the receiver reads: one epoll loop, or a task per socket.
    #[arg(long, value_enum, default_value_t = FloorShape::Bare)]
    pub receiver: FloorShape,
    /// Threads of the tokio runtime of a `tasks` side (default: one per core), built as the
    /// reference server and a run build theirs: 1 is a current-thread runtime, whose one thread
    /// also runs the broadcast loop.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// Internal: run as the receiver, connecting `--sockets` sockets to this address.
    #[arg(long, hide = true)]
    pub receive: Option<std::net::SocketAddr>,
}

/// How a side of `loadgen floor` does its I/O.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloorShape {
    /// No runtime: one thread, plain system calls.
    Bare,
    /// A tokio runtime and a task per socket.
    Tasks,
}

impl std::fmt::Display for FloorShape {
    /// The name the flag takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match clap::ValueEnum::to_possible_value(self) {
            Some(value) => f.write_str(value.get_name()),
            None => write!(f, "{self:?}"),
        }
    }
}
