//! Each voter is owed exactly the broadcasts sent while it was in the room. A session records,
//! per question and broadcast kind, how many it received and the first and last server times
//! among them; the run's broadcasts (every one any voter received) say what was sent. A
//! broadcast is owed to a session that joined before the server stamped it (with a margin for
//! the clocks) and was still there when every other recipient had it: it stayed, it asked to
//! leave after that, or it dropped a second after that.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::record::attendance::{Attendance, End, Kind};
use crate::record::{Snapshot, Spread};

use super::summary::{ConferenceInfo, DeliverySummary, RunInfo};

/// A dropped or lost connection may have had a broadcast on its way: it is owed only what
/// every other recipient had a second before it went.
const DROP_GRACE_MS: i64 = 1000;

/// What the check found.
#[derive(Debug, Default)]
pub struct Findings {
    /// The totals.
    pub summary: DeliverySummary,
    /// Per conference index: (owed, missed, duplicated, sessions, distinct voters).
    pub per_conference: BTreeMap<u32, (u64, u64, u64, u64, u64)>,
    /// A few missed deliveries, described, for the report.
    pub examples: Vec<String>,
    /// Ticks D16 requires that nobody received: per question, a sentence, the question and the
    /// ticks' due times.
    pub ticks_never_sent: Vec<TicksNeverSent>,
    /// The server time of every missed delivery (a miss inside a session's span is put at the
    /// span's first missing stamp), for the faults' windows.
    pub missed_stamps: Vec<i64>,
}

/// Ticks of one question that D16 requires and nobody received.
#[derive(Debug, Clone, PartialEq)]
pub struct TicksNeverSent {
    /// The question.
    pub question: String,
    /// When each was due (server time, ms).
    pub due: Vec<i64>,
    /// The sentence for the report.
    pub text: String,
}

/// One question's broadcasts of one kind, by server time.
type Sent = Vec<(i64, Spread)>;

/// The run's broadcasts, per (question id, kind), sorted by server time.
fn broadcasts(snap: &Snapshot) -> HashMap<(&str, Kind), Sent> {
    let mut out: HashMap<(&str, Kind), Sent> = HashMap::new();
    for (key, spread) in &snap.broadcasts {
        // "event questionId serverTime"
        let Some((event, rest)) = key.split_once(' ') else {
            continue;
        };
        let Some((question, t)) = rest.rsplit_once(' ') else {
            continue;
        };
        let (Some(kind), Ok(t)) = (Kind::of_event(event), t.parse::<i64>()) else {
            continue;
        };
        out.entry((question, kind))
            .or_default()
            .push((t, spread.clone()));
    }
    for list in out.values_mut() {
        list.sort_by_key(|(t, _)| *t);
    }
    out
}

/// Whether `s` was in the room for broadcast `b` stamped `t`.
fn owed(s: &Attendance, t: i64, b: &Spread, margin_ms: i64) -> bool {
    s.from + margin_ms < t
        && match (s.end, s.until) {
            (End::Stayed, _) | (_, None) => true,
            (End::Left, Some(u)) => b.last < u,
            (End::Dropped | End::Lost | End::Stopped, Some(u)) => b.last + DROP_GRACE_MS < u,
        }
}

/// Checks every session of `snap` against the broadcasts of its conference; `margin_ms` is the
/// slack between a session's join and a server time (clock error plus the server's own).
pub fn check(snap: &Snapshot, info: &RunInfo, margin_ms: i64) -> Findings {
    let sent = broadcasts(snap);
    let mut f = Findings::default();
    let mut voters: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for s in &snap.sessions {
        let Some(conf) = info.conferences.get(s.conference as usize) else {
            continue;
        };
        voters.entry(s.conference).or_default().insert(s.voter);
        let entry = f.per_conference.entry(s.conference).or_default();
        entry.3 += 1;
        let mut short = false;
        for (k, qid) in conf.question_ids.iter().enumerate() {
            for kind in Kind::ALL {
                let list = sent
                    .get(&(qid.as_str(), kind))
                    .map_or(&[][..], Vec::as_slice);
                let got = s.got.iter().find(|g| usize::from(g.0) == k && g.1 == kind);
                let (mut owed_n, mut missed, mut dup) = (0u64, 0u64, 0u64);
                let mut first_missed = None;
                if let Some(g) = got {
                    let in_span =
                        list.iter().filter(|(t, _)| (g.3..=g.4).contains(t)).count() as u64;
                    let n = u64::from(g.2);
                    if n > in_span && kind != Kind::Result {
                        dup += n - in_span;
                    }
                    if n < in_span {
                        missed += in_span - n;
                        first_missed = list
                            .iter()
                            .find(|(t, _)| (g.3..=g.4).contains(t))
                            .map(|(t, _)| *t);
                    }
                }
                for (t, b) in list {
                    if !owed(s, *t, b, margin_ms) {
                        continue;
                    }
                    owed_n += 1;
                    let inside = got.is_some_and(|g| (g.3..=g.4).contains(t));
                    if !inside {
                        missed += 1;
                        first_missed.get_or_insert(*t);
                    }
                }
                f.summary.owed += owed_n;
                f.summary.missed += missed;
                f.summary.duplicated += dup;
                entry.0 += owed_n;
                entry.1 += missed;
                entry.2 += dup;
                if missed > 0 {
                    short = true;
                    if f.missed_stamps.len() < 1_000_000 {
                        f.missed_stamps.extend(std::iter::repeat_n(
                            first_missed.unwrap_or(s.from),
                            missed as usize,
                        ));
                    }
                    if f.examples.len() < 3 {
                        f.examples.push(describe(s, conf, qid, kind, first_missed));
                    }
                }
            }
        }
        f.summary.sessions += 1;
        f.summary.sessions_short += u64::from(short);
    }
    for (c, set) in voters {
        f.per_conference.entry(c).or_default().4 = set.len() as u64;
    }
    f.ticks_never_sent = ticks_never_sent(snap, info, &sent, margin_ms);
    f
}

