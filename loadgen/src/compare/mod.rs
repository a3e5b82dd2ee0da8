//! `loadgen compare A B`: did the change make it better or worse? Two report folders (two
//! servers, two builds, before and after, the in-memory store against Redis) become one typed
//! [`Comparison`]: each latency metric's figures in both runs with the change, throughput,
//! the generator's and the servers' CPU and memory, the invariants matched one by one, and the
//! `--fail-if` rules judged. It is written as `compare.html` (tables and overlaid plots),
//! `compare.md` (for a pull request) and `compare.json` (this type).
//!
//! It reads loadgen's own figures, not goose's: goose's `--baseline-file` compares goose's
//! request table of one process (connect, join, vote_ack; fan-out only when recorded in goose,
//! which is off above 5,000 voters a process), has no invariants and no gate, and must be given
//! when the later run starts. loadgen's histograms hold every metric, clock-corrected, merged
//! over shards and workers, next to the verdict. See docs/comparing-runs.md.
//!
//! - [`source`]: a report folder read, tolerant of other versions.
//! - [`figure`]: the figures by name, their units, why one is missing.
//! - [`delta`]: one figure in both runs and how it moved.
//! - [`invariants`]: the runs' invariants matched by name.
//! - [`rule`]: the `--fail-if` grammar and its judgement.
//! - [`html`], [`markdown`]: the pages.

pub mod delta;
pub mod figure;
pub mod html;
pub mod invariants;
pub mod markdown;
pub mod rule;
pub mod source;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::record::metric;
use crate::report::Summary;
use crate::report::summary::{GeneratorSummary, ServerSummary, SloResult};
use delta::{Delta, Unit, Worse};
use invariants::InvariantComparison;
use rule::{Rule, RuleError, RuleOutcome};
use source::Report;

/// What stops a comparison: the message names the run, the path or the rule.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The folder is not there (or is a file).
    #[error("run {side}: {dir}: {}", if *exists { "not a folder" } else { "no such folder" })]
    NoFolder {
        /// "A" or "B".
        side: String,
        /// As given.
        dir: PathBuf,
        /// Something is there, but not a folder.
        exists: bool,
    },
    /// A folder without `summary.json`: not a loadgen report folder.
    #[error("run {side}: {dir} holds no summary.json (not a loadgen report folder)")]
    NoSummary {
        /// "A" or "B".
        side: String,
        /// As given.
        dir: PathBuf,
    },
    /// A file that cannot be read.
    #[error("run {side}: cannot read {path}: {source}")]
    Read {
        /// "A" or "B".
        side: String,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `summary.json` is not a loadgen summary.
    #[error("run {side}: {path} is not a loadgen summary: {detail}")]
    Malformed {
        /// "A" or "B".
        side: String,
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A `--fail-if` rule that does not parse.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// An output file.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Latency metrics in the order the pages show them: what a voter waits for first.
pub const METRIC_ORDER: [&str; 9] = [
    metric::VOTE_ACK,
    metric::FANOUT_LIVE,
    metric::FANOUT_RESULT,
    metric::FANOUT_TIMER,
    metric::FANOUT_CLOSED,
    metric::FANOUT_FINAL,
    metric::VOTE_SEND_LAG,
    metric::JOIN,
    metric::CONNECT,
];

/// One run, as the comparison shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSide {
    /// Its name on the pages.
    pub label: String,
    /// Its report folder, as given.
    pub dir: PathBuf,
    /// Run id.
    pub run_id: String,
    /// The workload in one line.
    pub workload: String,
    /// Targets.
    pub targets: Vec<String>,
    /// The machine.
    pub machine: String,
    /// Voters planned.
    pub voters: usize,
    /// Voters that joined.
    pub voters_joined: u64,
    /// Seed.
    pub seed: u64,
    /// Shards.
    pub shards: usize,
    /// Wall time (s).
    pub wall_secs: f64,
    /// Every invariant and SLO held.
    pub passed: bool,
    /// Its violations.
    pub violations: Vec<String>,
    /// Its warnings.
    pub warnings: Vec<String>,
    /// Its SLOs.
    pub slos: Vec<SloResult>,
    /// The clock in one sentence.
    pub clock: String,
    /// The generator.
    pub generator: GeneratorSummary,
    /// The watched server processes.
    pub servers: Vec<ServerSummary>,
    /// Whether its latency-by-percentile curves were read (`shard.json`).
    pub plots: bool,
    /// What could not be read from its folder.
    pub notes: Vec<String>,
}

impl RunSide {
    fn of(label: String, r: &Report) -> RunSide {
        let s = &r.summary;
        RunSide {
            label,
            dir: r.dir.clone(),
            run_id: s.run.run_id.clone(),
            workload: s.run.workload.clone(),
            targets: s.run.targets.clone(),
            machine: s.run.machine.clone(),
            voters: s.run.voters,
            voters_joined: s.voters_joined,
            seed: s.run.seed,
            shards: s.run.shards,
            wall_secs: s.run.wall_secs,
            passed: s.invariants_ok,
            violations: s.violations.clone(),
            warnings: s.warnings.clone(),
            slos: s.slos.clone(),
            clock: crate::report::render::clock_line(s),
            generator: s.generator.clone(),
            servers: s.servers.clone(),
            plots: r.curves.is_some(),
            notes: r.notes.clone(),
        }
    }

    /// "PASS" or "FAIL".
    pub fn verdict(&self) -> &'static str {
        if self.passed { "PASS" } else { "FAIL" }
    }
}

