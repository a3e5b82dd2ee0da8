//! The invariants of two runs side by side. A run's violations are sentences with its own
//! numbers and ids, so they cannot be matched across runs as text; instead each run's summary
//! is read as a fixed list of named checks (every voter connected, every broadcast delivered,
//! every question's counts, each SLO, ...), and the two lists are matched by name. That is what
//! lets the page say "B breaks this, which A holds".

use serde::{Deserialize, Serialize};

use crate::report::Summary;

/// One invariant of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Its key, the same in every run (`delivered`, `slo vote_ack.p99<100ms`).
    pub key: String,
    /// The invariant in words.
    pub what: String,
    /// Whether it held.
    pub holds: bool,
    /// What broke it, when it broke.
    pub detail: Option<String>,
}

fn check(key: &str, what: &str, holds: bool, detail: impl FnOnce() -> String) -> Check {
    Check {
        key: key.to_owned(),
        what: what.to_owned(),
        holds,
        detail: (!holds).then(detail),
    }
}

/// The checks a run's summary holds, the whole verdict first.
pub fn checks(s: &Summary) -> Vec<Check> {
    let bad_questions: Vec<&str> = s
        .questions
        .iter()
        .filter(|q| !q.ok)
        .map(|q| q.question_id.as_str())
        .collect();
    let no_questions = s.questions.is_empty() && s.run.questions > 0;
    let bad_conferences: Vec<&str> = s
        .conferences
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.conference_id.as_str())
        .collect();
    let mut out = vec![
        check(
            "verdict",
            "every invariant and SLO (the run's verdict)",
            s.invariants_ok,
            || format!("{} violations", s.violations.len()),
        ),
        check(
            "connected",
            "every voter connected",
            s.connect_failures == 0,
            || format!("{} voters never connected", s.connect_failures),
        ),
        check(
            "kept",
            "no connection lost unasked for good",
            s.disconnects == 0,
            || format!("{} connections lost and not back", s.disconnects),
        ),
        check(
            "no-errors",
            "no unexpected error event",
            s.errors_by_code.is_empty(),
            || format!("error events by code: {:?}", s.errors_by_code),
        ),
        check(
            "delivered",
            "every session got every broadcast it was owed",
            s.delivery.missed == 0,
            || {
                format!(
                    "{} of {} sessions missed {} of {} broadcasts",
                    s.delivery.sessions_short,
                    s.delivery.sessions,
                    s.delivery.missed,
                    s.delivery.owed
                )
            },
        ),
        check(
            "once",
            "no broadcast received twice by a session",
            s.delivery.duplicated == 0,
            || format!("{} received twice", s.delivery.duplicated),
        ),
        check(
            "questions",
            "every question's votes add up (accepted = final counts, none twice or unanswered, timer in order)",
            bad_questions.is_empty() && !no_questions,
            || {
                if no_questions {
                    "no question in the report".to_owned()
                } else {
                    format!(
                        "{} of {} questions broke it: {}",
                        bad_questions.len(),
                        s.questions.len(),
                        bad_questions.join(", ")
                    )
                }
            },
        ),
        check(
            "conferences",
            "every conference ran all its questions and its host got every final result",
            bad_conferences.is_empty(),
            || {
                format!(
                    "{} of {} conferences broke it: {}",
                    bad_conferences.len(),
                    s.conferences.len(),
                    bad_conferences.join(", ")
                )
            },
        ),
    ];
    out.extend(s.slos.iter().map(|slo| {
        check(
            &format!("slo {}", slo.slo),
            &format!("SLO {}", slo.slo),
            slo.ok,
            || {
                slo.observed_ms
                    .map_or("no samples".into(), |v| format!("{v:.2} ms"))
            },
        )
    }));
    out
}

/// How one invariant stands across the runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Standing {
    /// Held in both.
    BothHold,
    /// Broken in both.
    BothBreak,
    /// A holds it, B breaks it: a regression.
    BrokenInB,
    /// B holds it, A breaks it.
    BrokenInA,
    /// Judged in A only (an SLO given to one run).
    OnlyInA,
    /// Judged in B only.
    OnlyInB,
}

/// One invariant in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvariantComparison {
    /// Its key.
    pub key: String,
    /// In words.
    pub what: String,
    /// In A (`None`: not judged there).
    pub a: Option<Check>,
    /// In B.
    pub b: Option<Check>,
    /// How it stands.
    pub standing: Standing,
}

