//! Each fault of the nemesis, judged: what the votes sent while it lasted (and a while after)
//! came to, how long until votes were accepted again, who came back, what errors it caused, and
//! whether the questions it touched kept every invariant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::Snapshot;
use crate::record::faults::{FaultRecord, VoteOutcomes};

/// A fault's effects are counted from its start to this long after its end (its undo).
pub const AFTERMATH_MS: i64 = 10_000;

/// One fault's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultSummary {
    /// Its name.
    pub name: String,
    /// When it was due, as written.
    pub at: String,
    /// It never ran: the run ended first.
    pub skipped: bool,
    /// When it began and ended (its undo), ms since the epoch.
    pub began: Option<i64>,
    /// See `began`.
    pub ended: Option<i64>,
    /// The exit codes of its command and its undo (`None`: killed or not run).
    pub run_exit: Option<i32>,
    /// See `run_exit`.
    pub undo_exit: Option<i32>,
    /// The span its effects are counted in: from its start to `AFTERMATH_MS` after its end.
    pub window: (i64, i64),
    /// Votes sent in the window, by what became of them.
    pub votes: VoteOutcomes,
    /// From the fault's start to the first vote that failed (refused or never answered), ms.
    pub first_failure_ms: Option<i64>,
    /// From the fault's start to the first vote accepted after that failure, ms: how long votes
    /// were not taken. `None` with no failure, or when no vote was accepted after it.
    pub accepted_again_ms: Option<i64>,
    /// Voters back in the room in the window (after a lost or dropped connection).
    pub rejoins: u64,
    /// `error` events in the window, by code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Questions live during the window.
    pub questions: Vec<String>,
    /// Broadcasts stamped in the window that a voter was owed and missed.
    pub missed_broadcasts: u64,
    /// Every invariant of those questions held, and no owed broadcast of the window was missed.
    pub invariants_held: bool,
}

impl FaultSummary {
    /// Whether second `sec` (unix) lies in the window.
    pub fn covers_second(&self, sec: i64) -> bool {
        !self.skipped && sec * 1000 + 999 >= self.window.0 && sec * 1000 <= self.window.1
    }
}

/// Each fault of `snap`, with `missed_stamps` from the delivery check and the questions whose
/// invariants broke.
pub fn summarize(
    snap: &Snapshot,
    missed_stamps: &[i64],
    bad_questions: &[String],
) -> Vec<FaultSummary> {
    let spans = question_spans(snap);
    snap.faults
        .iter()
        .map(|f| one(f, snap, &spans, missed_stamps, bad_questions))
        .collect()
}

/// Per question id, from `startedAt` to `closedAt` (or its last broadcast).
fn question_spans(snap: &Snapshot) -> BTreeMap<String, (i64, i64)> {
    let mut spans: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for key in snap.broadcasts.keys() {
        // "event questionId serverTime"
        let Some((_, rest)) = key.split_once(' ') else {
            continue;
        };
        let Some((question, t)) = rest.rsplit_once(' ') else {
            continue;
        };
        let Ok(t) = t.parse::<i64>() else {
            continue;
        };
        let e = spans.entry(question.to_owned()).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
    }
    spans
}

