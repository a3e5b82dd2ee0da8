//! `summary.json`: the checked outcome of a run, typed. `loadgen compare` and
//! `loadgen capacity` read it back, so a field is renamed only with care (new fields carry
//! `#[serde(default)]`, so older reports still read).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::clock::{ClockMode, OffsetBounds};
use crate::record::ChurnCounts;
use crate::record::process::ServerUsage;

/// What was run: shown in the header, written to `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Targets.
    pub targets: Vec<String>,
    /// Voters in the run (everyone who ever joins).
    pub voters: usize,
    /// Questions per conference.
    pub questions: usize,
    /// Seconds the first question is live (see `durations` for each).
    pub question_duration: u32,
    /// Seconds each question is live.
    pub durations: Vec<u32>,
    /// Seed of every draw.
    pub seed: u64,
    /// Shards (processes) that ran.
    pub shards: usize,
    /// The machine: cores and memory.
    pub machine: String,
    /// Wall time of the run in seconds.
    pub wall_secs: f64,
    /// Server processes watched (`--server-pid`, or those the profile started).
    #[serde(deserialize_with = "servers_or_none")]
    pub servers: Vec<ServerUsage>,
    /// One shard of several: its voters' accepted votes are only part of the final result, so
    /// whether they add up is checked where the shards are merged, not here.
    pub partial: bool,
    /// The workload in one line.
    pub workload: String,
    /// The conferences.
    pub conferences: Vec<ConferenceInfo>,
}

/// One conference of the run, as planned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConferenceInfo {
    /// Its id, as the server knows it.
    pub id: String,
    /// Voters who ever join it.
    pub voters: usize,
    /// Of those, present from the start.
    pub initial: u64,
    /// Its questions, as the server knows them.
    pub question_ids: Vec<String>,
}

/// Reports of earlier versions kept `servers` as `[pid, rss, cpu]` triples: read as none.
fn servers_or_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ServerUsage>, D::Error> {
    let v = <serde_json::Value as Deserialize>::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// Percentiles of one metric, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricStats {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl MetricStats {
    /// The figures of a histogram of µs.
    pub fn of(h: &Histogram<u64>) -> MetricStats {
        let q = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
        MetricStats {
            count: h.len(),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: h.max() as f64 / 1000.0,
            mean: h.mean() / 1000.0,
        }
    }

    /// The figure named `p50`, `p90`, `p99`, `p999`, `max`, `mean` or `count`.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "p50" => self.p50,
            "p90" => self.p90,
            "p99" => self.p99,
            "p999" => self.p999,
            "max" => self.max,
            "mean" => self.mean,
            "count" => self.count as f64,
            _ => return None,
        })
    }
}

/// One question's votes and results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QuestionSummary {
    /// The question.
    pub question_id: String,
    /// Its conference.
    pub conference_id: String,
    /// `vote:accepted` received (and votes found counted after a reconnection).
    pub accepted_votes: u64,
    /// The same, by option.
    pub accepted_by_option: BTreeMap<String, u64>,
    /// The final result's `totalVotes`.
    pub final_total_votes: Option<u64>,
    /// The final result's counts.
    pub final_option_counts: Option<BTreeMap<String, u64>>,
    /// `vote:rejected` by reason.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Votes sent (a vote sent twice counts once).
    pub votes_sent: u64,
    /// Timer updates heard out of order.
    pub timer_updates_repeated: u64,
    /// Votes sent twice on purpose.
    pub duplicates_sent: u64,
    /// Votes sent in time and refused `question_closed`.
    pub refused_in_time: u64,
    /// Votes found counted after a reconnection (`duplicate` to the resend).
    pub accepted_before_reconnect: u64,
    /// Votes whose fate a reconnection hid (the resend found the question closed).
    pub unknown_after_reconnect: u64,
    /// Whether every invariant of the question held.
    pub ok: bool,
}

/// One conference's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConferenceSummary {
    /// The conference.
    pub conference_id: String,
    /// Voters planned.
    pub voters: usize,
    /// Of those, present from the start.
    pub initial: u64,
    /// Voters that joined at least once.
    pub joined: u64,
    /// Their sessions (a voter back from a drop has two).
    pub sessions: u64,
    /// Broadcasts owed to its sessions, and those they missed or got twice.
    pub owed: u64,
    /// See `owed`.
    pub missed: u64,
    /// See `owed`.
    pub duplicated: u64,
    /// Final results its host received (`None` when its host ran in another shard).
    pub host_finals: Option<u64>,
    /// Whether every invariant of the conference held.
    pub ok: bool,
}

/// Every session against the broadcasts sent while it was in the room.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeliverySummary {
    /// Sessions checked.
    pub sessions: u64,
    /// Broadcast deliveries owed to them.
    pub owed: u64,
    /// Owed and not received.
    pub missed: u64,
    /// Received twice (a `vote:result` twice is not counted: two nodes may stamp the same
    /// millisecond).
    pub duplicated: u64,
    /// Sessions that missed at least one.
    pub sessions_short: u64,
}

/// The servers' clock against the generator's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClockSummary {
    /// `same` or `estimate`.
    pub mode: Option<ClockMode>,
    /// The estimated offset (server minus generator, ms) over every target.
    pub offset_ms: Option<f64>,
    /// Its error bound (± ms).
    pub error_ms: Option<f64>,
    /// Whether fan-out figures were corrected by it.
    pub corrected: bool,
    /// Per target.
    pub targets: Vec<(String, OffsetBounds)>,
    /// Why fan-out figures are missing, if they are.
    pub fanout_withheld: Vec<String>,
    /// Per fan-out metric, deliveries that came before their server time.
    pub early_deliveries: BTreeMap<String, u64>,
}

