//! `compare.html`: both runs named with their workloads, targets, machines and verdicts; the
//! rules; the invariants side by side; per latency metric a table of both runs with the change
//! and a latency-by-percentile chart with both runs over each other; throughput; CPU and
//! memory. Built on the run report's style and charts, so the two pages read alike.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::delta::{Delta, NOTABLE_PCT, Trend};
use super::invariants::Standing;
use super::{Comparison, MetricComparison, RunSide};
use crate::report::render::html::{STYLE, esc};
use crate::report::render::plot::{paired, percentile_series_chart};

/// Rows that got worse or better, on top of the run report's style.
const MORE_STYLE: &str = "tr.worse td{background:#fde4e4} tr.better td{background:#e5f3e5} .cmp{display:flex;gap:1em;align-items:flex-start;flex-wrap:wrap} h3{margin-bottom:.2em}";

/// The page; `out` is where it is written, for the links to each run's own report.
pub fn html(c: &Comparison, out: &Path) -> String {
    let (a, b) = (&c.a, &c.b);
    let mut p = String::new();
    let _ = write!(
        p,
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Compare {la} and {lb}</title><style>{STYLE} {MORE_STYLE}</style></head><body>
<h1>{la} <span class="v {va}">{va}</span> vs {lb} <span class="v {vb}">{vb}</span></h1>
<p>A is the baseline, B the change: every change below is B − A.{rules}</p>"#,
        la = esc(&a.label),
        lb = esc(&b.label),
        va = a.verdict(),
        vb = b.verdict(),
        rules = rules_line(c),
    );
    header(&mut p, c, out);
    if !c.caveats.is_empty() {
        p.push_str("<h2>Before reading on</h2>");
        for w in &c.caveats {
            let _ = write!(p, "<p class=\"warn\">⚠ {}</p>", esc(w));
        }
    }
    if !c.rules.is_empty() {
        p.push_str(
            "<h2>Rules (--fail-if)</h2><table><tr><th>rule</th><th>outcome</th><th>why</th></tr>",
        );
        for r in &c.rules {
            let _ = write!(
                p,
                "<tr class=\"{}\"><td><code>{}</code></td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                if r.tripped { "worse" } else { "" },
                esc(&r.rule),
                if r.tripped { "tripped" } else { "held" },
                esc(&r.why)
            );
        }
        p.push_str("</table>");
    }
    invariants(&mut p, c);
    latency(&mut p, c);
    p.push_str("<h2>Throughput</h2>");
    table(&mut p, c, &c.throughput);
    resources(&mut p, c);
    let _ = write!(
        p,
        "<p>Rows are shaded when B moved at least {NOTABLE_PCT} % the worse way (red) or the better way (green); counts are not shaded (they follow the workload). The same comparison: <a href=\"compare.md\">compare.md</a> (for a pull request), <a href=\"compare.json\">compare.json</a> (for programs).</p></body></html>"
    );
    p
}

fn rules_line(c: &Comparison) -> String {
    let tripped = c.rules.iter().filter(|r| r.tripped).count();
    match (c.rules.len(), tripped) {
        (0, _) => String::new(),
        (n, 0) => format!(" <span class=\"v PASS\">{n} rule(s) held</span>"),
        (n, t) => format!(" <span class=\"v FAIL\">{t} of {n} rule(s) tripped</span>"),
    }
}

fn header(p: &mut String, c: &Comparison, out: &Path) {
    let (a, b) = (&c.a, &c.b);
    let _ = write!(
        p,
        "<table><tr><th></th><th>A: {}</th><th>B: {}</th></tr>",
        esc(&a.label),
        esc(&b.label)
    );
    let mut row = |name: &str, f: &dyn Fn(&RunSide) -> String| {
        let _ = write!(
            p,
            "<tr><td>{name}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
            f(a),
            f(b)
        );
    };
    row("verdict", &|s| {
        format!(
            "<span class=\"v {v}\">{v}</span> ({} violations, {} warnings)",
            s.violations.len(),
            s.warnings.len(),
            v = s.verdict()
        )
    });
    row("run", &|s| esc(&s.run_id));
    row("workload", &|s| esc(&s.workload));
    row("voters", &|s| {
        format!("{} planned, {} joined", s.voters, s.voters_joined)
    });
    row("targets", &|s| esc(&s.targets.join(", ")));
    row("machine", &|s| esc(&s.machine));
    row("seed, shards, wall time", &|s| {
        format!("{}, {}, {:.0} s", s.seed, s.shards, s.wall_secs)
    });
    row("clock", &|s| esc(&s.clock));
    row("report", &|s| match link(out, &s.dir) {
        Some(href) => format!(
            "<a href=\"{}\">{}</a>",
            esc(&href),
            esc(&s.dir.join("index.html").display().to_string())
        ),
        None => format!("{} (no index.html)", esc(&s.dir.display().to_string())),
    });
    p.push_str("</table>");
    for s in [a, b] {
        for n in &s.notes {
            let _ = write!(p, "<p class=\"warn\">⚠ {}: {}</p>", esc(&s.label), esc(n));
        }
    }
}

