//! The verdict and the report of a run (one shard, or shards merged): invariants, SLOs,
//! `summary.json`, `summary.md`, `index.html` with SVG plots, and an HDR interval log per metric.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
use plotters::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use crate::record::{Snapshot, decode, metric};

/// Parameters shown in the header and written to `summary.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Targets.
    pub targets: Vec<String>,
    /// Voters in the run.
    pub voters: usize,
    /// Questions.
    pub questions: usize,
    /// Seconds per question.
    pub question_duration: u32,
    /// Seed of the vote schedule.
    pub seed: u64,
    /// Shards (processes) that ran.
    pub shards: usize,
    /// The machine: cores and memory.
    pub machine: String,
    /// Wall time of the run in seconds.
    pub wall_secs: f64,
    /// Server processes sampled with `--server-pid` (empty when read from a report written
    /// before they were recorded this way).
    #[serde(default, deserialize_with = "servers_or_none")]
    pub servers: Vec<crate::record::ServerUsage>,
    /// One shard of several: its voters' accepted votes are only part of the final result, so
    /// whether they add up is checked where the shards are merged (the parent of the workers,
    /// or `loadgen merge`), not here.
    #[serde(default)]
    pub partial: bool,
}

/// Reports of earlier versions kept `servers` as `[pid, rss, cpu]` triples: read as none, so
/// `loadgen merge` still takes them.
fn servers_or_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<crate::record::ServerUsage>, D::Error> {
    let v = <Value as serde::Deserialize>::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// A service-level objective: `metric.pNN<value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The metric.
    pub metric: String,
    /// The quantile, 0–1.
    pub quantile: f64,
    /// The bound in ms.
    pub max_ms: f64,
    /// As written.
    pub text: String,
}

