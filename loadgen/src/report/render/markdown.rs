//! `summary.md`: the run in a few tables, for a pull request or a ticket.

use std::fmt::Write as _;

use super::super::summary::Summary;
use super::{clock_line, ms, process_lines};

/// The Markdown summary of a run.
pub fn markdown(s: &Summary) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Load run {} — {}\n",
        s.run.run_id,
        if s.invariants_ok { "PASS" } else { "FAIL" }
    );
    let _ = writeln!(
        md,
        "{}; {} joined; targets {}\n",
        s.run.workload,
        s.voters_joined,
        s.run.targets.join(", ")
    );
    let _ = writeln!(
        md,
        "| metric | count | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n|---|---|---|---|---|---|---|"
    );
    for (k, m) in &s.metrics {
        let _ = writeln!(
            md,
            "| {k} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            m.count, m.p50, m.p90, m.p99, m.p999, m.max
        );
    }
    if s.conferences.len() > 1 {
        let _ = writeln!(
            md,
            "\n| conference | voters | joined | sessions | owed | missed | ok |\n|---|---|---|---|---|---|---|"
        );
        for c in &s.conferences {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                c.conference_id,
                c.voters,
                c.joined,
                c.sessions,
                c.owed,
                c.missed,
                if c.ok { "✓" } else { "✗" }
            );
        }
    }
    let _ = writeln!(
        md,
        "\n| question | accepted | final totalVotes | ok |\n|---|---|---|---|"
    );
    for q in &s.questions {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            q.question_id,
            q.accepted_votes,
            q.final_total_votes.map_or("–".into(), |v| v.to_string()),
            if q.ok { "✓" } else { "✗" }
        );
    }
    let _ = writeln!(
        md,
        "\nDeliveries: {} (peak {}/s). Sessions: {}, owed {} broadcasts, missed {}. Churn: {} arrived late, {} left, {} dropped and {} came back. Reconnections after a lost connection: {}. Errors: {:?}.",
        s.deliveries,
        s.deliveries_per_second_peak,
        s.delivery.sessions,
        s.delivery.owed,
        s.delivery.missed,
        s.churn.arrived,
        s.churn.left,
        s.churn.dropped,
        s.churn.returned,
        s.reconnects,
        s.errors_by_code
    );
    if let Some(slow) = s.churn.describe_slow() {
        let _ = writeln!(md, "\nSlow readers: {slow}.");
    }
    if !s.faults.is_empty() {
        let _ = writeln!(
            md,
            "\n| fault | at | votes sent | accepted | refused | unanswered | accepted again after | errors | invariants |\n|---|---|---|---|---|---|---|---|---|"
        );
        for f in &s.faults {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {:?} | {} |",
                f.name,
                f.at,
                f.votes.sent,
                f.votes.accepted,
                f.votes.refused,
                f.votes.unanswered,
                match (f.skipped, f.accepted_again_ms, f.first_failure_ms) {
                    (true, _, _) => "never ran".to_owned(),
                    (_, Some(ms), _) => format!("{:.1} s", ms as f64 / 1000.0),
                    (_, None, None) => "no vote failed".to_owned(),
                    (_, None, Some(_)) => "never".to_owned(),
                },
                f.errors_by_code,
                if f.invariants_held {
                    "held"
                } else {
                    "**broken**"
                }
            );
        }
    }
    let _ = writeln!(md);
    let _ = writeln!(md, "- {}", clock_line(s));
    for line in process_lines(s) {
        let _ = writeln!(md, "- {line}");
    }
    for slo in &s.slos {
        let _ = writeln!(
            md,
            "- SLO {}: {} ({} ms)",
            slo.slo,
            if slo.ok { "met" } else { "missed" },
            ms(slo.observed_ms)
        );
    }
    for w in &s.warnings {
        let _ = writeln!(md, "- warning: {w}");
    }
    for v in &s.violations {
        let _ = writeln!(md, "- **violation**: {v}");
    }
    md
}