/// One latency metric in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricComparison {
    /// The metric.
    pub name: String,
    /// count, p50, p90, p99, p99.9, max.
    pub figures: Vec<Delta>,
    /// Why A has no figures for it, if it has none.
    pub missing_in_a: Option<String>,
    /// Why B has none.
    pub missing_in_b: Option<String>,
    /// A's latency by percentile (x in nines, y in ms), from its `shard.json`.
    pub curve_a: Option<Vec<(f64, f64)>>,
    /// B's.
    pub curve_b: Option<Vec<(f64, f64)>>,
}

impl MetricComparison {
    /// The figure `stat` (`p99`, `count`).
    pub fn get(&self, stat: &str) -> Option<&Delta> {
        let name = format!("{}.{stat}", self.name);
        self.figures.iter().find(|d| d.figure == name)
    }
}

/// Two runs compared: what `compare.json` holds and the pages show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// Run A, the baseline.
    pub a: RunSide,
    /// Run B, the change.
    pub b: RunSide,
    /// Per latency metric ([`METRIC_ORDER`], then any other).
    pub metrics: Vec<MetricComparison>,
    /// Deliveries and voters.
    pub throughput: Vec<Delta>,
    /// The generator's and the servers' CPU and memory.
    pub resources: Vec<Delta>,
    /// The invariants matched.
    pub invariants: Vec<InvariantComparison>,
    /// The `--fail-if` rules.
    pub rules: Vec<RuleOutcome>,
    /// Why the runs may not be comparable (workloads, machines, seeds differ; a generator
    /// near its limit; fan-out withheld).
    pub caveats: Vec<String>,
}

/// The statistics of a metric in the tables.
const TABLE_STATS: [&str; 6] = ["count", "p50", "p90", "p99", "p999", "max"];

impl Comparison {
    /// Compares the report folders `a` and `b` (labels: given, else the run ids, else the
    /// folder names) and judges `rules`.
    pub fn build(
        a: &Path,
        b: &Path,
        labels: (Option<String>, Option<String>),
        rules: &[Rule],
    ) -> Result<Comparison, CompareError> {
        let ra = source::read("A", a)?;
        let rb = source::read("B", b)?;
        Ok(Comparison::of(&ra, &rb, labels, rules))
    }

