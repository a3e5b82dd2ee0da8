//! One step of a search: the run's exit code and `summary.json` made into a pass, a failure
//! (an SLO or an invariant broken) or an error (the step could not be run or judged), with the
//! figures the search plots.

use serde::{Deserialize, Serialize};

use crate::record::metric;
use crate::report::Summary;
use crate::report::summary::SloResult;

/// vote_send_lag p99 below this is noise whatever its growth: a few ms of scheduling.
const LAG_FLOOR_MS: f64 = 10.0;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Every invariant and SLO held (exit 0).
    Pass,
    /// An SLO or an invariant broke (exit 1): the search stops here.
    Fail,
    /// The step could not be run or judged (exit 2, a signal, no `summary.json`): the search
    /// stops here and says so.
    Error,
}

/// What a step's `summary.json` says, in the figures a search compares (ms unless named).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Figures {
    /// Voters who joined at least once.
    pub voters_joined: u64,
    /// `vote_ack` p50.
    pub vote_ack_p50: Option<f64>,
    /// `vote_ack` p99.
    pub vote_ack_p99: Option<f64>,
    /// `vote_send_lag` p99: how late the generator sent its votes.
    pub vote_send_lag_p99: Option<f64>,
    /// `fanout_question_live` p50.
    pub question_live_p50: Option<f64>,
    /// `fanout_question_live` p99.
    pub question_live_p99: Option<f64>,
    /// `fanout_vote_result` p99.
    pub vote_result_p99: Option<f64>,
    /// `fanout_timer_update` p99.
    pub timer_update_p99: Option<f64>,
    /// Broadcast deliveries received.
    pub deliveries: u64,
    /// Deliveries per second, over the seconds with any.
    pub deliveries_per_second_mean: f64,
    /// The busiest second.
    pub deliveries_per_second_peak: u64,
    /// Server processes watched (a profile's `[[server]]`, `--server-pid`); 0 when the server
    /// ran in the generator's process or elsewhere.
    pub server_processes: usize,
    /// Their CPU seconds in the run, summed, when any were watched.
    pub server_cpu_secs: Option<f64>,
    /// Their peak RSS, summed (KiB), when any were watched.
    pub server_rss_kib: Option<u64>,
    /// Server CPU µs per delivery: the whole run's CPU (connections, joins and votes too) over
    /// its deliveries, which dominate a live poll's work.
    pub server_cpu_us_per_delivery: Option<f64>,
    /// The largest share of its CPUs a generator process used.
    pub generator_cpu_share: f64,
    /// Why the generator may have been the bottleneck, if it may.
    pub generator_bottleneck: Option<String>,
    /// Every invariant and SLO held.
    pub invariants_ok: bool,
    /// Each broken invariant or missed SLO.
    pub violations: Vec<String>,
    /// The run's warnings.
    pub warnings: Vec<String>,
    /// Each SLO.
    pub slos: Vec<SloResult>,
    /// Wall time of the run (s).
    pub wall_secs: f64,
    /// The machine.
    pub machine: String,
}

impl Figures {
    /// The figures of a run's summary.
    pub fn of(s: &Summary) -> Figures {
        let at = |m: &str, f: fn(&crate::report::MetricStats) -> f64| {
            s.metrics.get(m).filter(|m| m.count > 0).map(f)
        };
        let watched = !s.servers.is_empty();
        let cpu = watched.then(|| s.servers.iter().map(|v| v.cpu_secs).sum::<f64>());
        Figures {
            voters_joined: s.voters_joined,
            vote_ack_p50: at(metric::VOTE_ACK, |m| m.p50),
            vote_ack_p99: at(metric::VOTE_ACK, |m| m.p99),
            vote_send_lag_p99: at(metric::VOTE_SEND_LAG, |m| m.p99),
            question_live_p50: at(metric::FANOUT_LIVE, |m| m.p50),
            question_live_p99: at(metric::FANOUT_LIVE, |m| m.p99),
            vote_result_p99: at(metric::FANOUT_RESULT, |m| m.p99),
            timer_update_p99: at(metric::FANOUT_TIMER, |m| m.p99),
            deliveries: s.deliveries,
            deliveries_per_second_mean: s.deliveries_per_second_mean,
            deliveries_per_second_peak: s.deliveries_per_second_peak,
            server_processes: s.servers.len(),
            server_cpu_secs: cpu,
            server_rss_kib: watched.then(|| s.servers.iter().map(|v| v.rss_kib).sum()),
            server_cpu_us_per_delivery: cpu
                .filter(|_| s.deliveries > 0)
                .map(|c| c * 1e6 / s.deliveries as f64),
            generator_cpu_share: s.generator.cpu_share,
            generator_bottleneck: s.generator.bottleneck.clone(),
            invariants_ok: s.invariants_ok,
            violations: s.violations.clone(),
            warnings: s.warnings.clone(),
            slos: s.slos.clone(),
            wall_secs: s.run.wall_secs,
            machine: s.run.machine.clone(),
        }
    }
}

