//! A search's forms: `capacity.html` (the curves of latency, throughput, server and generator
//! against voters, the SLO bounds across, the knee marked, a table of the steps linking each
//! step's own report) and the lines printed as it goes.

use std::fmt::Write as _;

use plotters::chart::SeriesLabelPosition;
use plotters::style::RGBColor;

use super::search::{CapacityReport, ServerPlacement, Verdict};
use super::step::{Figures, Outcome, Step};
use super::thousands;
use crate::record::metric;
use crate::report::render::html::{STYLE, esc};
use crate::report::render::plot::{Chart, Lines, Scale};

/// The knee's mark: green, like a pass.
const KNEE: RGBColor = RGBColor(0, 120, 0);
/// The first failure's mark: red.
const FAILURE: RGBColor = RGBColor(200, 0, 0);

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.1}"))
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
        Outcome::Error => "ERROR",
    }
}

/// The line printed when step `index` (from 1) of `total` finished, and one more per remark.
pub fn step_line(step: &Step, index: usize, total: usize) -> String {
    let mut line = format!(
        "[capacity] step {index}/{total}: {} voters",
        thousands(step.voters as u64)
    );
    if let Some(f) = &step.figures {
        let _ = write!(
            line,
            " — vote_ack p99 {} ms, question:live p99 {} ms, vote:result p99 {} ms, timer p99 {} ms, {} deliveries/s peak",
            ms(f.vote_ack_p99),
            ms(f.question_live_p99),
            ms(f.vote_result_p99),
            ms(f.timer_update_p99),
            thousands(f.deliveries_per_second_peak)
        );
    }
    let _ = write!(line, " — {}", outcome_word(step.outcome));
    if let Some(why) = &step.why {
        let _ = write!(line, ": {why}");
    }
    for note in &step.notes {
        let _ = write!(line, "\n[capacity]   note: {note}");
    }
    line
}

/// The badge of the verdict and its class.
fn badge(r: &CapacityReport) -> (&'static str, &'static str) {
    match (r.verdict, r.exit_code) {
        (Verdict::Running, _) => ("RUNNING", "RUN"),
        (_, 0) => ("PASS", "PASS"),
        (_, 1) => ("FAIL", "FAIL"),
        _ => ("ERROR", "ERROR"),
    }
}