impl InvariantComparison {
    /// The sentence for an invariant one run holds and the other breaks (or judged in one run
    /// only); `None` when both agree.
    pub fn line(&self, label_a: &str, label_b: &str) -> Option<String> {
        let detail = |c: &Option<Check>| {
            c.as_ref()
                .and_then(|c| c.detail.clone())
                .map_or(String::new(), |d| format!(": {d}"))
        };
        match self.standing {
            Standing::BothHold | Standing::BothBreak => None,
            Standing::BrokenInB => Some(format!(
                "{label_b} breaks “{}”, which {label_a} holds{}",
                self.what,
                detail(&self.b)
            )),
            Standing::BrokenInA => Some(format!(
                "{label_a} breaks “{}”, which {label_b} holds{}",
                self.what,
                detail(&self.a)
            )),
            Standing::OnlyInA => Some(format!("“{}” was judged in {label_a} only", self.what)),
            Standing::OnlyInB => Some(format!("“{}” was judged in {label_b} only", self.what)),
        }
    }
}

/// The checks of both runs, matched by key (A's order, then what only B has).
pub fn compare(a: &Summary, b: &Summary) -> Vec<InvariantComparison> {
    let (ca, mut cb) = (checks(a), checks(b));
    let mut out = Vec::new();
    for x in ca {
        let y = cb.iter().position(|y| y.key == x.key).map(|i| cb.remove(i));
        out.push(pair(Some(x), y));
    }
    out.extend(cb.into_iter().map(|y| pair(None, Some(y))));
    out
}

fn pair(a: Option<Check>, b: Option<Check>) -> InvariantComparison {
    let standing = match (a.as_ref().map(|c| c.holds), b.as_ref().map(|c| c.holds)) {
        (Some(true), Some(true)) => Standing::BothHold,
        (Some(false), Some(false)) => Standing::BothBreak,
        (Some(true), Some(false)) => Standing::BrokenInB,
        (Some(false), Some(true)) => Standing::BrokenInA,
        (_, None) => Standing::OnlyInA,
        (None, _) => Standing::OnlyInB,
    };
    let any = a.as_ref().or(b.as_ref());
    InvariantComparison {
        key: any.map(|c| c.key.clone()).unwrap_or_default(),
        what: any.map(|c| c.what.clone()).unwrap_or_default(),
        a,
        b,
        standing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::summary::{QuestionSummary, SloResult};

    fn passing() -> Summary {
        Summary {
            invariants_ok: true,
            questions: vec![QuestionSummary {
                question_id: "q1".into(),
                ok: true,
                ..QuestionSummary::default()
            }],
            ..Summary::default()
        }
    }

    #[test]
    fn a_broken_invariant_in_b_only_gets_its_line() {
        let a = passing();
        let mut b = passing();
        b.invariants_ok = false;
        b.violations
            .push("3 of 10 sessions missed 4 broadcasts".into());
        b.delivery.missed = 4;
        b.delivery.sessions_short = 3;
        b.delivery.sessions = 10;
        let cmp = compare(&a, &b);
        let broken: Vec<&str> = cmp
            .iter()
            .filter(|c| c.standing == Standing::BrokenInB)
            .map(|c| c.key.as_str())
            .collect();
        assert_eq!(broken, ["verdict", "delivered"]);
        let line = cmp[4].line("memory", "redis").unwrap();
        assert!(
            line.starts_with("redis breaks “every session got every broadcast")
                && line.contains("which memory holds: 3 of 10 sessions missed 4"),
            "{line}"
        );
        assert!(cmp[1].line("memory", "redis").is_none());
        // The other way round.
        let back = compare(&b, &a);
        assert_eq!(back[4].standing, Standing::BrokenInA);
        assert!(back[4].line("x", "y").unwrap().starts_with("x breaks"));
    }

    #[test]
    fn slos_match_by_text_and_one_sided_ones_are_said() {
        let mut a = passing();
        let mut b = passing();
        let slo = |t: &str, ok| SloResult {
            slo: t.into(),
            observed_ms: Some(3.0),
            ok,
        };
        a.slos = vec![slo("vote_ack.p99<5ms", true), slo("join.p99<1s", true)];
        b.slos = vec![slo("vote_ack.p99<5ms", false), slo("connect.p50<1s", true)];
        let cmp = compare(&a, &b);
        let of = |k: &str| cmp.iter().find(|c| c.key == k).unwrap().standing;
        assert_eq!(of("slo vote_ack.p99<5ms"), Standing::BrokenInB);
        assert_eq!(of("slo join.p99<1s"), Standing::OnlyInA);
        assert_eq!(of("slo connect.p50<1s"), Standing::OnlyInB);
        assert_eq!(cmp.last().unwrap().key, "slo connect.p50<1s");
    }

    #[test]
    fn a_run_without_questions_breaks_the_question_check() {
        let mut s = passing();
        s.questions.clear();
        s.run.questions = 2;
        let c = checks(&s);
        let q = c.iter().find(|c| c.key == "questions").unwrap();
        assert!(!q.holds);
        assert_eq!(q.detail.as_deref(), Some("no question in the report"));
        // An empty summary (another version, fields left out) breaks nothing it cannot see.
        assert!(checks(&Summary::default()).iter().skip(1).all(|c| c.holds));
    }
}