/// What the generator used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GeneratorSummary {
    /// Peak RSS, summed over processes (KiB).
    pub rss_kib: u64,
    /// CPU seconds, summed.
    pub cpu_secs: f64,
    /// RSS per voter (KiB).
    pub rss_kib_per_voter: f64,
    /// The largest share of its CPUs one process used.
    pub cpu_share: f64,
    /// Why the generator may have been the bottleneck, if it may.
    pub bottleneck: Option<String>,
    /// CPU µs per message the voters received (the server's too when it ran in the generator's
    /// process).
    pub cpu_us_per_message: f64,
}

/// One watched server process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerSummary {
    /// The process.
    pub pid: u32,
    /// Peak RSS (KiB).
    pub rss_kib: u64,
    /// CPU seconds in the run.
    pub cpu_secs: f64,
    /// Gone at the end.
    pub exited: bool,
    /// RSS per voter it held (KiB), with voters spread evenly over the processes.
    pub rss_kib_per_voter: f64,
}

/// One SLO's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SloResult {
    /// As written.
    pub slo: String,
    /// The figure seen (ms), if any samples.
    pub observed_ms: Option<f64>,
    /// Met.
    pub ok: bool,
}

/// `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Summary {
    /// What was run.
    pub run: RunInfo,
    /// Voters driven.
    pub voters: u64,
    /// Voters that joined at least once.
    pub voters_joined: u64,
    /// Every invariant and SLO held.
    pub invariants_ok: bool,
    /// Each broken invariant or missed SLO, one sentence each.
    pub violations: Vec<String>,
    /// What may make the figures wrong without breaking an invariant (the generator near its
    /// limits, clocks apart).
    pub warnings: Vec<String>,
    /// Per conference.
    pub conferences: Vec<ConferenceSummary>,
    /// Per question.
    pub questions: Vec<QuestionSummary>,
    /// Per metric, in ms.
    pub metrics: BTreeMap<String, MetricStats>,
    /// Sessions against the broadcasts they were owed.
    pub delivery: DeliverySummary,
    /// Messages received.
    pub deliveries: u64,
    /// Per second, over the seconds with any.
    pub deliveries_per_second_mean: f64,
    /// The busiest second.
    pub deliveries_per_second_peak: u64,
    /// Per `question:live`, first to last recipient (ms).
    pub question_live_spread_ms: Vec<f64>,
    /// What the churn did.
    pub churn: ChurnCounts,
    /// Voters that lost a connection unasked and came back (`--reconnect`).
    pub reconnects: u64,
    /// `error` events by code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Connections lost unasked, not come back.
    pub disconnects: u64,
    /// Connections that never came up.
    pub connect_failures: u64,
    /// The clocks.
    pub clock: ClockSummary,
    /// The generator.
    pub generator: GeneratorSummary,
    /// The watched server processes.
    pub servers: Vec<ServerSummary>,
    /// The watched servers' CPU µs per message the voters received, summed over the servers:
    /// what a delivery costs the server side (`None` without a watched server).
    pub server_cpu_us_per_delivery: Option<f64>,
    /// Each SLO.
    pub slos: Vec<SloResult>,
    /// Each fault the nemesis ran.
    pub faults: Vec<super::faults::FaultSummary>,
}

impl Summary {
    /// Reads `summary.json` from a report folder.
    pub fn read(dir: &std::path::Path) -> Result<Summary, String> {
        let path = dir.join("summary.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `metric.figure` (e.g. `vote_ack.p99`, `deliveries_per_second.mean`) as a number.
    /// `servers.cpu_secs` and `servers.rss_kib` add up the watched server processes (none when
    /// no process was watched).
    ///
    /// ```
    /// let mut s = loadgen::report::Summary::default();
    /// assert_eq!(s.figure("servers.cpu_secs"), None);
    /// s.servers.push(loadgen::report::summary::ServerSummary { cpu_secs: 1.5, ..Default::default() });
    /// s.servers.push(loadgen::report::summary::ServerSummary { cpu_secs: 2.0, ..Default::default() });
    /// assert_eq!(s.figure("servers.cpu_secs"), Some(3.5));
    /// assert_eq!(s.figure("vote_ack.p99"), None);
    /// ```
    pub fn figure(&self, name: &str) -> Option<f64> {
        let (metric, figure) = name.rsplit_once('.')?;
        let servers = |f: fn(&ServerSummary) -> f64| {
            (!self.servers.is_empty()).then(|| self.servers.iter().map(f).sum())
        };
        match (metric, figure) {
            ("deliveries_per_second", "mean") => Some(self.deliveries_per_second_mean),
            ("deliveries_per_second", "peak") => Some(self.deliveries_per_second_peak as f64),
            ("generator", "cpu_secs") => Some(self.generator.cpu_secs),
            ("generator", "rss_kib") => Some(self.generator.rss_kib as f64),
            ("generator", "cpu_share") => Some(self.generator.cpu_share),
            ("servers", "cpu_secs") => servers(|s| s.cpu_secs),
            ("servers", "rss_kib") => servers(|s| s.rss_kib as f64),
            _ => self.metrics.get(metric)?.get(figure),
        }
    }
}