/// The link from `out` to `dir`'s `index.html`, relative when both resolve.
fn link(out: &Path, dir: &Path) -> Option<String> {
    let index = dir.join("index.html");
    if !index.is_file() {
        return None;
    }
    let path = match (out.canonicalize(), index.canonicalize()) {
        (Ok(from), Ok(to)) => relative(&from, &to),
        _ => std::path::absolute(&index).unwrap_or(index),
    };
    let text = path.to_string_lossy();
    Some(
        text.replace('%', "%25")
            .replace(' ', "%20")
            .replace('#', "%23")
            .replace('?', "%3F"),
    )
}

/// `to` as seen from the folder `from` (both absolute).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let (f, t): (Vec<Component>, Vec<Component>) =
        (from.components().collect(), to.components().collect());
    let common = f.iter().zip(&t).take_while(|(x, y)| x == y).count();
    let mut p = PathBuf::new();
    for _ in common..f.len() {
        p.push("..");
    }
    for c in &t[common..] {
        p.push(c);
    }
    p
}

fn invariants(p: &mut String, c: &Comparison) {
    let (a, b) = (&c.a, &c.b);
    p.push_str("<h2>Invariants</h2>");
    let lines: Vec<(Standing, String)> = c
        .invariants
        .iter()
        .filter_map(|i| Some((i.standing, i.line(&a.label, &b.label)?)))
        .collect();
    if lines.is_empty() {
        let _ = write!(
            p,
            "<p>Both runs agree on every invariant: {} {}, {} {}.</p>",
            esc(&a.label),
            a.verdict(),
            esc(&b.label),
            b.verdict()
        );
    }
    for (standing, line) in &lines {
        let (class, mark) = match standing {
            Standing::BrokenInB => ("bad", "✗"),
            Standing::BrokenInA => ("warn", "✓"),
            _ => ("", "·"),
        };
        let _ = write!(p, "<p class=\"{class}\">{mark} {}</p>", esc(line));
    }
    let _ = write!(
        p,
        "<table><tr><th>invariant</th><th>{}</th><th>{}</th></tr>",
        esc(&a.label),
        esc(&b.label)
    );
    for i in &c.invariants {
        let cell = |x: &Option<super::invariants::Check>| match x {
            None => "not judged".to_owned(),
            Some(k) if k.holds => "✓".to_owned(),
            Some(k) => format!(
                "<span class=\"bad\">✗ {}</span>",
                esc(k.detail.as_deref().unwrap_or(""))
            ),
        };
        let _ = write!(
            p,
            "<tr class=\"{}\"><td>{}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
            if i.standing == Standing::BrokenInB {
                "worse"
            } else {
                ""
            },
            esc(&i.what),
            cell(&i.a),
            cell(&i.b)
        );
    }
    p.push_str("</table>");
    for s in [a, b] {
        if s.violations.is_empty() && s.warnings.is_empty() {
            continue;
        }
        let _ = write!(p, "<h3>{} {}</h3>", esc(&s.label), s.verdict());
        for v in &s.violations {
            let _ = write!(p, "<p class=\"bad\">✗ {}</p>", esc(v));
        }
        for w in &s.warnings {
            let _ = write!(p, "<p class=\"warn\">⚠ {}</p>", esc(w));
        }
    }
}