/// Parses `vote_ack.p99<100ms` (units ms, s, us).
///
/// ```
/// let s = loadgen::report::parse_slo("vote_ack.p99.9<2s").unwrap();
/// assert_eq!((s.metric.as_str(), s.quantile, s.max_ms), ("vote_ack", 0.999, 2000.0));
/// assert!(loadgen::report::parse_slo("vote_ack<1ms").is_err());
/// ```
pub fn parse_slo(text: &str) -> Result<Slo, String> {
    let (lhs, rhs) = text
        .split_once('<')
        .ok_or_else(|| format!("{text}: expected metric.pNN<value"))?;
    let (m, p) = lhs
        .trim()
        .split_once(".p")
        .ok_or_else(|| format!("{text}: expected metric.pNN"))?;
    let q: f64 = p
        .parse()
        .map_err(|_| format!("{text}: bad percentile {p}"))?;
    let rhs = rhs.trim();
    let (num, scale) = if let Some(v) = rhs.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = rhs.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = rhs.strip_suffix('s') {
        (v, 1000.0)
    } else {
        return Err(format!("{text}: the bound needs a unit (us, ms, s)"));
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{text}: bad bound {num}"))?;
    if !metric::ALL.contains(&m) {
        return Err(format!(
            "{text}: unknown metric {m} (one of {})",
            metric::ALL.join(", ")
        ));
    }
    Ok(Slo {
        metric: m.to_owned(),
        quantile: (q * 1000.0).round() / 100_000.0,
        max_ms: v * scale,
        text: text.to_owned(),
    })
}

fn pct(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn stats(h: &Histogram<u64>) -> Value {
    json!({
        "count": h.len(),
        "p50": pct(h, 0.5), "p90": pct(h, 0.9), "p99": pct(h, 0.99), "p999": pct(h, 0.999),
        "max": h.max() as f64 / 1000.0, "mean": h.mean() / 1000.0,
    })
}

/// The checked outcome of a run.
pub struct Verdict {
    /// `summary.json`.
    pub summary: Value,
    /// Every violated invariant or SLO.
    pub violations: Vec<String>,
}

/// Checks the invariants of every question and the SLOs.
pub fn verdict(snap: &Snapshot, info: &RunInfo, slos: &[Slo]) -> Verdict {
    let mut v = Vec::new();
    let hists: BTreeMap<String, Histogram<u64>> = snap
        .histograms
        .iter()
        .map(|(k, s)| (k.clone(), decode(s)))
        .collect();
    let connected = snap.voters.saturating_sub(snap.connect_failures);
    // Voters that came back after their node died miss what was sent during the gap.
    let gapped = snap.reconnects;
    if snap.connect_failures > 0 {
        v.push(format!("{} voters never connected", snap.connect_failures));
    }
    if snap.disconnects > 0 {
        v.push(format!(
            "{} voters were disconnected before the end",
            snap.disconnects
        ));
    }
    for (code, n) in &snap.errors_by_code {
        v.push(format!("{n} unexpected error events {code}"));
    }
    v.extend(snap.problems.iter().cloned());
    if let Some(n) = snap
        .host_questions
        .filter(|n| (*n as usize) < info.questions)
    {
        v.push(format!(
            "the host got the final result of only {n} of {} questions",
            info.questions
        ));
    }
    // Every broadcast must reach every connected voter, but a voter that came back after its
    // node died, or whose join was answered after the broadcast's first delivery (D13: it
    // entered the room while the broadcast went out).
    let short: Vec<(&String, u64)> = snap
        .broadcasts
        .iter()
        .map(|(k, s)| {
            let late = snap.late_joins.iter().filter(|at| **at > s.first).count() as u64;
            (k, s, gapped + late)
        })
        .filter(|(_, s, excused)| s.count + excused < connected)
        .map(|(k, s, _)| (k, connected - s.count))
        .collect();
    if let Some((first, missing)) = short.first() {
        v.push(format!(
            "{} broadcasts missed recipients ({} deliveries in all), e.g. {first} missed {missing}",
            short.len(),
            short.iter().map(|(_, m)| m).sum::<u64>()
        ));
    }
    let mut questions = Vec::new();
    for (qid, t) in &snap.questions {
        let accepted: u64 = t.accepted_by_option.values().sum();
        let mut problems = Vec::new();
        match &t.final_counts {
            None => problems.push("no final result received".to_owned()),
            Some(_) if info.partial => {}
            Some(fin) => {
                let keys: std::collections::BTreeSet<&String> =
                    fin.keys().chain(t.accepted_by_option.keys()).collect();
                for k in keys {
                    let (a, f) = (
                        t.accepted_by_option.get(k).copied().unwrap_or(0),
                        fin.get(k).copied().unwrap_or(0),
                    );
                    let unknown = t.unknown_after_reconnect.get(k).copied().unwrap_or(0);
                    if f < a || f > a + unknown {
                        problems.push(format!("option {k}: {a} accepted but final count {f}"));
                    }
                }
                let unknown: u64 = t.unknown_after_reconnect.values().sum();
                if t.final_total
                    .is_none_or(|f| f < accepted || f > accepted + unknown)
                {
                    problems.push(format!(
                        "{accepted} accepted but final totalVotes {:?}",
                        t.final_total
                    ));
                }
            }
        }
        if t.accepted_twice > 0 {
            problems.push(format!("{} voters accepted twice", t.accepted_twice));
        }
        if t.final_disagreements > 0 {
            problems.push(format!("{} final results disagreed", t.final_disagreements));
        }
        if t.votes_unanswered > 0 {
            problems.push(format!("{} votes never answered", t.votes_unanswered));
        }
        if t.refused_in_time > 0 {
            problems.push(format!(
                "{} votes sent at least 1 s before the close were refused question_closed \
                 (taken up after the close)",
                t.refused_in_time
            ));
        }
        for (what, n) in [
            ("question:live", t.got_live),
            ("question:closed", t.got_closed),
            ("vote:final_result", t.got_final),
        ] {
            if n < connected {
                problems.push(format!(
                    "{} of {connected} connected voters never got {what}",
                    connected - n
                ));
            }
        }
        let missed_timers = t.timer_missed;
        if missed_timers > 0 {
            problems.push(format!("{missed_timers} timer updates missed"));
        }
        if t.timer_repeated > 0 {
            problems.push(format!(
                "{} timer updates repeated or out of order",
                t.timer_repeated
            ));
        }
        v.extend(problems.iter().map(|p| format!("{qid}: {p}")));
        questions.push(json!({
            "questionId": qid, "acceptedVotes": accepted, "acceptedByOption": t.accepted_by_option,
            "finalTotalVotes": t.final_total, "finalOptionCounts": t.final_counts,
            "rejectedByReason": t.rejected_by_reason, "votesSent": t.votes_sent,
            "timerUpdatesMissed": missed_timers, "timerUpdatesRepeated": t.timer_repeated,
            "duplicatesSent": t.duplicates_sent,
            "refusedInTime": t.refused_in_time,
            "acceptedBeforeReconnect": t.accepted_before_reconnect,
            "unknownAfterReconnect": t.unknown_after_reconnect.values().sum::<u64>(),
            "ok": problems.is_empty(),
        }));
    }
    if snap.questions.len() < info.questions {
        v.push(format!(
            "only {} of {} questions ran",
            snap.questions.len(),
            info.questions
        ));
    }
    let mut slo_results = Vec::new();
    for s in slos {
        let got = hists
            .get(&s.metric)
            .filter(|h| !h.is_empty())
            .map(|h| pct(h, s.quantile));
        let ok = got.is_some_and(|g| g < s.max_ms);
        if !ok {
            v.push(format!(
                "SLO {} not met: {}",
                s.text,
                got.map_or("no samples".into(), |g| format!("{g:.2} ms"))
            ));
        }
        slo_results.push(json!({"slo": s.text, "observedMs": got, "ok": ok}));
    }
    let spreads: Vec<f64> = snap
        .broadcasts
        .iter()
        .filter(|(k, _)| k.starts_with("question:live"))
        .map(|(_, s)| (s.last - s.first) as f64)
        .collect();
    let duration = snap.seconds.len().max(1) as f64;
    let deliveries: u64 = snap.seconds.values().map(|s| s.deliveries).sum();
    let summary = json!({
        "run": info, "voters": info.voters, "votersConnected": connected,
        "reconnects": snap.reconnects, "lateJoins": snap.late_joins.len(),
        "invariantsOk": v.is_empty(), "violations": v,
        "questions": questions,
        "metrics": hists.iter().map(|(k, h)| (k.clone(), stats(h))).collect::<BTreeMap<_, _>>(),
        "questionLiveSpreadMs": spreads,
        "deliveries": deliveries, "deliveriesPerSecondMean": deliveries as f64 / duration,
        "deliveriesPerSecondPeak": snap.seconds.values().map(|s| s.deliveries).max().unwrap_or(0),
        "errorsByCode": snap.errors_by_code, "disconnects": snap.disconnects, "connectFailures": snap.connect_failures,
        "generator": {
            "rssKib": snap.generator_rss_kib, "cpuSecs": snap.generator_cpu_secs,
            "rssKibPerVoter": snap.generator_rss_kib as f64 / snap.voters.max(1) as f64,
        },
        "servers": info.servers.iter().map(|s| json!({
            "pid": s.pid, "rssKib": s.rss_kib, "cpuSecs": s.cpu_secs, "exited": s.exited,
            "rssKibPerVoter": s.rss_kib as f64 * info.servers.len() as f64 / connected.max(1) as f64,
        })).collect::<Vec<_>>(),
        "slos": slo_results,
    });
    Verdict {
        summary,
        violations: v,
    }
}

/// Writes `summary.json`, `summary.md`, `index.html`, `shard.json` and the HDR logs.
pub fn write(dir: &Path, snap: &Snapshot, verdict: &Verdict) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_string_pretty(&verdict.summary)?,
    )?;
    std::fs::write(dir.join("summary.md"), markdown(&verdict.summary))?;
    std::fs::write(dir.join("index.html"), html(snap, &verdict.summary))?;
    for (name, intervals) in &snap.intervals {
        let mut out = Vec::new();
        {
            let mut ser = V2DeflateSerializer::new();
            let start = intervals.first().map_or(0, |i| i.0);
            let mut log = IntervalLogWriterBuilder::new()
                .add_comment(&format!("loadgen metric {name}, microseconds"))
                .with_start_time(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(start as u64),
                )
                .with_base_time(std::time::UNIX_EPOCH)
                .begin_log_with(&mut out, &mut ser)?;
            for (sec, h) in intervals {
                let h = decode(h);
                log.write_histogram(
                    &h,
                    std::time::Duration::from_secs(*sec as u64),
                    std::time::Duration::from_secs(1),
                    None,
                )?;
            }
        }
        std::fs::write(dir.join(format!("{name}.hlog")), out)?;
    }
    Ok(())
}