/// One step: its audience, how it ended and why, its figures and its report folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Voters.
    pub voters: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// The run's exit code (none when a signal ended it or it never started).
    pub exit_code: Option<i32>,
    /// Why the step failed or could not be run, in one sentence (none when it passed).
    pub why: Option<String>,
    /// Its report folder, relative to the search's (`step-00040`).
    pub report: String,
    /// What its `summary.json` says (none when it wrote none).
    pub figures: Option<Figures>,
    /// The search's remarks on it: the generator near its limits, its send lag growing.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The report folder of the step of `voters`, relative to the search's: `step-00040`, sorting
/// in the order of the steps.
pub fn step_dir(voters: usize) -> String {
    format!("step-{voters:05}")
}

/// The line of a run's output that says why it stopped: its last `error:` line (what `loadgen`
/// prints before exit 2), else its last line.
///
/// ```
/// let log = "[loadgen] run 1\nerror: reading the profile: no such file\n";
/// assert_eq!(loadgen::capacity::error_line(log).unwrap(), "reading the profile: no such file");
/// assert_eq!(loadgen::capacity::error_line("\n\n"), None);
/// ```
pub fn error_line(log: &str) -> Option<String> {
    let lines = || log.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .rev()
        .find_map(|l| l.strip_prefix("error:"))
        .map(|l| l.trim().to_owned())
        .or_else(|| lines().next_back().map(str::to_owned))
}

impl Step {
    /// Judges the step of `voters` from its run's exit code, its `summary.json` (or why there
    /// is none), the run id it was given (a summary of another run, left from an earlier
    /// search, is none), and the line of its output that says why it stopped.
    pub fn judge(
        voters: usize,
        exit_code: Option<i32>,
        ended: &str,
        summary: Result<Summary, String>,
        run_id: &str,
        said: Option<String>,
    ) -> Step {
        let summary = summary.and_then(|s| {
            if s.run.run_id == run_id {
                Ok(s)
            } else {
                Err(format!(
                    "its summary.json is of run {}, not {run_id}",
                    s.run.run_id
                ))
            }
        });
        let said = said.map_or(String::new(), |s| format!(": {s}"));
        let (outcome, why) = match (&summary, exit_code) {
            (Ok(s), Some(0)) if s.invariants_ok => (Outcome::Pass, None),
            (Ok(s), Some(0 | 1)) => (
                Outcome::Fail,
                Some(if s.violations.is_empty() {
                    "the run failed without naming a violation".to_owned()
                } else {
                    s.violations.join("; ")
                }),
            ),
            (Ok(_), _) => (Outcome::Error, Some(format!("the run {ended}{said}"))),
            (Err(e), _) => (
                Outcome::Error,
                Some(format!("the run {ended} and wrote no summary ({e}){said}")),
            ),
        };
        let figures = summary.ok().map(|s| Figures::of(&s));
        let mut notes = Vec::new();
        if let Some(b) = figures
            .as_ref()
            .and_then(|f| f.generator_bottleneck.as_ref())
        {
            notes.push(format!("the generator may have been the bottleneck: {b}"));
        }
        Step {
            voters,
            outcome,
            exit_code,
            why,
            report: step_dir(voters),
            figures,
            notes,
        }
    }

    /// The step of `voters` whose run could not be started at all.
    pub fn not_started(voters: usize, why: String) -> Step {
        Step {
            voters,
            outcome: Outcome::Error,
            exit_code: None,
            why: Some(format!("the run could not be started: {why}")),
            report: step_dir(voters),
            figures: None,
            notes: Vec::new(),
        }
    }

    /// The generator may have limited this step (its own run said so).
    pub fn generator_limited(&self) -> bool {
        self.figures
            .as_ref()
            .is_some_and(|f| f.generator_bottleneck.is_some())
    }

    /// A remark when this step's vote_send_lag p99 is at least twice `before`'s and past a few
    /// ms: the generator falling behind its own schedule as the audience grows, before its run
    /// calls it a bottleneck.
    pub fn lag_growth(&self, before: &Step) -> Option<String> {
        let lag = |s: &Step| s.figures.as_ref()?.vote_send_lag_p99;
        let (was, is) = (lag(before)?, lag(self)?);
        (is >= LAG_FLOOR_MS && is >= 2.0 * was).then(|| {
            format!(
                "the generator's vote_send_lag p99 grew from {was:.1} ms at {} voters to {is:.1} ms: it is falling behind its own vote schedule",
                super::thousands(before.voters as u64)
            )
        })
    }
}