    /// Compares two reports already read.
    pub fn of(
        ra: &Report,
        rb: &Report,
        labels: (Option<String>, Option<String>),
        rules: &[Rule],
    ) -> Comparison {
        let (la, lb) = labels_of(ra, rb, labels);
        let (sa, sb) = (&ra.summary, &rb.summary);
        let invariants = invariants::compare(sa, sb);
        let rules = rules
            .iter()
            .map(|r| r.evaluate((&la, sa), (&lb, sb), &invariants))
            .collect();
        let pair = |figure: &str, unit, worse| {
            Delta::new(
                figure,
                unit,
                worse,
                figure::read(sa, figure).ok(),
                figure::read(sb, figure).ok(),
            )
        };
        let throughput = vec![
            Delta::new(
                "deliveries",
                Unit::Count,
                Worse::Neither,
                Some(sa.deliveries as f64),
                Some(sb.deliveries as f64),
            ),
            pair("deliveries_per_second.mean", Unit::PerSec, Worse::Lower),
            pair("deliveries_per_second.peak", Unit::PerSec, Worse::Lower),
            Delta::new(
                "voters_joined",
                Unit::Count,
                Worse::Neither,
                Some(sa.voters_joined as f64),
                Some(sb.voters_joined as f64),
            ),
        ];
        let resources = vec![
            pair("generator.rss_kib", Unit::Kib, Worse::Higher),
            pair("generator.cpu_secs", Unit::Secs, Worse::Higher),
            pair("generator.cpu_share", Unit::Share, Worse::Higher),
            pair("servers.rss_kib", Unit::Kib, Worse::Higher),
            pair("servers.cpu_secs", Unit::Secs, Worse::Higher),
        ];
        Comparison {
            caveats: caveats(sa, sb, &la, &lb),
            a: RunSide::of(la, ra),
            b: RunSide::of(lb, rb),
            metrics: metric_names(sa, sb)
                .into_iter()
                .map(|m| metric(&m, ra, rb))
                .collect(),
            throughput,
            resources,
            invariants,
            rules,
        }
    }

    /// Whether any rule tripped.
    pub fn tripped(&self) -> bool {
        self.rules.iter().any(|r| r.tripped)
    }

    /// The metric `name`, if either run has it.
    pub fn metric(&self, name: &str) -> Option<&MetricComparison> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// Where the comparison goes without `--report-dir`: `reports/compare-<A>-vs-<B>`, the
    /// labels made safe for a path.
    pub fn default_dir(&self) -> PathBuf {
        let slug = |s: &str, or: &str| {
            let s: String = s
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            let s = s.trim_matches(['-', '.']).to_owned();
            if s.is_empty() { or.to_owned() } else { s }
        };
        PathBuf::from("reports").join(format!(
            "compare-{}-vs-{}",
            slug(&self.a.label, "a"),
            slug(&self.b.label, "b")
        ))
    }

    /// Writes `compare.html`, `compare.md` and `compare.json` into `out`.
    pub fn write(&self, out: &Path) -> Result<(), CompareError> {
        let put = |name: &str, text: &str| {
            let path = out.join(name);
            std::fs::write(&path, text).map_err(|source| CompareError::Write { path, source })
        };
        std::fs::create_dir_all(out).map_err(|source| CompareError::Write {
            path: out.to_owned(),
            source,
        })?;
        let json = serde_json::to_string_pretty(self).map_err(|e| CompareError::Write {
            path: out.join("compare.json"),
            source: e.into(),
        })?;
        put("compare.json", &json)?;
        put("compare.md", &markdown::markdown(self))?;
        put("compare.html", &html::html(self, out))
    }
}

