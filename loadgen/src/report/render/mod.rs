//! The report's forms: `index.html` with its plots, `summary.md` for a pull request or a
//! ticket, and the lines printed at the end of a run.

pub mod html;
pub mod markdown;
pub mod plot;
pub mod terminal;

use super::summary::Summary;

/// A figure in ms with two decimals, or "–".
pub(crate) fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

/// One line per process measured: the generator, then each watched server.
pub(crate) fn process_lines(s: &Summary) -> Vec<String> {
    let mb = |kib: u64| kib as f64 / 1024.0;
    let g = &s.generator;
    let mut lines = vec![format!(
        "generator: {:.0} MB peak RSS, {:.1} s CPU ({:.2} µs per message received), busiest process {:.0} % of its CPUs",
        mb(g.rss_kib),
        g.cpu_secs,
        g.cpu_us_per_message,
        g.cpu_share * 100.0
    )];
    if let Some(us) = s.server_cpu_us_per_delivery {
        lines.push(format!(
            "servers: {us:.2} CPU µs per delivery, all watched processes together"
        ));
    }
    for v in &s.servers {
        lines.push(format!(
            "server pid {}: {:.0} MB peak RSS, {:.1} s CPU in the run{}",
            v.pid,
            mb(v.rss_kib),
            v.cpu_secs,
            if v.exited {
                " (exited during the run: its last reading)"
            } else {
                ""
            }
        ));
    }
    lines
}

/// The clock in one sentence.
pub(crate) fn clock_line(s: &Summary) -> String {
    let c = &s.clock;
    let mode = match c.mode {
        Some(crate::clock::ClockMode::Estimate) => "estimate",
        _ => "same",
    };
    match (c.offset_ms, c.error_ms) {
        (Some(o), Some(e)) => format!(
            "clock: {mode}; the servers' clock is {o:+.1} ms ± {e:.1} ms from this machine's (from {} vote answers){}",
            c.targets.iter().map(|(_, b)| b.samples).sum::<u64>(),
            if c.corrected {
                "; fan-out figures corrected by it"
            } else {
                ""
            }
        ),
        _ => format!("clock: {mode}; no vote answer to estimate the servers' clock from"),
    }
}
