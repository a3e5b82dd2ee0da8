//! `index.html`: the verdict, the tables, and the plots of a run.

use std::fmt::Write as _;

use crate::record::{Second, Snapshot, Spread, metric};

use super::super::summary::Summary;
use super::plot::{
    Lines, Mark, by_percentile, line_chart, marked_dual_axis_chart, marked_line_chart,
    percentile_chart,
};
use super::{clock_line, process_lines};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page's style, shared with the other pages loadgen writes.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px} .v{padding:.1em .5em;border-radius:4px;color:#fff} .PASS{background:#2a7d2a} .FAIL{background:#b22}
table{border-collapse:collapse;margin:1em 0} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right} th{background:#f3f3f3} td:first-child{text-align:left}
.bad{color:#b22} .warn{color:#a60}";

/// The HTML report of a run.
pub fn html(snap: &Snapshot, s: &Summary) -> String {
    let verdict = if s.invariants_ok { "PASS" } else { "FAIL" };
    let mut page = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Load run {id}</title><style>{STYLE}</style></head><body>
<h1>Load run {id} <span class="v {verdict}">{verdict}</span></h1>
<p>{workload} · {joined} joined · seed {seed} · targets {targets} · {shards} shard(s) · {machine} · {wall:.0} s</p>"#,
        id = esc(&s.run.run_id),
        workload = esc(&s.run.workload),
        joined = s.voters_joined,
        seed = s.run.seed,
        targets = esc(&s.run.targets.join(", ")),
        shards = s.run.shards,
        machine = esc(&s.run.machine),
        wall = s.run.wall_secs,
    );
    for v in &s.violations {
        let _ = write!(page, "<p class=\"bad\">✗ {}</p>", esc(v));
    }
    for w in &s.warnings {
        let _ = write!(page, "<p class=\"warn\">⚠ {}</p>", esc(w));
    }
    page.push_str("<h2>Latency (ms)</h2><table><tr><th>metric</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for (k, m) in &s.metrics {
        let _ = write!(
            page,
            "<tr><td>{k}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            m.count, m.p50, m.p90, m.p99, m.p999, m.max
        );
    }
    page.push_str("</table>");
    let _ = write!(
        page,
        "<p>Sessions: {} ({} voters joined), owed {} broadcasts, missed {}, received twice {}. Churn: {} arrived late, {} left, {} dropped and {} came back.</p>",
        s.delivery.sessions,
        s.voters_joined,
        s.delivery.owed,
        s.delivery.missed,
        s.delivery.duplicated,
        s.churn.arrived,
        s.churn.left,
        s.churn.dropped,
        s.churn.returned
    );
    if let Some(slow) = s.churn.describe_slow() {
        let _ = write!(page, "<p>Slow readers: {}.</p>", esc(&slow));
    }
    if s.conferences.len() > 1 {
        page.push_str("<h2>Conferences</h2><table><tr><th>conference</th><th>voters</th><th>from the start</th><th>joined</th><th>sessions</th><th>broadcasts owed</th><th>missed</th><th>twice</th><th>ok</th></tr>");
        for c in &s.conferences {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.conference_id),
                c.voters,
                c.initial,
                c.joined,
                c.sessions,
                c.owed,
                c.missed,
                c.duplicated,
                if c.ok { "✓" } else { "✗" }
            );
        }
        page.push_str("</table>");
    }
    page.push_str("<h2>Questions</h2><table><tr><th>question</th><th>votes sent</th><th>accepted</th><th>final totalVotes</th><th>rejected</th><th>ok</th></tr>");
    for q in &s.questions {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&q.question_id),
            q.votes_sent,
            q.accepted_votes,
            q.final_total_votes.map_or("–".into(), |v| v.to_string()),
            esc(&format!("{:?}", q.rejected_by_reason)),
            if q.ok { "✓" } else { "✗" }
        );
    }
    page.push_str("</table>");
    faults_table(&mut page, s);
    page.push_str("<h2>Processes and clock</h2><ul>");
    for line in process_lines(s).into_iter().chain([clock_line(s)]) {
        let _ = write!(page, "<li>{}</li>", esc(&line));
    }
    page.push_str("</ul>");
    plots(&mut page, snap, s);
    page.push_str("<p>Goose's own report: <a href=\"goose.html\">goose.html</a>. HDR interval logs (V2 deflate): one <code>.hlog</code> per metric. The measurements: <code>shard.json</code> (mergeable with <code>loadgen merge</code>, comparable with <code>loadgen compare</code>).</p></body></html>");
    page
}

