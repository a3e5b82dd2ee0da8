//! `--fail-if` rules: when a comparison should fail a CI gate.
//!
//! ```text
//! rule    = "invariants" | "invariants-regressed" | figure op change
//! figure  = metric "." statistic        vote_ack.p99, fanout_vote_result.p99.9, join.count,
//!                                       deliveries_per_second.mean, servers.cpu_secs, ...
//! op      = ">" | ">=" | "<" | "<="
//! change  = sign number [unit]          sign: "+" or "-", always written
//! unit    = "%" | "us" | "µs" | "ms" | "s"   none: a plain number, for counts, rates, KiB
//! ```
//!
//! A rule compares B with A: `vote_ack.p99 > +10%` trips when B's p99 is more than 10 % above
//! A's; `vote_ack.p99 > +5ms` when it is more than 5 ms above; `deliveries_per_second.mean <
//! -10%` when B's mean fell by more than 10 %. The sign is required, so `< 10%` cannot be
//! misread as a fall. A relative change from 0 is infinite in B's direction (0 to 0 is no
//! change). Time units are for latencies (in ms) and CPU seconds; plain numbers for the other
//! figures.
//!
//! A rule on a figure missing from either run (fan-out withheld, no samples, no server watched)
//! **trips**: a gate must not pass because the number it guards was not measured. A figure name
//! loadgen does not know is an error (exit 2), as is any rule that does not parse, so a typo
//! never passes as a held rule.
//!
//! `invariants` trips when B breaks any invariant, whatever A did: correctness is not relative,
//! and a change that keeps a known breakage must not pass a gate. `invariants-regressed` trips
//! only when B breaks an invariant A holds (see [`super::invariants`]), for a baseline that
//! already fails.

use serde::{Deserialize, Serialize};

use super::delta::{percent_change, show_percent};
use super::figure::{self, Kind};
use super::invariants::{InvariantComparison, Standing};
use crate::report::Summary;

/// A rule that does not parse, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--fail-if `{rule}`: {problem}")]
pub struct RuleError {
    /// As written.
    pub rule: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    fn holds(self, x: f64, bound: f64) -> bool {
        match self {
            Op::Gt => x > bound,
            Op::Ge => x >= bound,
            Op::Lt => x < bound,
            Op::Le => x <= bound,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Op::Gt => "more than",
            Op::Ge => "at least",
            Op::Lt => "less than",
            Op::Le => "at most",
        }
    }
}

/// The change a rule looks for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Threshold {
    /// Relative, in %.
    Percent(f64),
    /// Absolute, in the figure's own unit (ms for latencies, s for CPU, else as is).
    Absolute(f64),
}

/// What a rule checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Check {
    /// B breaks any invariant.
    Invariants,
    /// B breaks an invariant A holds.
    InvariantsRegressed,
    /// B's figure against A's.
    Change {
        /// The figure, as [`figure::resolve`] names it.
        figure: String,
        /// How it is measured.
        kind: Kind,
        /// The comparison.
        op: Op,
        /// The change.
        threshold: Threshold,
    },
}

/// A parsed `--fail-if` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// As written.
    pub text: String,
    /// What it checks.
    pub check: Check,
}

impl std::str::FromStr for Rule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Rule, RuleError> {
        parse(s)
    }
}