fn one(
    f: &FaultRecord,
    snap: &Snapshot,
    spans: &BTreeMap<String, (i64, i64)>,
    missed_stamps: &[i64],
    bad_questions: &[String],
) -> FaultSummary {
    let mut s = FaultSummary {
        name: f.name.clone(),
        at: f.at.clone(),
        run_exit: f.run.as_ref().and_then(|r| r.exit),
        undo_exit: f.undo.as_ref().and_then(|u| u.exit),
        ..FaultSummary::default()
    };
    let (Some(began), Some(ended)) = (f.began(), f.ended()) else {
        s.skipped = true;
        s.invariants_held = true;
        return s;
    };
    (s.began, s.ended) = (Some(began), Some(ended));
    s.window = (began, ended + AFTERMATH_MS);
    let (from, to) = s.window;
    // Votes by the 100 ms they were sent in.
    for (bucket, v) in snap.vote_times.range(from / 100..=to / 100) {
        s.votes.merge(v);
        let at = bucket * 100;
        if s.first_failure_ms.is_none() && v.failed() > 0 {
            s.first_failure_ms = Some((at - began).max(0));
        }
    }
    if let Some(fail) = s.first_failure_ms {
        s.accepted_again_ms = snap
            .vote_times
            .range((began + fail) / 100 + 1..)
            .find(|(_, v)| v.accepted > 0 && v.failed() == 0)
            .map(|(b, _)| b * 100 - began);
    }
    s.rejoins = snap
        .seconds
        .range(from / 1000..=to / 1000)
        .map(|(_, sec)| sec.rejoins)
        .sum();
    for (sec, code, n) in &snap.error_times {
        if s.covers_second(*sec) {
            *s.errors_by_code.entry(code.clone()).or_default() += n;
        }
    }
    s.questions = spans
        .iter()
        .filter(|(_, (a, b))| *a <= to && *b >= from)
        .map(|(q, _)| q.clone())
        .collect();
    s.missed_broadcasts = missed_stamps
        .iter()
        .filter(|t| (from..=to).contains(*t))
        .count() as u64;
    s.invariants_held =
        s.missed_broadcasts == 0 && !s.questions.iter().any(|q| bad_questions.contains(q));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Spread;
    use crate::record::faults::CommandRun;

    fn fault(began: i64, ended: i64) -> FaultRecord {
        FaultRecord {
            name: "redis".into(),
            at: "q1+10s".into(),
            run: Some(CommandRun {
                command: "kill".into(),
                started: began,
                exit: Some(0),
                output: String::new(),
            }),
            undo: Some(CommandRun {
                command: "start".into(),
                started: ended,
                exit: Some(0),
                output: String::new(),
            }),
        }
    }

    #[test]
    fn votes_refused_during_a_fault_and_the_time_to_recover_are_read_off() {
        let mut snap = Snapshot::default();
        let t0 = 1_000_000;
        let put = |snap: &mut Snapshot, ms: i64, accepted: u64, refused: u64| {
            snap.vote_times.insert(
                ms / 100,
                VoteOutcomes {
                    sent: accepted + refused,
                    accepted,
                    refused,
                    unanswered: 0,
                },
            );
        };
        put(&mut snap, t0 - 500, 5, 0); // before: not counted
        put(&mut snap, t0 + 300, 2, 0);
        put(&mut snap, t0 + 800, 0, 4); // the first failure, 0.8 s in
        put(&mut snap, t0 + 2_000, 1, 3);
        put(&mut snap, t0 + 3_500, 6, 0); // accepted again 3.5 s in
        snap.faults = vec![fault(t0, t0 + 2_000)];
        snap.error_times = vec![
            (t0 / 1000 + 1, "TIMEOUT".into(), 3),
            (t0 / 1000 - 100, "TIMEOUT".into(), 1),
        ];
        snap.broadcasts.insert(
            format!("question:live q1 {}", t0 - 10_000),
            Spread::default(),
        );
        snap.broadcasts.insert(
            format!("question:closed q1 {}", t0 + 20_000),
            Spread::default(),
        );
        snap.broadcasts.insert(
            format!("question:live q0 {}", t0 - 60_000),
            Spread::default(),
        );
        snap.broadcasts.insert(
            format!("question:closed q0 {}", t0 - 30_000),
            Spread::default(),
        );
        let s = &summarize(&snap, &[t0 + 1_000, t0 - 50_000], &[])[0];
        assert_eq!(
            (s.votes.sent, s.votes.accepted, s.votes.refused),
            (16, 9, 7)
        );
        assert_eq!(
            (s.first_failure_ms, s.accepted_again_ms),
            (Some(800), Some(3_500))
        );
        assert_eq!(s.errors_by_code.get("TIMEOUT"), Some(&3));
        assert_eq!(s.questions, ["q1"]);
        assert_eq!(s.missed_broadcasts, 1);
        assert!(!s.invariants_held);
    }

    #[test]
    fn a_fault_that_never_ran_is_skipped() {
        let snap = Snapshot {
            faults: vec![FaultRecord {
                name: "later".into(),
                ..FaultRecord::default()
            }],
            ..Snapshot::default()
        };
        let s = &summarize(&snap, &[], &[])[0];
        assert!(s.skipped && s.invariants_held);
    }
}