/// The faults, one row each: what the votes came to while it lasted and how long until votes
/// were accepted again.
fn faults_table(page: &mut String, s: &Summary) {
    if s.faults.is_empty() {
        return;
    }
    page.push_str("<h2>Faults</h2><table><tr><th>fault</th><th>at</th><th>lasted</th><th>votes sent</th><th>accepted</th><th>refused</th><th>unanswered</th><th>first failure</th><th>accepted again</th><th>back in the room</th><th>errors</th><th>owed broadcasts missed</th><th>invariants</th></tr>");
    let secs = |ms: Option<i64>| {
        ms.map_or("–".to_owned(), |ms| {
            format!("{:.1} s", ms as f64 / 1000.0)
        })
    };
    for f in &s.faults {
        if f.skipped {
            let _ = write!(
                page,
                "<tr><td>{}</td><td>{}</td><td colspan=\"11\">never ran: the run ended first</td></tr>",
                esc(&f.name),
                esc(&f.at)
            );
            continue;
        }
        let lasted = f.began.zip(f.ended).map(|(b, e)| e - b);
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.name),
            esc(&f.at),
            secs(lasted),
            f.votes.sent,
            f.votes.accepted,
            f.votes.refused,
            f.votes.unanswered,
            secs(f.first_failure_ms),
            secs(f.accepted_again_ms),
            f.rejoins,
            esc(&format!("{:?}", f.errors_by_code)),
            f.missed_broadcasts,
            if f.invariants_held {
                "held ✓"
            } else {
                "broken ✗"
            }
        );
    }
    let _ = write!(
        page,
        "</table><p>A fault's effects are counted from its start to {} s after its end. Its span is shaded on every plot over time.</p>",
        super::super::faults::AFTERMATH_MS / 1000
    );
}

fn plots(page: &mut String, snap: &Snapshot, s: &Summary) {
    let t0 = snap.seconds.keys().next().copied().unwrap_or(0);
    let marks: Vec<Mark> = s
        .faults
        .iter()
        .filter_map(|f| {
            let (b, e) = f.began.zip(f.ended)?;
            Some(Mark {
                from: b as f64 / 1000.0 - t0 as f64,
                to: e as f64 / 1000.0 - t0 as f64,
                label: f.name.clone(),
            })
        })
        .collect();
    let per_second = |f: &dyn Fn(&Second) -> f64| -> Vec<(f64, f64)> {
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
                    .map(|(sec, h)| {
                        let h = crate::record::codec::decode(h);
                        ((sec - t0) as f64, h.value_at_quantile(q) as f64 / 1000.0)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let by_percentile_of = |names: &[&str]| -> Lines {
        names
            .iter()
            .filter_map(|m| Some((m.to_string(), by_percentile(&snap.histogram(m)?))))
            .collect()
    };
    page.push_str(&percentile_chart(
        "Vote ack, connect and join by percentile",
        by_percentile_of(&[
            metric::VOTE_ACK,
            metric::VOTE_SEND_LAG,
            metric::CONNECT,
            metric::JOIN,
        ]),
    ));
    page.push_str(&percentile_chart(
        "Fan-out delay by percentile",
        by_percentile_of(&[
            metric::FANOUT_LIVE,
            metric::FANOUT_TIMER,
            metric::FANOUT_RESULT,
            metric::FANOUT_CLOSED,
            metric::FANOUT_FINAL,
        ]),
    ));
    page.push_str(&marked_line_chart(
        "Vote ack over time",
        "seconds",
        "ms",
        None,
        320,
        vec![
            ("p50".into(), over_time(metric::VOTE_ACK, 0.5)),
            ("p99".into(), over_time(metric::VOTE_ACK, 0.99)),
            (
                "generator send lag p99".into(),
                over_time(metric::VOTE_SEND_LAG, 0.99),
            ),
        ],
        &marks,
    ));
    page.push_str(&marked_line_chart(
        "Fan-out delay over time (p99)",
        "seconds",
        "ms",
        None,
        320,
        vec![
            ("question:live".into(), over_time(metric::FANOUT_LIVE, 0.99)),
            ("timer".into(), over_time(metric::FANOUT_TIMER, 0.99)),
            ("vote:result".into(), over_time(metric::FANOUT_RESULT, 0.99)),
        ],
        &marks,
    ));
    page.push_str(&marked_line_chart(
        "Connected voters",
        "seconds",
        "voters",
        None,
        280,
        vec![("connected".into(), per_second(&|v| v.connected as f64))],
        &marks,
    ));
    page.push_str(&marked_dual_axis_chart(
        "Throughput per second",
        "seconds",
        (
            "deliveries per second",
            vec![("deliveries/s".into(), per_second(&|v| v.deliveries as f64))],
        ),
        (
            "vote answers per second",
            vec![("vote answers/s".into(), per_second(&|v| v.votes as f64))],
        ),
        &marks,
    ));
    let spreads: Vec<(f64, f64)> = {
        let mut b: Vec<&Spread> = snap
            .broadcasts
            .iter()
            .filter(|(k, _)| !k.starts_with("question:timer"))
            .map(|(_, s)| s)
            .collect();
        b.sort_by_key(|s| s.first);
        b.iter()
            .enumerate()
            .map(|(i, s)| (i as f64, (s.last - s.first) as f64))
            .collect()
    };
    page.push_str(&line_chart(
        "Fan-out spread per broadcast: first to last recipient (timer updates left out)",
        "broadcasts, in the order they went out",
        "ms",
        None,
        320,
        vec![("spread".into(), spreads)],
    ));
}