fn latency(p: &mut String, c: &Comparison) {
    p.push_str("<h2>Latency</h2>");
    let no_plots: Vec<&str> = [&c.a, &c.b]
        .into_iter()
        .filter(|s| !s.plots)
        .map(|s| s.label.as_str())
        .collect();
    if !no_plots.is_empty() {
        let _ = write!(
            p,
            "<p class=\"warn\">⚠ No latency-by-percentile curve for {} (no readable shard.json): the charts show what there is, the tables are complete.</p>",
            esc(&no_plots.join(" and "))
        );
    }
    p.push_str("<p>Per metric, both runs' figures (ms; count in samples). The charts show latency by percentile: A solid, B dashed in the same colour.</p>");
    for (i, m) in c.metrics.iter().enumerate() {
        metric(p, c, m, i);
    }
}

fn metric(p: &mut String, c: &Comparison, m: &MetricComparison, i: usize) {
    let _ = write!(p, "<h3>{}</h3>", esc(&m.name));
    for (s, why) in [(&c.a, &m.missing_in_a), (&c.b, &m.missing_in_b)] {
        if let Some(why) = why {
            let _ = write!(
                p,
                "<p class=\"warn\">⚠ no figures in {}: {}</p>",
                esc(&s.label),
                esc(why)
            );
        }
    }
    p.push_str("<div class=\"cmp\">");
    table(p, c, &m.figures);
    if m.curve_a.is_some() || m.curve_b.is_some() {
        let mut series = paired(
            &c.a.label,
            &c.b.label,
            vec![(m.name.clone(), m.curve_a.clone(), m.curve_b.clone())],
        );
        // One colour per metric across the page.
        for s in &mut series {
            s.color = i;
        }
        let _ = write!(
            p,
            "<div>{}</div>",
            percentile_series_chart(&format!("{} by percentile", m.name), &series)
        );
    }
    p.push_str("</div>");
}

/// A table of figures: A, B, the change and the change in %, shaded by trend.
fn table(p: &mut String, c: &Comparison, rows: &[Delta]) {
    let _ = write!(
        p,
        "<table><tr><th>figure</th><th>{}</th><th>{}</th><th>Δ</th><th>Δ %</th></tr>",
        esc(&c.a.label),
        esc(&c.b.label)
    );
    for d in rows {
        let class = match d.trend {
            Trend::Worse => "worse",
            Trend::Better => "better",
            Trend::Even | Trend::Missing => "",
        };
        let _ = write!(
            p,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.figure.replace(".p999", ".p99.9")),
            d.show_a(),
            d.show_b(),
            d.show_change(),
            d.show_percent()
        );
    }
    p.push_str("</table>");
}

fn resources(p: &mut String, c: &Comparison) {
    p.push_str("<h2>CPU and memory</h2><p>The generator's processes summed (its busiest process's share of its CPUs), and the watched server processes summed (<code>--server-pid</code>, or those a profile started).</p>");
    table(p, c, &c.resources);
    let rows = c.a.servers.len().max(c.b.servers.len());
    if rows == 0 {
        p.push_str("<p>No server process was watched in either run (an in-process server shares the generator's process and its figures).</p>");
        return;
    }
    let _ = write!(
        p,
        "<table><tr><th>server process</th><th>{a} pid</th><th>{a} peak RSS</th><th>{a} CPU</th><th>{b} pid</th><th>{b} peak RSS</th><th>{b} CPU</th></tr>",
        a = esc(&c.a.label),
        b = esc(&c.b.label)
    );
    for i in 0..rows {
        let cells = |s: &RunSide| match s.servers.get(i) {
            Some(v) => format!(
                "<td>{}{}</td><td>{:.1} MB</td><td>{:.1} s</td>",
                v.pid,
                if v.exited { " (exited)" } else { "" },
                v.rss_kib as f64 / 1024.0,
                v.cpu_secs
            ),
            None => "<td>–</td><td>–</td><td>–</td>".to_owned(),
        };
        let _ = write!(
            p,
            "<tr><td>{}</td>{}{}</tr>",
            i + 1,
            cells(&c.a),
            cells(&c.b)
        );
    }
    p.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_climb_and_descend() {
        assert_eq!(
            relative(Path::new("/r/compare-x"), Path::new("/r/a/index.html")),
            Path::new("../a/index.html")
        );
        assert_eq!(
            relative(Path::new("/r"), Path::new("/r/a/index.html")),
            Path::new("a/index.html")
        );
    }
}