/// p50, p90, p99, p99.9 and max of one metric of `summary.json`, in ms.
fn metric_ms(v: &Value) -> [f64; 5] {
    ["p50", "p90", "p99", "p999", "max"].map(|k| v[k].as_f64().unwrap_or(0.0))
}

/// One line per process measured: the generator, then each `--server-pid`.
fn process_lines(s: &Value) -> Vec<String> {
    let mb = |v: &Value| v["rssKib"].as_f64().unwrap_or(0.0) / 1024.0;
    let cpu = |v: &Value| v["cpuSecs"].as_f64().unwrap_or(0.0);
    let g = &s["generator"];
    let mut lines = vec![format!(
        "generator: {:.0} MB peak RSS, {:.1} s CPU",
        mb(g),
        cpu(g)
    )];
    for v in s["servers"].as_array().into_iter().flatten() {
        lines.push(format!(
            "server pid {}: {:.0} MB peak RSS, {:.1} s CPU in the run{}",
            v["pid"],
            mb(v),
            cpu(v),
            if v["exited"].as_bool() == Some(true) {
                " (exited during the run: its last reading)"
            } else {
                ""
            }
        ));
    }
    lines
}

fn markdown(s: &Value) -> String {
    let mut md = String::new();
    let ok = s["invariantsOk"].as_bool().unwrap_or(false);
    let _ = writeln!(
        md,
        "## Load run {} — {}\n",
        s["run"]["runId"].as_str().unwrap_or(""),
        if ok { "PASS" } else { "FAIL" }
    );
    let _ = writeln!(
        md,
        "{} voters ({} connected), {} questions × {} s, targets {}\n",
        s["voters"],
        s["votersConnected"],
        s["run"]["questions"],
        s["run"]["questionDuration"],
        s["run"]["targets"]
    );
    let _ = writeln!(
        md,
        "| metric | count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n|---|---|---|---|---|---|---|"
    );
    if let Some(m) = s["metrics"].as_object() {
        for (k, v) in m {
            let [p50, p90, p99, p999, max] = metric_ms(v);
            let _ = writeln!(
                md,
                "| {k} | {} | {p50:.2} | {p90:.2} | {p99:.2} | {p999:.2} | {max:.2} |",
                v["count"]
            );
        }
    }
    let _ = writeln!(
        md,
        "\n| question | accepted | final totalVotes | ok |\n|---|---|---|---|"
    );
    for q in s["questions"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            q["questionId"].as_str().unwrap_or(""),
            q["acceptedVotes"],
            q["finalTotalVotes"],
            if q["ok"].as_bool() == Some(true) {
                "✓"
            } else {
                "✗"
            }
        );
    }
    let _ = writeln!(
        md,
        "\nDeliveries: {} (peak {}/s). Errors: {}. Reconnections: {}. Voters that learned of a question from conference:joined (their join raced its push, D13): {}.",
        s["deliveries"],
        s["deliveriesPerSecondPeak"],
        s["errorsByCode"],
        s["reconnects"],
        s["lateJoins"]
    );
    let _ = writeln!(md);
    for line in process_lines(s) {
        let _ = writeln!(md, "- {line}");
    }
    for v in s["violations"].as_array().into_iter().flatten() {
        let _ = writeln!(md, "- **violation**: {}", v.as_str().unwrap_or(""));
    }
    md
}