/// `capacity.html`.
pub fn html(r: &CapacityReport) -> String {
    let s = &r.settings;
    let (label, class) = badge(r);
    let mut page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Capacity search {id}</title><style>{STYLE} .ERROR{{background:#a60}} .RUN{{background:#557}} td.l{{text-align:left}} td.why{{text-align:left;min-width:24em}} table.steps{{font-size:.8em}}</style></head><body>
<h1>Capacity search {id} <span class="v {class}">{label}</span></h1>
<p><b>{conclusion}</b></p>"#,
        id = esc(&s.run_id),
        conclusion = esc(&r.conclusion),
    );
    let planned: Vec<String> = s.planned.iter().map(|v| thousands(*v as u64)).collect();
    let _ = write!(
        page,
        "<ul><li>Steps: {} voters (from {} to {} by ×{}); each one question of the workload, here at its first step: {}.</li><li>Server: {}.</li><li>SLOs: {}{}.</li><li>Required knee: {} voters{}.</li><li>Run options passed to each step: <code>{}</code>.</li>{}</ul>",
        planned.join(", "),
        thousands(s.from as u64),
        thousands(s.to as u64),
        s.factor,
        esc(&s.workload),
        esc(&s.server.describe()),
        esc(&s.slos.join(", ")),
        if s.default_slos {
            " (the defaults: no --slo was given)"
        } else {
            ""
        },
        thousands(s.require as u64),
        if s.require_given {
            ""
        } else {
            " (--from: no --require was given)"
        },
        esc(&if s.run_options.is_empty() {
            "none".to_owned()
        } else {
            s.run_options.join(" ")
        }),
        r.steps
            .iter()
            .find_map(|st| st.figures.as_ref().map(|f| f.machine.clone()))
            .map_or(String::new(), |m| format!("<li>Machine: {}.</li>", esc(&m)))
    );
    for w in &r.warnings {
        let _ = write!(page, "<p class=\"warn\">⚠ {}</p>", esc(w));
    }
    charts(&mut page, r);
    let notes: Vec<String> = r
        .steps
        .iter()
        .flat_map(|st| {
            st.notes
                .iter()
                .map(move |n| format!("{} voters: {n}", thousands(st.voters as u64)))
        })
        .collect();
    page.push_str("<h2>The generator</h2>");
    if r.steps.iter().any(|st| st.figures.is_some()) {
        generator_chart(&mut page, r);
    }
    if notes.is_empty() {
        page.push_str("<p>No step found the generator near its limits, and its send lag did not grow from step to step.</p>");
    } else {
        page.push_str("<ul>");
        for n in notes {
            let _ = write!(page, "<li class=\"warn\">{}</li>", esc(&n));
        }
        page.push_str("</ul>");
    }
    table(&mut page, r);
    page.push_str("<p>Every figure is in <code>capacity.json</code>; each step's own report is in its folder (<code>index.html</code>, <code>summary.json</code>, <code>loadgen.log</code>: the step's output).</p></body></html>");
    page
}

/// One point per step that has figures.
fn series(r: &CapacityReport, f: impl Fn(&Figures) -> Option<f64>) -> Vec<(f64, f64)> {
    r.steps
        .iter()
        .filter_map(|st| Some((st.voters as f64, f(st.figures.as_ref()?)?)))
        .collect()
}

/// A chart of `r`'s steps: voters on a logarithmic x with a tick at each step, the knee and the
/// first failure marked.
fn by_voters<'a>(r: &CapacityReport, title: &'a str, y_desc: &'a str, y: Scale) -> Chart<'a> {
    let ticks: Vec<f64> = r.steps.iter().map(|st| st.voters as f64).collect();
    let mut chart = Chart::new(title, "voters", y_desc)
        .height(380)
        .scales(Scale::Log, y)
        .x_ticks(&ticks)
        .markers()
        .legend(SeriesLabelPosition::UpperLeft);
    if let Some(k) = r.knee {
        chart = chart.mark_in(
            format!("knee: {} voters", thousands(k as u64)),
            k as f64,
            KNEE,
        );
    }
    if let Some(f) = &r.first_failure {
        let what = if f.generator_limited {
            "failed, generator-limited"
        } else {
            "failed"
        };
        chart = chart.mark_in(
            format!("{}: {} voters", what, thousands(f.voters as u64)),
            f.voters as f64,
            FAILURE,
        );
    }
    chart
}

fn charts(page: &mut String, r: &CapacityReport) {
    if r.steps.iter().all(|st| st.figures.is_none()) {
        page.push_str("<p>No step wrote figures to plot.</p>");
        return;
    }
    page.push_str("<h2>Latency by voters</h2>");
    latency_charts(page, r);
    let _ = write!(page, "<p>{}</p>", esc(&knee_sentence(r)));

    page.push_str("<h2>Throughput by voters</h2>");
    page.push_str(
        &by_voters(
            r,
            "Broadcast deliveries per second by voters",
            "deliveries/s",
            Scale::Linear,
        )
        .draw(vec![
            (
                "mean".into(),
                series(r, |f| Some(f.deliveries_per_second_mean)),
            ),
            (
                "peak second".into(),
                series(r, |f| Some(f.deliveries_per_second_peak as f64)),
            ),
        ]),
    );

    page.push_str("<h2>The server's CPU and memory by voters</h2>");
    let cpu = series(r, |f| f.server_cpu_secs);
    if cpu.is_empty() {
        let why = match r.settings.server {
            ServerPlacement::InProcess => {
                "The server ran inside the generator's process, so its CPU and memory are not told apart from the generator's (below). Run the search with a profile whose [[server]] starts it (docs/capacity.md) to measure them."
            }
            _ => {
                "No server process was watched: a server on this machine can be, with --server-pid or a profile's [[server]]."
            }
        };
        let _ = write!(page, "<p>{why}</p>");
    } else {
        page.push_str(
            &by_voters(
                r,
                "Server CPU seconds (run) and peak memory by voters",
                "CPU s",
                Scale::Linear,
            )
            .right_axis(
                "peak RSS (MB)",
                vec![(
                    "peak RSS MB".into(),
                    series(r, |f| f.server_rss_kib.map(|k| k as f64 / 1024.0)),
                )],
            )
            .draw(vec![("CPU s".into(), cpu)]),
        );
    }
}

/// The generator's CPU and send lag by voters: whether it kept up as the audience grew.
fn generator_chart(page: &mut String, r: &CapacityReport) {
    page.push_str(
        &by_voters(
            r,
            "The generator: its busiest process's CPU share and its vote send lag",
            "CPU %",
            Scale::Linear,
        )
        .right_axis(
            "vote_send_lag p99 (ms)",
            vec![(
                "vote_send_lag p99".into(),
                series(r, |f| f.vote_send_lag_p99),
            )],
        )
        .draw(vec![(
            "generator CPU %".into(),
            series(r, |f| Some(f.generator_cpu_share * 100.0)),
        )]),
    );
}

/// A latency line of the capacity page: its name, the SLO metric and quantile it is, and its
/// figure in a step.
type Latency = (&'static str, &'static str, f64, fn(&Figures) -> Option<f64>);

/// The vote-ack lines and the fan-out lines.
const VOTE_LINES: [Latency; 2] = [
    ("vote_ack p50", metric::VOTE_ACK, 0.5, |f| f.vote_ack_p50),
    ("vote_ack p99", metric::VOTE_ACK, 0.99, |f| f.vote_ack_p99),
];
const FANOUT_LINES: [Latency; 4] = [
    ("question:live p50", metric::FANOUT_LIVE, 0.5, |f| {
        f.question_live_p50
    }),
    ("question:live p99", metric::FANOUT_LIVE, 0.99, |f| {
        f.question_live_p99
    }),
    ("vote:result p99", metric::FANOUT_RESULT, 0.99, |f| {
        f.vote_result_p99
    }),
    ("timer update p99", metric::FANOUT_TIMER, 0.99, |f| {
        f.timer_update_p99
    }),
];

/// Vote ack, then fan-out, by voters, both axes logarithmic. Each SLO is drawn as a bound on
/// the chart of its kind (fan-out SLOs on the fan-out chart, any other on the vote-ack chart),
/// and an SLO on a figure the chart has no line for brings its own line, from each step's SLO
/// results, so that no bound stands without what it bounds.
fn latency_charts(page: &mut String, r: &CapacityReport) {
    let slos: Vec<_> = r
        .settings
        .slos
        .iter()
        .filter_map(|t| crate::report::parse_slo(t).ok())
        .collect();
    for (title, fanout, lines) in [
        (
            "Vote ack by voters (both axes logarithmic)",
            false,
            &VOTE_LINES[..],
        ),
        (
            "Fan-out delay by voters (both axes logarithmic)",
            true,
            &FANOUT_LINES[..],
        ),
    ] {
        let mut chart = by_voters(r, title, "ms", Scale::Log);
        let mut drawn: Lines = lines
            .iter()
            .map(|(name, _, _, figure)| ((*name).to_owned(), series(r, figure)))
            .collect();
        for slo in slos
            .iter()
            .filter(|s| metric::is_fanout(&s.metric) == fanout)
        {
            chart = chart.bound(format!("SLO {}", slo.text), slo.max_ms);
            let shown = lines
                .iter()
                .any(|(_, m, q, _)| *m == slo.metric && (q - slo.quantile).abs() < 1e-9);
            if !shown {
                let observed = r
                    .steps
                    .iter()
                    .filter_map(|st| {
                        let seen = st
                            .figures
                            .as_ref()?
                            .slos
                            .iter()
                            .find(|x| x.slo == slo.text)?;
                        Some((st.voters as f64, seen.observed_ms?))
                    })
                    .collect();
                drawn.push((
                    format!("{} (its SLO)", slo.text.split('<').next().unwrap_or("")),
                    observed,
                ));
            }
        }
        page.push_str(&chart.draw(drawn));
    }
}

/// What the latency chart shows, in a sentence.
fn knee_sentence(r: &CapacityReport) -> String {
    let n = |v: usize| thousands(v as u64);
    match (r.knee, &r.first_failure) {
        (Some(k), Some(f)) => format!(
            "The green mark is the knee, {} voters: the largest step that held every SLO (the dark dashed lines across) and every invariant. The red mark is the step after it, {} voters, which {}.",
            n(k),
            n(f.voters),
            if f.generator_limited {
                "failed with the generator near its limits"
            } else if f.outcome == Outcome::Error {
                "could not be run"
            } else {
                "failed"
            }
        ),
        (Some(k), None) => format!(
            "Every step held every SLO (the dark dashed lines) and every invariant, up to {} voters (the green mark).",
            n(k)
        ),
        (None, Some(f)) => format!(
            "No step passed: the first, {} voters (the red mark), already {}.",
            n(f.voters),
            if f.outcome == Outcome::Error {
                "could not be run"
            } else {
                "failed"
            }
        ),
        (None, None) => "No step has run yet.".into(),
    }
}

fn table(page: &mut String, r: &CapacityReport) {
    page.push_str("<h2>Steps</h2><div style=\"overflow-x:auto\"><table class=\"steps\"><tr><th>voters</th><th>outcome</th><th>vote_ack p50 ms</th><th>vote_ack p99 ms</th><th>question:live p50 ms</th><th>question:live p99 ms</th><th>vote:result p99 ms</th><th>timer p99 ms</th><th>deliveries/s mean</th><th>deliveries/s peak</th><th>server CPU s</th><th>server peak RSS MB</th><th>server CPU µs per delivery</th><th>generator CPU %</th><th>send lag p99 ms</th><th>wall s</th><th>why, notes</th></tr>");
    for st in &r.steps {
        let link = if st.figures.is_some() {
            format!(
                "<a href=\"{0}/index.html\">{1}</a>",
                esc(&st.report),
                thousands(st.voters as u64)
            )
        } else {
            thousands(st.voters as u64)
        };
        let _ = write!(
            page,
            "<tr><td>{link} <small><a href=\"{}/loadgen.log\">log</a></small></td><td class=\"l\"><span class=\"v {1}\">{1}</span></td>",
            esc(&st.report),
            outcome_word(st.outcome)
        );
        match &st.figures {
            Some(f) => {
                let _ = write!(
                    page,
                    "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{:.0}</td>",
                    ms(f.vote_ack_p50),
                    ms(f.vote_ack_p99),
                    ms(f.question_live_p50),
                    ms(f.question_live_p99),
                    ms(f.vote_result_p99),
                    ms(f.timer_update_p99),
                    f.deliveries_per_second_mean,
                    thousands(f.deliveries_per_second_peak),
                    f.server_cpu_secs.map_or("–".into(), |c| format!("{c:.1}")),
                    f.server_rss_kib
                        .map_or("–".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
                    f.server_cpu_us_per_delivery
                        .map_or("–".into(), |c| format!("{c:.1}")),
                    f.generator_cpu_share * 100.0,
                    ms(f.vote_send_lag_p99),
                    f.wall_secs
                );
            }
            None => page.push_str(&"<td>–</td>".repeat(14)),
        }
        let mut why: Vec<String> = st.why.iter().cloned().collect();
        why.extend(st.notes.iter().cloned());
        let _ = write!(
            page,
            "<td class=\"why{}\">{}</td></tr>",
            if st.outcome == Outcome::Pass {
                " warn"
            } else {
                " bad"
            },
            esc(&why.join(" · "))
        );
    }
    page.push_str("</table></div>");
}
