//! `loadgen compare A B`: the comparison of two report folders written, the Markdown printed
//! when asked, and the `--fail-if` rules' outcome as the exit status.

use anyhow::Context;
use loadgen::cli::CompareCli;
use loadgen::compare::Comparison;
use loadgen::compare::rule::{self, Rule};

/// Compares the two runs; true when no rule tripped. Rules are parsed before anything is read,
/// so a malformed one fails at once.
pub fn compare(cli: CompareCli) -> anyhow::Result<bool> {
    let rules = cli
        .fail_if
        .iter()
        .map(|r| rule::parse(r))
        .collect::<Result<Vec<Rule>, _>>()?;
    let cmp = Comparison::build(&cli.a, &cli.b, (cli.label_a, cli.label_b), &rules)?;
    let out = cli.report_dir.unwrap_or_else(|| cmp.default_dir());
    cmp.write(&out)
        .with_context(|| format!("writing the comparison into {}", out.display()))?;
    if cli.markdown {
        print!("{}", loadgen::compare::markdown::markdown(&cmp));
    }
    for s in [&cmp.a, &cmp.b] {
        eprintln!(
            "[loadgen compare] {}: {} ({})",
            s.label,
            s.verdict(),
            s.dir.display()
        );
    }
    for r in &cmp.rules {
        eprintln!(
            "[loadgen compare] {} {}: {}",
            if r.tripped { "TRIPPED" } else { "held" },
            r.rule,
            r.why
        );
    }
    eprintln!(
        "[loadgen compare] {} — {}",
        if cmp.tripped() {
            "a rule tripped"
        } else {
            "no rule tripped"
        },
        out.join("compare.html").display()
    );
    Ok(!cmp.tripped())
}