/// Lines of `(x, y)` points, as drawn by [`line_chart`].
type Lines = Vec<(String, Vec<(f64, f64)>)>;

/// An SVG line chart; the x range is `0..xmax` (or the data's), the y range the data's + 10 %.
fn line_chart(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    xmax: Option<f64>,
    height: u32,
    lines: Lines,
) -> String {
    let mut out = String::new();
    let drawn = (|| -> Result<(), String> {
        let xmax = xmax.unwrap_or_else(|| {
            lines
                .iter()
                .flat_map(|(_, p)| p.iter().map(|x| x.0))
                .fold(1.0, f64::max)
        });
        let ymax = lines
            .iter()
            .flat_map(|(_, p)| p.iter().map(|x| x.1))
            .fold(1.0, f64::max)
            * 1.1;
        let root = SVGBackend::with_string(&mut out, (900, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, pts)) in lines.into_iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], c));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())
    })();
    match drawn {
        Ok(()) => out,
        Err(e) => format!("<p>{title}: no plot ({e})</p>"),
    }
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Latency by percentile: x is "nines" (−log10(1−q)), so p50 = 0.3, p99 = 2, p99.9 = 3.
fn percentile_plot(snap: &Snapshot) -> String {
    let series: Lines = snap
        .histograms
        .iter()
        .map(|(k, h)| {
            let h = decode(h);
            let pts = (0..=40).map(|i| {
                let nines = f64::from(i) * 0.1;
                (nines, pct(&h, (1.0 - 10f64.powf(-nines)).min(1.0)))
            });
            (k.clone(), pts.collect())
        })
        .collect();
    line_chart(
        "Latency by percentile (x: 1 = p90, 2 = p99, 3 = p99.9)",
        "nines",
        "ms",
        Some(4.0),
        420,
        series,
    )
}