/// Parses a rule (see the module's grammar).
///
/// ```
/// use loadgen::compare::rule::{parse, Check, Op, Threshold};
/// let r = parse("vote_ack.p99 > +5ms").unwrap();
/// assert!(matches!(r.check, Check::Change { op: Op::Gt, threshold: Threshold::Absolute(5.0), .. }));
/// assert!(parse("vote_ack.p99 > 5ms").unwrap_err().to_string().contains("sign"));
/// ```
pub fn parse(text: &str) -> Result<Rule, RuleError> {
    let fail = |problem: String| RuleError {
        rule: text.to_owned(),
        problem,
    };
    let t = text.trim();
    let check = match t {
        "" => return Err(fail("empty rule".into())),
        "invariants" => Check::Invariants,
        "invariants-regressed" => Check::InvariantsRegressed,
        _ => {
            let Some(at) = t.find(['<', '>']) else {
                return Err(fail(if t.starts_with("invariant") {
                    "expected `invariants` or `invariants-regressed`".into()
                } else {
                    "no comparison: expected FIGURE > +N% (or <, >=, <=; units us, ms, s), `invariants` or `invariants-regressed`".into()
                }));
            };
            let name = t[..at].trim();
            let rest = &t[at..];
            let (op, rest) = match rest.as_bytes() {
                [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
                [b'<', b'=', ..] => (Op::Le, &rest[2..]),
                [b'>', ..] => (Op::Gt, &rest[1..]),
                _ => (Op::Lt, &rest[1..]),
            };
            let op_text = &t[at..t.len() - rest.len()];
            let rest = rest.trim();
            if rest.starts_with(['<', '>', '=']) {
                return Err(fail(format!(
                    "bad comparison `{op_text}{}`: one of >, >=, <, <=",
                    &rest[..1]
                )));
            }
            if let Some(c) = name.chars().last().filter(|c| matches!(c, '=' | '!')) {
                return Err(fail(format!(
                    "bad comparison `{c}{op_text}`: one of >, >=, <, <="
                )));
            }
            if name.is_empty() {
                return Err(fail(format!("no figure before `{op_text}`")));
            }
            let (figure, kind) = figure::resolve(name).map_err(|e| fail(e.to_string()))?;
            let threshold = change(rest, &figure, kind, op_text).map_err(fail)?;
            Check::Change {
                figure,
                kind,
                op,
                threshold,
            }
        }
    };
    Ok(Rule {
        text: t.to_owned(),
        check,
    })
}

/// `+10%`, `-5 ms`, `+200`: the change, in the figure's unit.
fn change(text: &str, figure: &str, kind: Kind, op: &str) -> Result<Threshold, String> {
    if text.is_empty() {
        return Err(format!(
            "nothing after `{op}`: expected a change such as +10% or +5ms"
        ));
    }
    let (sign, rest) = match text.chars().next() {
        Some('+') => (1.0, &text[1..]),
        Some('-') => (-1.0, &text[1..]),
        Some('−') => (-1.0, &text['−'.len_utf8()..]),
        _ => {
            return Err(format!(
                "the change `{text}` needs its sign: + for an increase of B over A, - for a decrease"
            ));
        }
    };
    let rest = rest.trim_start();
    let digits = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, unit) = (&rest[..digits], rest[digits..].trim());
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("no number in the change `{text}`"))?;
    let value = sign * value;
    let time = |scale_ms: f64| match kind {
        Kind::Latency => Ok(Threshold::Absolute(value * scale_ms)),
        Kind::CpuSeconds => Ok(Threshold::Absolute(value * scale_ms / 1000.0)),
        Kind::Plain => Err(format!(
            "`{figure}` is not a time: give a plain number or a percentage, not `{unit}`"
        )),
    };
    match unit {
        "%" => Ok(Threshold::Percent(value)),
        "us" | "µs" | "μs" => time(0.001),
        "ms" => time(1.0),
        "s" => time(1000.0),
        "" if kind == Kind::Plain => Ok(Threshold::Absolute(value)),
        "" => Err(format!(
            "`{figure}` is a time: give the change a unit (us, ms, s) or a %"
        )),
        other => Err(format!(
            "unknown unit `{other}` (%, us, ms, s; none for counts, rates and KiB)"
        )),
    }
}

/// `v` with at most three decimals, trailing zeros dropped.
fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// `v` with its sign (`-0` stays `-0`, as a rule may write it).
fn signed(v: f64) -> String {
    let sign = if v.is_sign_negative() { '-' } else { '+' };
    format!("{sign}{}", num(v.abs()))
}

/// How a rule came out on two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleOutcome {
    /// The rule as written.
    pub rule: String,
    /// It tripped: the comparison fails.
    pub tripped: bool,
    /// The figure in A, for a rule on a figure.
    pub a: Option<f64>,
    /// The figure in B.
    pub b: Option<f64>,
    /// Why, in one sentence.
    pub why: String,
}

