//! JUnit XML for CI: a test suite per feature, a test case per scenario (outline examples named
//! by their values); a failed scenario has its `<failure>`, a scenario that did not run is
//! `<skipped>` with its reason (not claimed, not applicable).

use std::fmt::Write as _;

use super::{Outcome, Report, escape};

/// The report as JUnit XML.
pub fn xml(r: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let skipped = r.summary.not_claimed + r.summary.not_applicable;
    let _ = writeln!(
        out,
        "<testsuites name=\"conformance: {}\" tests=\"{}\" failures=\"{}\" skipped=\"{skipped}\">",
        escape(&r.profile),
        r.summary.total(),
        r.summary.failed
    );
    for f in &r.features {
        let count = |o: Outcome| f.scenarios.iter().filter(|s| s.outcome == o).count();
        let time: f64 = f.scenarios.iter().map(|s| s.duration_ms).sum::<f64>() / 1000.0;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{time:.3}\">",
            escape(&f.name),
            f.scenarios.len(),
            count(Outcome::Failed),
            count(Outcome::NotClaimed) + count(Outcome::NotApplicable)
        );
        for s in &f.scenarios {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(&f.name),
                escape(&s.name),
                s.duration_ms / 1000.0
            );
            match s.outcome {
                Outcome::Passed => out.push_str("/>\n"),
                Outcome::Failed => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        escape(s.failed_step.as_deref().unwrap_or("failed")),
                        escape(s.error.as_deref().unwrap_or(""))
                    );
                }
                Outcome::NotClaimed | Outcome::NotApplicable => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}: {}\"/>\n    </testcase>",
                        s.outcome.as_str(),
                        escape(s.reason.as_deref().unwrap_or(""))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
