//! `compare.md`: the comparison in a pull request comment: the verdicts, p50 and p99 of the
//! metrics that matter (vote_ack and the fan-out first), throughput and resources in a line
//! each, the invariants, the rules and whether they tripped. The details stay in
//! `compare.html`.

use std::fmt::Write as _;

use super::Comparison;
use super::delta::{Delta, NOTABLE_PCT, Trend};

/// A table cell: `|` escaped, newlines flattened.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// B − A and its relative change, bold when worse.
fn change(d: Option<&Delta>) -> String {
    let Some(d) = d else {
        return "–".into();
    };
    let text = match d.change {
        None => "–".to_owned(),
        Some(x) => format!("{x:+.2} ({})", d.show_percent()),
    };
    if d.trend == Trend::Worse {
        format!("**{text}**")
    } else {
        text
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

/// The Markdown comparison.
pub fn markdown(c: &Comparison) -> String {
    let (a, b) = (&c.a, &c.b);
    let (la, lb) = (cell(&a.label), cell(&b.label));
    let mut md = String::new();
    let _ = writeln!(md, "## loadgen compare: {la} (A) vs {lb} (B)\n");
    let _ = writeln!(md, "| | {la} (A) | {lb} (B) |\n|---|---|---|");
    let verdict = |s: &super::RunSide| {
        if s.passed {
            "PASS".to_owned()
        } else {
            format!("**FAIL** ({} violations)", s.violations.len())
        }
    };
    let rows: [(&str, String, String); 5] = [
        ("verdict", verdict(a), verdict(b)),
        ("run", cell(&a.run_id), cell(&b.run_id)),
        ("workload", cell(&a.workload), cell(&b.workload)),
        (
            "targets",
            cell(&a.targets.join(", ")),
            cell(&b.targets.join(", ")),
        ),
        ("machine", cell(&a.machine), cell(&b.machine)),
    ];
    for (name, x, y) in rows {
        let _ = writeln!(md, "| {name} | {x} | {y} |");
    }

    let _ = writeln!(
        md,
        "\n| metric (ms) | p50 {la} | p50 {lb} | Δ p50 | p99 {la} | p99 {lb} | Δ p99 |\n|---|---:|---:|---:|---:|---:|---:|"
    );
    for m in &c.metrics {
        let (p50, p99) = (m.get("p50"), m.get("p99"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&m.name),
            ms(p50.and_then(|d| d.a)),
            ms(p50.and_then(|d| d.b)),
            change(p50),
            ms(p99.and_then(|d| d.a)),
            ms(p99.and_then(|d| d.b)),
            change(p99)
        );
    }
    let _ = writeln!(
        md,
        "\nBold: B worse by at least {NOTABLE_PCT} %. A metric with no figures in a run shows –."
    );
    let line = |ds: &[Delta], names: &[(&str, &str)]| -> String {
        names
            .iter()
            .filter_map(|(figure, title)| Some((ds.iter().find(|d| d.figure == *figure)?, title)))
            .map(|(d, title)| {
                let text = format!(
                    "{title} {} → {} ({})",
                    d.show_a(),
                    d.show_b(),
                    d.show_percent()
                );
                if d.trend == Trend::Worse {
                    format!("**{text}**")
                } else {
                    text
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let _ = writeln!(
        md,
        "\n- Deliveries per second: {}",
        line(
            &c.throughput,
            &[
                ("deliveries_per_second.mean", "mean"),
                ("deliveries_per_second.peak", "peak")
            ]
        )
    );
    let _ = writeln!(
        md,
        "- Generator: {}",
        line(
            &c.resources,
            &[
                ("generator.rss_kib", "peak RSS"),
                ("generator.cpu_secs", "CPU")
            ]
        )
    );
    let _ = writeln!(
        md,
        "- Servers: {}",
        if a.servers.is_empty() && b.servers.is_empty() {
            "none watched".to_owned()
        } else {
            line(
                &c.resources,
                &[("servers.rss_kib", "peak RSS"), ("servers.cpu_secs", "CPU")],
            )
        }
    );

    let _ = writeln!(md, "\n### Invariants\n");
    let lines: Vec<String> = c
        .invariants
        .iter()
        .filter_map(|i| i.line(&a.label, &b.label))
        .collect();
    if lines.is_empty() {
        let _ = writeln!(
            md,
            "- Both runs agree on every invariant: {la} {}, {lb} {}.",
            a.verdict(),
            b.verdict()
        );
    }
    for l in lines {
        let _ = writeln!(md, "- {}", cell(&l));
    }
    for s in [a, b] {
        const SHOWN: usize = 5;
        for v in s.violations.iter().take(SHOWN) {
            let _ = writeln!(md, "- {} violation: {}", cell(&s.label), cell(v));
        }
        if s.violations.len() > SHOWN {
            let _ = writeln!(
                md,
                "- {}: {} more violations (compare.html)",
                cell(&s.label),
                s.violations.len() - SHOWN
            );
        }
    }

    let _ = writeln!(md, "\n### Rules\n");
    if c.rules.is_empty() {
        let _ = writeln!(md, "- No `--fail-if` rule was given.");
    }
    for r in &c.rules {
        let _ = writeln!(
            md,
            "- `{}`: {} — {}",
            r.rule,
            if r.tripped { "**tripped**" } else { "held" },
            cell(&r.why)
        );
    }
    if !c.caveats.is_empty() {
        let _ = writeln!(md, "\n### Caveats\n");
        for w in &c.caveats {
            let _ = writeln!(md, "- {}", cell(w));
        }
    }
    for s in [a, b] {
        for n in &s.notes {
            let _ = writeln!(md, "- {}: {}", cell(&s.label), cell(n));
        }
    }
    let _ = writeln!(
        md,
        "\nEvery figure, the plots and CPU and memory per process: `compare.html`."
    );
    md
}