/// The labels: given, else the run ids, else the folder names; two equal ones get "(A)" and
/// "(B)" so the pages never show one name for both.
fn labels_of(
    ra: &Report,
    rb: &Report,
    (given_a, given_b): (Option<String>, Option<String>),
) -> (String, String) {
    let folder = |r: &Report| {
        r.dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| r.dir.display().to_string())
    };
    let ids = (
        ra.summary.run.run_id.trim().to_owned(),
        rb.summary.run.run_id.trim().to_owned(),
    );
    let defaults = if !ids.0.is_empty() && !ids.1.is_empty() && ids.0 != ids.1 {
        ids
    } else {
        (folder(ra), folder(rb))
    };
    let (a, b) = (given_a.unwrap_or(defaults.0), given_b.unwrap_or(defaults.1));
    if a == b {
        (format!("{a} (A)"), format!("{b} (B)"))
    } else {
        (a, b)
    }
}

/// Every metric either run has, in page order.
fn metric_names(a: &Summary, b: &Summary) -> Vec<String> {
    let mut names: Vec<String> = METRIC_ORDER
        .iter()
        .filter(|m| a.metrics.contains_key(**m) || b.metrics.contains_key(**m))
        .map(|m| m.to_string())
        .collect();
    let extra: std::collections::BTreeSet<&String> = a
        .metrics
        .keys()
        .chain(b.metrics.keys())
        .filter(|m| !METRIC_ORDER.contains(&m.as_str()))
        .collect();
    names.extend(extra.into_iter().cloned());
    names
}

fn metric(name: &str, ra: &Report, rb: &Report) -> MetricComparison {
    let (sa, sb) = (&ra.summary, &rb.summary);
    let figures = TABLE_STATS
        .iter()
        .map(|stat| {
            let figure = format!("{name}.{stat}");
            let (unit, worse) = match *stat {
                "count" => (Unit::Count, Worse::Neither),
                _ => (Unit::Ms, Worse::Higher),
            };
            Delta::new(
                &figure,
                unit,
                worse,
                figure::read(sa, &figure).ok(),
                figure::read(sb, &figure).ok(),
            )
        })
        .collect();
    let curve = |r: &Report| r.curves.as_ref().and_then(|c| c.get(name).cloned());
    let missing = |s: &Summary| figure::read(s, &format!("{name}.p50")).err();
    MetricComparison {
        name: name.to_owned(),
        figures,
        missing_in_a: missing(sa),
        missing_in_b: missing(sb),
        curve_a: curve(ra),
        curve_b: curve(rb),
    }
}

/// What makes two runs hard to compare, in sentences.
fn caveats(a: &Summary, b: &Summary, la: &str, lb: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, x: String, y: String| {
        if x != y {
            out.push(format!("The {what} differ: {la} {x}; {lb} {y}."));
        }
    };
    differ("workloads", a.run.workload.clone(), b.run.workload.clone());
    differ("seeds", a.run.seed.to_string(), b.run.seed.to_string());
    differ("machines", a.run.machine.clone(), b.run.machine.clone());
    differ(
        "shard counts",
        a.run.shards.to_string(),
        b.run.shards.to_string(),
    );
    differ(
        "numbers of targets",
        a.run.targets.len().to_string(),
        b.run.targets.len().to_string(),
    );
    differ(
        "numbers of watched server processes",
        a.servers.len().to_string(),
        b.servers.len().to_string(),
    );
    for (l, s) in [(la, a), (lb, b)] {
        if let Some(why) = &s.generator.bottleneck {
            out.push(format!(
                "In {l} the generator may have been the bottleneck ({why}): its latencies are the generator's as much as the server's."
            ));
        }
        if !s.clock.fanout_withheld.is_empty() {
            out.push(format!(
                "{l} withheld its fan-out figures: {}.",
                s.clock.fanout_withheld.join("; ")
            ));
        }
        if s.run.partial {
            out.push(format!(
                "{l} is one shard of a run: its figures are only that shard's."
            ));
        }
    }
    if a.clock.corrected != b.clock.corrected {
        out.push(format!(
            "Fan-out figures were corrected for the servers' clock in {} only.",
            if a.clock.corrected { la } else { lb }
        ));
    }
    out
}

#[cfg(test)]
mod tests;