fn describe(
    s: &Attendance,
    conf: &ConferenceInfo,
    qid: &str,
    kind: Kind,
    t: Option<i64>,
) -> String {
    let until = match (s.end, s.until) {
        (End::Stayed, _) | (_, None) => "stayed to the end".to_owned(),
        (End::Left, Some(u)) => format!("left at {u}"),
        (End::Dropped, Some(u)) => format!("dropped at {u}"),
        (End::Lost, Some(u)) => format!("lost its connection at {u}"),
        (End::Stopped, Some(u)) => format!("stopped reading at {u}"),
    };
    format!(
        "voter {} of {} (joined at {}, {until}) missed {} of {qid}{}",
        s.voter,
        conf.id,
        s.from,
        kind.event(),
        t.map_or(String::new(), |t| format!(" stamped {t}"))
    )
}

/// D16: a tick at `startedAt + k·1000` for every k from 1 while the question is open. A tick
/// nobody received was never sent; it is reported when some session was in the room for it.
fn ticks_never_sent(
    snap: &Snapshot,
    info: &RunInfo,
    sent: &HashMap<(&str, Kind), Sent>,
    margin_ms: i64,
) -> Vec<TicksNeverSent> {
    let mut out = Vec::new();
    for (c, conf) in info.conferences.iter().enumerate() {
        for (k, qid) in conf.question_ids.iter().enumerate() {
            let (Some(live), Some(closed)) = (
                sent.get(&(qid.as_str(), Kind::Live))
                    .and_then(|l| l.first()),
                sent.get(&(qid.as_str(), Kind::Closed))
                    .and_then(|l| l.first()),
            ) else {
                continue;
            };
            let (started, closed_at) = (live.0, closed.0);
            let duration = i64::from(
                info.durations
                    .get(k)
                    .copied()
                    .unwrap_or(info.question_duration),
            );
            let last = ((closed_at - started - 1).max(0) / 1000).min(duration - 1);
            let ticks: BTreeSet<i64> = sent
                .get(&(qid.as_str(), Kind::Tick))
                .map(|l| l.iter().map(|(t, _)| *t).collect())
                .unwrap_or_default();
            let missing: Vec<i64> = (1..=last)
                .filter(|j| !ticks.contains(&(started + j * 1000)))
                .filter(|j| {
                    // Somebody was there for it.
                    let due = started + j * 1000;
                    snap.sessions.iter().any(|s| {
                        s.conference as usize == c
                            && s.from + margin_ms < due
                            && s.until.is_none_or(|u| u > due + DROP_GRACE_MS)
                    })
                })
                .collect();
            if !missing.is_empty() {
                out.push(TicksNeverSent {
                    question: qid.clone(),
                    due: missing.iter().map(|j| started + j * 1000).collect(),
                    text: format!(
                        "{qid}: no voter received the tick(s) due {} s after startedAt (D16: one every second until the close)",
                        missing.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::attendance::Got;

    fn info() -> RunInfo {
        RunInfo {
            durations: vec![5],
            question_duration: 5,
            conferences: vec![ConferenceInfo {
                id: "c".into(),
                voters: 3,
                initial: 3,
                question_ids: vec!["q".into()],
            }],
            ..RunInfo::default()
        }
    }

    /// A question live at 10 000 with ticks at 11 000 … 14 000, closed at 15 000, each
    /// broadcast received from 5 ms to 40 ms after its stamp by `n` voters.
    fn run(sessions: Vec<Attendance>) -> Snapshot {
        let mut snap = Snapshot::default();
        let mut put = |event: &str, t: i64| {
            snap.broadcasts.insert(
                format!("{event} q {t}"),
                Spread {
                    first: t + 5,
                    last: t + 40,
                    count: 1,
                },
            );
        };
        put("question:live", 10_000);
        for t in [11_000, 12_000, 13_000, 14_000] {
            put("question:timer_update", t);
        }
        put("question:closed", 15_000);
        put("vote:final_result", 15_000);
        snap.sessions = sessions;
        snap
    }

    fn whole(voter: u32) -> Attendance {
        Attendance {
            conference: 0,
            voter,
            from: 9_000,
            until: None,
            end: End::Stayed,
            got: vec![
                Got(0, Kind::Live, 1, 10_000, 10_000),
                Got(0, Kind::Tick, 4, 11_000, 14_000),
                Got(0, Kind::Closed, 1, 15_000, 15_000),
                Got(0, Kind::Final, 1, 15_000, 15_000),
            ],
        }
    }

    #[test]
    fn a_voter_there_for_everything_that_got_everything_passes() {
        let f = check(&run(vec![whole(1)]), &info(), 100);
        assert_eq!(
            (f.summary.owed, f.summary.missed, f.summary.duplicated),
            (7, 0, 0)
        );
        assert!(f.ticks_never_sent.is_empty());
    }

    #[test]
    fn a_tick_missed_in_the_middle_is_caught() {
        let mut s = whole(1);
        s.got[1] = Got(0, Kind::Tick, 3, 11_000, 14_000);
        let f = check(&run(vec![s]), &info(), 100);
        assert_eq!(f.summary.missed, 1);
        assert!(
            f.examples[0].contains("missed question:timer_update of q stamped 11000"),
            "{:?}",
            f.examples
        );
    }

    #[test]
    fn a_tick_received_twice_is_caught() {
        let mut s = whole(1);
        s.got[1] = Got(0, Kind::Tick, 5, 11_000, 14_000);
        let f = check(&run(vec![s]), &info(), 100);
        assert_eq!((f.summary.missed, f.summary.duplicated), (0, 1));
    }

    #[test]
    fn a_late_joiner_is_owed_only_what_came_after_its_join() {
        // Joined at 12 500: owed the ticks at 13 000 and 14 000, the close and the result.
        let late = Attendance {
            from: 12_500,
            got: vec![
                Got(0, Kind::Tick, 2, 13_000, 14_000),
                Got(0, Kind::Closed, 1, 15_000, 15_000),
                Got(0, Kind::Final, 1, 15_000, 15_000),
            ],
            ..whole(2)
        };
        let f = check(&run(vec![late.clone()]), &info(), 100);
        assert_eq!((f.summary.owed, f.summary.missed), (4, 0));
        // Joined 50 ms before a tick: inside the margin, not owed it, and no harm that it came.
        let raced = Attendance {
            from: 12_950,
            ..late
        };
        let f = check(&run(vec![raced]), &info(), 100);
        assert_eq!((f.summary.owed, f.summary.missed), (3, 0));
    }

    #[test]
    fn a_voter_that_left_or_dropped_is_owed_what_everyone_had_before() {
        // Left at 13 020: the tick at 13 000 was not yet everywhere (last receipt 13 040).
        let left = Attendance {
            until: Some(13_020),
            end: End::Left,
            got: vec![
                Got(0, Kind::Live, 1, 10_000, 10_000),
                Got(0, Kind::Tick, 2, 11_000, 12_000),
            ],
            ..whole(3)
        };
        let f = check(&run(vec![left.clone()]), &info(), 100);
        assert_eq!((f.summary.owed, f.summary.missed), (3, 0));
        // Dropped at the same moment: only what everyone had a second before.
        let dropped = Attendance {
            end: End::Dropped,
            ..left
        };
        let f = check(&run(vec![dropped]), &info(), 100);
        assert_eq!((f.summary.owed, f.summary.missed), (2, 0));
    }

    #[test]
    fn a_tick_nobody_received_breaks_d16() {
        let mut snap = run(vec![whole(1)]);
        snap.broadcasts.remove("question:timer_update q 12000");
        let f = check(&snap, &info(), 100);
        assert_eq!(f.ticks_never_sent.len(), 1);
        assert_eq!(f.ticks_never_sent[0].due, [12_000]);
        assert!(
            f.ticks_never_sent[0]
                .text
                .contains("due 2 s after startedAt"),
            "{:?}",
            f.ticks_never_sent
        );
    }
}