impl Rule {
    /// Judges B against A. `invariants` is the two runs' invariants matched
    /// ([`super::invariants::compare`]).
    pub fn evaluate(
        &self,
        (label_a, a): (&str, &Summary),
        (label_b, b): (&str, &Summary),
        invariants: &[InvariantComparison],
    ) -> RuleOutcome {
        let outcome = |tripped, why: String| RuleOutcome {
            rule: self.text.clone(),
            tripped,
            a: None,
            b: None,
            why,
        };
        match &self.check {
            Check::Invariants if b.invariants_ok => {
                outcome(false, format!("{label_b} holds every invariant"))
            }
            Check::Invariants => outcome(
                true,
                format!(
                    "{label_b} breaks {} invariant(s){}",
                    b.violations.len(),
                    b.violations
                        .first()
                        .map_or(String::new(), |v| format!(", e.g. {v}"))
                ),
            ),
            Check::InvariantsRegressed => {
                let broken: Vec<&str> = invariants
                    .iter()
                    .filter(|i| i.standing == Standing::BrokenInB)
                    .map(|i| i.what.as_str())
                    .collect();
                if broken.is_empty() {
                    outcome(
                        false,
                        format!("{label_b} breaks no invariant that {label_a} holds"),
                    )
                } else {
                    outcome(
                        true,
                        format!(
                            "{label_b} breaks what {label_a} holds: {}",
                            broken.join("; ")
                        ),
                    )
                }
            }
            Check::Change {
                figure,
                kind,
                op,
                threshold,
            } => {
                let unit = match kind {
                    Kind::Latency => " ms",
                    Kind::CpuSeconds => " s",
                    Kind::Plain => "",
                };
                let (fa, fb) = (figure::read(a, figure), figure::read(b, figure));
                let (va, vb) = (fa.clone().ok(), fb.clone().ok());
                let mut out = match (fa, fb) {
                    (Err(why), _) => outcome(
                        true,
                        format!(
                            "{figure} missing in {label_a} ({why}): a rule on a missing figure trips"
                        ),
                    ),
                    (_, Err(why)) => outcome(
                        true,
                        format!(
                            "{figure} missing in {label_b} ({why}): a rule on a missing figure trips"
                        ),
                    ),
                    (Ok(x), Ok(y)) => {
                        let (seen, bound, shown, bound_shown) = match *threshold {
                            Threshold::Percent(p) => {
                                let c = percent_change(x, y);
                                (c, p, show_percent(c), format!("{} %", signed(p)))
                            }
                            Threshold::Absolute(d) => (
                                y - x,
                                d,
                                format!("{}{unit}", signed(y - x)),
                                format!("{}{unit}", signed(d)),
                            ),
                        };
                        let tripped = op.holds(seen, bound);
                        outcome(
                            tripped,
                            format!(
                                "{figure}: {label_a} {}{unit} → {label_b} {}{unit}, a change of {shown}: {}{} {bound_shown}",
                                num(x),
                                num(y),
                                if tripped { "" } else { "not " },
                                op.words()
                            ),
                        )
                    }
                };
                out.a = va;
                out.b = vb;
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::invariants;
    use crate::report::MetricStats;

    fn threshold(rule: &str) -> (String, Op, Threshold) {
        match parse(rule).unwrap().check {
            Check::Change {
                figure,
                op,
                threshold,
                ..
            } => (figure, op, threshold),
            other => panic!("{rule}: {other:?}"),
        }
    }

    fn problem(rule: &str) -> String {
        let e = parse(rule).unwrap_err();
        assert_eq!(e.rule, rule);
        assert!(e.to_string().starts_with(&format!("--fail-if `{rule}`: ")));
        e.problem
    }

    #[test]
    fn the_grammar() {
        use Threshold::{Absolute, Percent};
        let t = |r: &str| threshold(r);
        assert_eq!(
            t("vote_ack.p99 > +10%"),
            ("vote_ack.p99".into(), Op::Gt, Percent(10.0))
        );
        assert_eq!(
            t("vote_ack.p99>+10%"),
            ("vote_ack.p99".into(), Op::Gt, Percent(10.0))
        );
        assert_eq!(
            t("  join.p50  >=  + 2.5 ms "),
            ("join.p50".into(), Op::Ge, Absolute(2.5))
        );
        assert_eq!(
            t("vote_ack.p99 > +500us"),
            ("vote_ack.p99".into(), Op::Gt, Absolute(0.5))
        );
        assert_eq!(t("vote_ack.p99 > +500µs").2, Absolute(0.5));
        assert_eq!(t("vote_ack.max > +2s").2, Absolute(2000.0));
        assert_eq!(
            t("fanout_vote_result.p99.9 <= -1ms"),
            ("fanout_vote_result.p999".into(), Op::Le, Absolute(-1.0))
        );
        assert_eq!(
            t("deliveries_per_second.mean < -10%"),
            ("deliveries_per_second.mean".into(), Op::Lt, Percent(-10.0))
        );
        assert_eq!(t("deliveries_per_second.mean < −10%").2, Percent(-10.0));
        assert_eq!(t("vote_ack.count >= +0").2, Absolute(0.0));
        assert_eq!(t("generator.rss_kib > +10240").2, Absolute(10240.0));
        assert_eq!(t("servers.cpu_secs > +1500ms").2, Absolute(1.5));
        assert_eq!(t("generator.cpu_secs > +2s").2, Absolute(2.0));
        assert_eq!(t("vote_ack.p50 > +.5ms").2, Absolute(0.5));
        assert_eq!(parse("invariants").unwrap().check, Check::Invariants);
        assert_eq!(
            parse(" invariants-regressed ").unwrap().check,
            Check::InvariantsRegressed
        );
        assert_eq!(parse(" invariants ").unwrap().text, "invariants");
    }

    #[test]
    fn malformed_rules_say_what_is_wrong() {
        assert_eq!(problem(""), "empty rule");
        assert!(problem("vote_ack.p99").contains("no comparison"));
        assert!(problem("invariant").contains("`invariants`"));
        assert!(problem("vote_ack.p99 >> +10%").contains("bad comparison `>>`"));
        assert!(problem("vote_ack.p99 => +10%").contains("bad comparison `=>`"));
        assert!(problem("vote_ack.p99 != +10%").contains("no comparison"));
        assert!(problem("vote_ack.p99 !> +10%").contains("bad comparison `!>`"));
        assert!(problem("vote_ack.p99 <> +10%").contains("bad comparison `<>`"));
        assert_eq!(problem("> +10%"), "no figure before `>`");
        assert!(problem("vote_ack.p99 >").contains("nothing after `>`"));
        assert!(problem("vote_ack.p99 > 10%").contains("needs its sign"));
        assert!(problem("vote_ack.p99 > +%").contains("no number"));
        assert!(problem("vote_ack.p99 > +1.2.3ms").contains("no number"));
        assert!(problem("vote_ack.p99 > +inf%").contains("no number"));
        assert!(problem("vote_ack.p99 > +NaN%").contains("no number"));
        assert!(problem("vote_ack.p99 > +10").contains("is a time"));
        assert!(problem("vote_ack.count > +10ms").contains("not a time"));
        assert!(problem("deliveries_per_second.mean > +1s").contains("not a time"));
        assert!(problem("vote_ack.p99 > +10 kb").contains("unknown unit `kb`"));
        assert!(problem("vote_ack.p99 > +1e3ms").contains("unknown unit `e3ms`"));
        assert!(problem("vote_akc.p99 > +10%").contains("unknown metric `vote_akc`"));
        assert!(problem("vote_ack.p75 > +10%").contains("no statistic `p75`"));
        assert!(problem("vote_ack > +10%").contains("metric.statistic"));
    }

    fn summary(p99: Option<f64>, ok: bool) -> Summary {
        let mut s = Summary {
            invariants_ok: ok,
            deliveries_per_second_mean: 1000.0,
            ..Summary::default()
        };
        if !ok {
            s.violations.push("q1: 1 votes never answered".into());
        }
        if let Some(p99) = p99 {
            s.metrics.insert(
                "vote_ack".into(),
                MetricStats {
                    count: 100,
                    p99,
                    ..MetricStats::default()
                },
            );
        }
        s
    }

    fn trips(rule: &str, a: &Summary, b: &Summary) -> bool {
        let inv = invariants::compare(a, b);
        parse(rule)
            .unwrap()
            .evaluate(("A", a), ("B", b), &inv)
            .tripped
    }

    #[test]
    fn relative_and_absolute_changes() {
        let (a, b) = (summary(Some(10.0), true), summary(Some(12.0), true));
        assert!(trips("vote_ack.p99 > +10%", &a, &b));
        assert!(!trips("vote_ack.p99 > +20%", &a, &b));
        assert!(trips("vote_ack.p99 >= +20%", &a, &b));
        assert!(trips("vote_ack.p99 > +1.5ms", &a, &b));
        assert!(!trips("vote_ack.p99 > +2ms", &a, &b));
        assert!(trips("vote_ack.p99 > +1999us", &a, &b));
        assert!(!trips("vote_ack.p99 > +0.002s", &a, &b));
        // A decrease: B against A the other way round.
        assert!(trips("vote_ack.p99 < -10%", &b, &a));
        assert!(!trips("vote_ack.p99 < -10%", &a, &b));
        // Equal figures: no change.
        assert!(!trips("vote_ack.count > +0", &a, &b));
        assert!(trips("vote_ack.count >= +0", &a, &b));
        assert!(trips("vote_ack.count <= -0%", &a, &b));
        let out =
            parse("vote_ack.p99 > +10%")
                .unwrap()
                .evaluate(("memory", &a), ("redis", &b), &[]);
        assert_eq!((out.a, out.b), (Some(10.0), Some(12.0)));
        assert_eq!(
            out.why,
            "vote_ack.p99: memory 10 ms → redis 12 ms, a change of +20.0 %: more than +10 %"
        );
    }

    #[test]
    fn zero_in_a_divides_nothing() {
        let (zero, some) = (summary(Some(0.0), true), summary(Some(3.0), true));
        assert!(
            trips("vote_ack.p99 > +1000%", &zero, &some),
            "from 0 up is infinite"
        );
        assert!(!trips("vote_ack.p99 < -10%", &zero, &some));
        assert!(
            trips("vote_ack.p99 < -10%", &some, &zero),
            "down to 0 is -100 %"
        );
        assert!(
            !trips("vote_ack.p99 > +0%", &zero, &zero),
            "0 to 0 is no change"
        );
        assert!(trips("vote_ack.p99 >= +0%", &zero, &zero));
    }

    #[test]
    fn a_missing_figure_trips_and_says_where() {
        let (with, without) = (summary(Some(10.0), true), summary(None, true));
        let inv = invariants::compare(&with, &without);
        let out =
            parse("vote_ack.p99 > +1000%")
                .unwrap()
                .evaluate(("A", &with), ("B", &without), &inv);
        assert!(out.tripped);
        assert!(
            out.why.starts_with("vote_ack.p99 missing in B"),
            "{}",
            out.why
        );
        assert_eq!((out.a, out.b), (Some(10.0), None));
        assert!(trips("vote_ack.p99 < -1000%", &without, &with));
        // A metric present without samples has no percentiles.
        let mut empty = summary(Some(0.0), true);
        empty.metrics.get_mut("vote_ack").unwrap().count = 0;
        assert!(trips("vote_ack.p99 > +1000%", &with, &empty));
        assert!(
            !trips("vote_ack.count > +1000%", &with, &empty),
            "its count is 0, a figure"
        );
        assert!(
            trips("servers.cpu_secs > +1000%", &with, &with),
            "no server watched"
        );
    }

    #[test]
    fn invariants_rules() {
        let (pass, fail) = (summary(Some(1.0), true), summary(Some(1.0), false));
        assert!(!trips("invariants", &pass, &pass));
        assert!(trips("invariants", &pass, &fail));
        assert!(trips("invariants", &fail, &fail), "B fails: whatever A did");
        assert!(!trips("invariants", &fail, &pass));
        assert!(trips("invariants-regressed", &pass, &fail));
        assert!(
            !trips("invariants-regressed", &fail, &fail),
            "A broke it too"
        );
        let inv = invariants::compare(&pass, &fail);
        let out = parse("invariants")
            .unwrap()
            .evaluate(("A", &pass), ("B", &fail), &inv);
        assert!(
            out.why.contains("q1: 1 votes never answered"),
            "{}",
            out.why
        );
    }
}
