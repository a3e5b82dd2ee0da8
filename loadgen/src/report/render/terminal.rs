//! What a run prints when it ends.

use std::path::Path;

use super::super::summary::Summary;

/// Prints the metrics, the conferences, the violations and where the report is.
pub fn print(dir: &Path, s: &Summary) {
    for (name, m) in &s.metrics {
        eprintln!(
            "[loadgen] {name:<24} n={:<8} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
            m.count, m.p50, m.p99, m.max
        );
    }
    let bad = s.conferences.iter().filter(|c| !c.ok).count();
    eprintln!(
        "[loadgen] {} conferences ({} not ok), {} questions, {} sessions owed {} broadcasts, {} missed",
        s.conferences.len(),
        bad,
        s.questions.len(),
        s.delivery.sessions,
        s.delivery.owed,
        s.delivery.missed
    );
    eprintln!(
        "[loadgen] CPU per message received: generator {:.2} µs{}",
        s.generator.cpu_us_per_message,
        s.server_cpu_us_per_delivery
            .map_or(String::new(), |us| format!(", servers {us:.2} µs"))
    );
    for f in &s.faults {
        eprintln!(
            "[loadgen] fault {} at {}: {} votes sent, {} accepted, {} refused, {} unanswered; accepted again after {}; invariants {}",
            f.name,
            f.at,
            f.votes.sent,
            f.votes.accepted,
            f.votes.refused,
            f.votes.unanswered,
            f.accepted_again_ms
                .map_or("–".into(), |ms| format!("{:.1} s", ms as f64 / 1000.0)),
            if f.invariants_held { "held" } else { "BROKEN" }
        );
    }
    for w in &s.warnings {
        eprintln!("[loadgen] warning: {w}");
    }
    for x in &s.violations {
        eprintln!("[loadgen] \x1b[31mviolation: {x}\x1b[0m");
    }
    eprintln!(
        "[loadgen] {} — report {}",
        if s.invariants_ok { "PASS" } else { "FAIL" },
        dir.join("index.html").display()
    );
}