fn time_plot(title: &str, y: &str, lines: Lines) -> String {
    line_chart(title, "seconds", y, None, 320, lines)
}

fn html(snap: &Snapshot, s: &Value) -> String {
    let t0 = snap.seconds.keys().next().copied().unwrap_or(0);
    let per_second = |f: &dyn Fn(&crate::record::Second) -> f64| -> Vec<(f64, f64)> {
        snap.seconds
            .iter()
            .map(|(sec, v)| ((sec - t0) as f64, f(v)))
            .collect()
    };
    let over_time = |m: &str, q: f64| -> Vec<(f64, f64)> {
        snap.intervals
            .get(m)
            .map(|l| {
                l.iter()
                    .map(|(sec, h)| ((sec - t0) as f64, pct(&decode(h), q)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let spreads: Vec<(f64, f64)> = {
        let mut b: Vec<(&String, &crate::record::Spread)> = snap
            .broadcasts
            .iter()
            .filter(|(k, _)| !k.starts_with("question:timer"))
            .collect();
        b.sort_by_key(|(_, s)| s.first);
        b.iter()
            .enumerate()
            .map(|(i, (_, s))| (i as f64, (s.last - s.first) as f64))
            .collect()
    };
    let ok = s["invariantsOk"].as_bool().unwrap_or(false);
    let mut page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Load run {id}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} .v{{padding:.1em .5em;border-radius:4px;color:#fff}} .PASS{{background:#2a7d2a}} .FAIL{{background:#b22}}
table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}} th{{background:#f3f3f3}} td:first-child{{text-align:left}}
</style></head><body><h1>Load run {id} <span class="v {verdict}">{verdict}</span></h1>
<p>Targets {targets} · {voters} voters ({connected} connected) · {q} questions × {d} s · seed {seed} · {shards} shard(s) · {machine} · {wall:.0} s</p>"#,
        id = s["run"]["runId"].as_str().unwrap_or(""),
        verdict = if ok { "PASS" } else { "FAIL" },
        targets = s["run"]["targets"],
        voters = s["voters"],
        connected = s["votersConnected"],
        q = s["run"]["questions"],
        d = s["run"]["questionDuration"],
        seed = s["run"]["seed"],
        shards = s["run"]["shards"],
        machine = s["run"]["machine"].as_str().unwrap_or(""),
        wall = s["run"]["wallSecs"].as_f64().unwrap_or(0.0),
    );
    for v in s["violations"].as_array().into_iter().flatten() {
        let _ = write!(
            page,
            "<p style=\"color:#b22\">✗ {}</p>",
            v.as_str().unwrap_or("")
        );
    }
    page.push_str("<h2>Latency (ms)</h2><table><tr><th>metric</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for (k, v) in s["metrics"].as_object().into_iter().flatten() {
        let [p50, p90, p99, p999, max] = metric_ms(v);
        let _ = write!(
            page,
            "<tr><td>{k}</td><td>{}</td><td>{p50:.2}</td><td>{p90:.2}</td><td>{p99:.2}</td><td>{p999:.2}</td><td>{max:.2}</td></tr>",
            v["count"]
        );
    }
    page.push_str("</table><h2>Questions</h2><table><tr><th>question</th><th>votes sent</th><th>accepted</th><th>final totalVotes</th><th>rejected</th><th>timer updates missed</th><th>ok</th></tr>");
    for q in s["questions"].as_array().into_iter().flatten() {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            q["questionId"].as_str().unwrap_or(""),
            q["votesSent"],
            q["acceptedVotes"],
            q["finalTotalVotes"],
            q["rejectedByReason"],
            q["timerUpdatesMissed"],
            if q["ok"].as_bool() == Some(true) {
                "✓"
            } else {
                "✗"
            }
        );
    }
    page.push_str("</table><h2>Processes</h2><ul>");
    for line in process_lines(s) {
        let _ = write!(page, "<li>{line}</li>");
    }
    page.push_str("</ul>");
    page.push_str(&percentile_plot(snap));
    page.push_str(&time_plot(
        "Vote ack over time (ms)",
        "ms",
        vec![
            ("p50".into(), over_time(metric::VOTE_ACK, 0.5)),
            ("p99".into(), over_time(metric::VOTE_ACK, 0.99)),
            (
                "generator send lag p99".into(),
                over_time(metric::VOTE_SEND_LAG, 0.99),
            ),
        ],
    ));
    page.push_str(&time_plot(
        "Fan-out delay over time (ms)",
        "ms",
        vec![
            ("timer p99".into(), over_time(metric::FANOUT_TIMER, 0.99)),
            (
                "vote:result p99".into(),
                over_time(metric::FANOUT_RESULT, 0.99),
            ),
        ],
    ));
    page.push_str(&time_plot(
        "Connected voters",
        "voters",
        vec![("connected".into(), per_second(&|v| v.connected as f64))],
    ));
    page.push_str(&time_plot(
        "Throughput per second",
        "per second",
        vec![
            ("deliveries/s".into(), per_second(&|v| v.deliveries as f64)),
            ("vote answers/s".into(), per_second(&|v| v.votes as f64)),
        ],
    ));
    page.push_str(&time_plot(
        "Fan-out spread per broadcast, first to last recipient (ms; x: broadcast in order)",
        "ms",
        vec![("spread".into(), spreads)],
    ));
    page.push_str("<p>Goose's own report: <a href=\"goose.html\">goose.html</a>. HDR interval logs (V2 deflate): one <code>.hlog</code> per metric.</p></body></html>");
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::QuestionTally;

    fn info() -> RunInfo {
        RunInfo {
            run_id: "t".into(),
            targets: vec![],
            voters: 3,
            questions: 1,
            question_duration: 3,
            seed: 1,
            shards: 1,
            machine: String::new(),
            wall_secs: 0.0,
            servers: vec![],
            partial: false,
        }
    }

    fn snapshot(accepted_a: u64, final_a: u64) -> Snapshot {
        let mut s = Snapshot {
            voters: 3,
            ..Snapshot::default()
        };
        s.questions.insert(
            "q".into(),
            QuestionTally {
                accepted_by_option: [("A".to_string(), accepted_a)].into(),
                final_counts: Some([("A".to_string(), final_a), ("B".to_string(), 0)].into()),
                final_total: Some(final_a),
                got_live: 3,
                got_closed: 3,
                got_final: 3,
                timer_updates: 6,
                timer_expected: 6,
                ..QuestionTally::default()
            },
        );
        s
    }

    #[test]
    fn run_info_of_an_earlier_version_still_reads() {
        let mut old = serde_json::to_value(info()).unwrap();
        old["servers"] = serde_json::json!([[11, 2048, 1.5]]);
        let read: RunInfo = serde_json::from_value(old).unwrap();
        assert!(read.servers.is_empty());
    }

    #[test]
    fn a_server_that_died_in_the_run_is_reported_with_its_last_reading() {
        use crate::record::ServerUsage;
        let info = RunInfo {
            servers: vec![
                ServerUsage {
                    pid: 11,
                    rss_kib: 600 * 1024,
                    cpu_secs: 36.3,
                    exited: false,
                },
                ServerUsage {
                    pid: 12,
                    rss_kib: 300 * 1024,
                    cpu_secs: 5.5,
                    exited: true,
                },
            ],
            ..info()
        };
        let v = verdict(&snapshot(3, 3), &info, &[]);
        assert_eq!(v.summary["servers"][1]["exited"], true);
        let md = markdown(&v.summary);
        assert!(
            md.contains("- server pid 11: 600 MB peak RSS, 36.3 s CPU in the run\n"),
            "{md}"
        );
        assert!(
            md.contains("- server pid 12: 300 MB peak RSS, 5.5 s CPU in the run (exited during the run: its last reading)"),
            "{md}"
        );
        assert!(html(&snapshot(3, 3), &v.summary).contains("<li>server pid 12: 300 MB"));
    }

    #[test]
    fn matching_counts_pass() {
        let v = verdict(&snapshot(3, 3), &info(), &[]);
        assert!(v.violations.is_empty(), "{:?}", v.violations);
        assert_eq!(v.summary["invariantsOk"], true);
    }

    /// Asserts that one of `v`'s violations contains `needle`.
    fn assert_violation(v: &Verdict, needle: &str) {
        assert!(
            v.violations.iter().any(|x| x.contains(needle)),
            "no violation with {needle:?} in {:?}",
            v.violations
        );
    }

    #[test]
    fn a_vote_sent_in_time_and_refused_as_late_fails() {
        let mut snap = snapshot(2, 2);
        if let Some(t) = snap.questions.get_mut("q") {
            t.rejected_by_reason.insert("question_closed".into(), 1);
            t.refused_in_time = 1;
        }
        let v = verdict(&snap, &info(), &[]);
        assert_violation(
            &v,
            "1 votes sent at least 1 s before the close were refused",
        );
        assert_eq!(v.summary["questions"][0]["refusedInTime"], 1);
    }

    #[test]
    fn a_lost_vote_fails() {
        let v = verdict(&snapshot(3, 2), &info(), &[]);
        assert_violation(&v, "option A: 3 accepted but final count 2");
    }

    #[test]
    fn a_shard_of_several_leaves_the_vote_totals_to_the_merge() {
        // Shard 0 of 2 saw 1 of the 2 accepted votes the final result counts.
        let shard = RunInfo {
            partial: true,
            ..info()
        };
        let v = verdict(&snapshot(1, 2), &shard, &[]);
        assert!(v.violations.is_empty(), "{:?}", v.violations);
        // Merged, the same numbers are a phantom vote.
        let v = verdict(&snapshot(1, 2), &info(), &[]);
        assert_violation(&v, "1 accepted but final totalVotes Some(2)");
    }

    #[test]
    fn a_voter_whose_join_was_answered_after_a_broadcast_is_not_owed_it() {
        let tick = |s: &mut Snapshot| {
            s.broadcasts.insert(
                "question:timer_update q 1000".into(),
                crate::record::Spread {
                    first: 1_000,
                    last: 1_050,
                    count: 2,
                },
            );
        };
        // Voter 3 joined at 1.2 s, after the tick's first delivery: it was entering the room.
        let mut s = snapshot(3, 3);
        tick(&mut s);
        s.late_joins = vec![1_200];
        let v = verdict(&s, &info(), &[]);
        assert!(v.violations.is_empty(), "{:?}", v.violations);
        // Joined at 0.9 s, before it: the tick was owed.
        s.late_joins = vec![900];
        let v = verdict(&s, &info(), &[]);
        assert_violation(&v, "1 broadcasts missed recipients");
    }

    #[test]
    fn missed_broadcasts_and_errors_fail() {
        let mut s = snapshot(3, 3);
        s.questions.get_mut("q").unwrap().got_final = 2;
        s.questions.get_mut("q").unwrap().timer_missed = 1;
        s.errors_by_code.insert("RATE_LIMITED".into(), 1);
        let v = verdict(&s, &info(), &[]);
        let all = v.violations.join("\n");
        assert!(
            all.contains("1 of 3 connected voters never got vote:final_result"),
            "{all}"
        );
        assert!(all.contains("1 timer updates missed"), "{all}");
        let mut s = snapshot(3, 3);
        s.questions.get_mut("q").unwrap().timer_repeated = 2;
        let v = verdict(&s, &info(), &[]);
        assert_violation(&v, "2 timer updates repeated or out of order");
        assert_eq!(v.summary["questions"][0]["timerUpdatesRepeated"], 2);
        assert!(all.contains("RATE_LIMITED"), "{all}");
    }
}
