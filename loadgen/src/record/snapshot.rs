//! A shard's measurements as `shard.json` holds them, and the merge of several shards.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::attendance::Attendance;
use super::codec::{decode, encode, new_hist, shifted};
use super::faults::{FaultRecord, VoteOutcomes};
use super::{Inner, QuestionTally, Second, Spread, metric};
use crate::clock::{ClockMode, ClockReport};

/// What the workload's churn did: counted as it happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ChurnCounts {
    /// Voters that joined after the start as the workload asked (late joiners, joins while a
    /// question was live).
    pub arrived: u64,
    /// Voters that left (`conference:leave`) as the workload asked.
    pub left: u64,
    /// Voters that dropped their connection in the storm.
    pub dropped: u64,
    /// Of those, voters that came back and joined again.
    pub returned: u64,
    /// Voters that stopped reading their socket (`[churn.slow_readers]`).
    pub slow: u64,
    /// Of those, voters whose connection the server reset before the run ended.
    pub slow_disconnected: u64,
    /// The least and the most time from a slow reader's stop to its reset, and the sum (ms).
    pub slow_disconnected_after_ms: [u64; 3],
}

impl ChurnCounts {
    /// A slow reader's connection was reset `after_ms` after it stopped reading.
    pub fn slow_disconnected(&mut self, after_ms: u64) {
        let [min, max, sum] = &mut self.slow_disconnected_after_ms;
        *min = if self.slow_disconnected == 0 {
            after_ms
        } else {
            (*min).min(after_ms)
        };
        *max = (*max).max(after_ms);
        *sum += after_ms;
        self.slow_disconnected += 1;
    }

    /// Adds another shard's counts.
    pub fn add(&mut self, o: &ChurnCounts) {
        self.arrived += o.arrived;
        self.left += o.left;
        self.dropped += o.dropped;
        self.returned += o.returned;
        self.slow += o.slow;
        if o.slow_disconnected > 0 {
            let [min, max, sum] = o.slow_disconnected_after_ms;
            let [m, x, s] = &mut self.slow_disconnected_after_ms;
            *m = if self.slow_disconnected == 0 {
                min
            } else {
                (*m).min(min)
            };
            *x = (*x).max(max);
            *s += sum;
            self.slow_disconnected += o.slow_disconnected;
        }
    }

    /// `"N stopped reading; the server disconnected M of them, A–B ms after (mean C)"`, or
    /// `None` without slow readers.
    pub fn describe_slow(&self) -> Option<String> {
        if self.slow == 0 {
            return None;
        }
        let [min, max, sum] = self.slow_disconnected_after_ms;
        Some(if self.slow_disconnected == 0 {
            format!(
                "{} stopped reading; the server disconnected none of them before the end",
                self.slow
            )
        } else {
            format!(
                "{} stopped reading; the server disconnected {} of them, {min}–{max} ms after they stopped (mean {} ms)",
                self.slow,
                self.slow_disconnected,
                sum / self.slow_disconnected
            )
        })
    }
}

/// The serializable form of a shard's measurements (`shard.json`), with fan-out already
/// corrected for the clock; several merge into one ([`Snapshot::merge`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Snapshot {
    /// Voters this shard drove.
    pub voters: u64,
    /// Whole-run histograms, V2 deflate, base64.
    pub histograms: BTreeMap<String, String>,
    /// One-second interval histograms per metric: (unix second, V2 deflate base64).
    pub intervals: BTreeMap<String, Vec<(i64, String)>>,
    /// Per unix second.
    pub seconds: BTreeMap<i64, Second>,
    /// `error` events by code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Connections lost unasked, not come back.
    pub disconnects: u64,
    /// Voters that lost their connection unasked and came back on another target
    /// (`--reconnect`).
    pub reconnects: u64,
    /// Connections that never came up.
    pub connect_failures: u64,
    /// What the workload's churn did.
    pub churn: ChurnCounts,
    /// Per broadcast ("event questionId serverTime"): first and last receipt on the server's
    /// clock.
    pub broadcasts: BTreeMap<String, Spread>,
    /// Per question id.
    pub questions: BTreeMap<String, QuestionTally>,
    /// Every voter's sessions, on the server's clock.
    pub sessions: Vec<Attendance>,
    /// Violations found while running (host or worker failures).
    pub problems: Vec<String>,
    /// Per conference whose host ran here: the questions whose final result it received.
    pub host_finals: BTreeMap<String, u64>,
    /// Per shard, the servers' clock as it saw them.
    pub clock: Vec<ClockReport>,
    /// Why fan-out figures are missing (a clock offset bound too wide), per shard that
    /// withheld them.
    pub fanout_withheld: Vec<String>,
    /// Per fan-out metric, deliveries that arrived before their server time even after the
    /// clock correction (clamped to 0 in the histograms).
    pub early_deliveries: BTreeMap<String, u64>,
    /// Peak RSS of the generator processes, summed (KiB).
    pub generator_rss_kib: u64,
    /// CPU seconds of the generator processes, summed.
    pub generator_cpu_secs: f64,
    /// The largest share of its CPUs one generator process used over its run (1.0: all of the
    /// runtime's threads busy the whole time).
    pub generator_cpu_share: f64,
    /// Votes by the 100 ms in which they were sent (key: ms / 100).
    pub vote_times: BTreeMap<i64, VoteOutcomes>,
    /// `error` events: (unix second, code, count).
    pub error_times: Vec<(i64, String, u64)>,
    /// The faults the nemesis ran.
    pub faults: Vec<FaultRecord>,
}

/// The snapshot of `i` (see [`super::Recorder::snapshot`]).
pub(super) fn take(i: &Inner, mode: ClockMode, max_error_ms: f64, rss: u64, cpu: f64) -> Snapshot {
    let targets: Vec<_> = i.clock.iter().map(|(t, b)| (t.clone(), *b)).collect();
    let fleet = ClockReport::fleet(&targets);
    let mut withheld = Vec::new();
    let (offset_ms, error_ms) = match (mode, fleet) {
        (ClockMode::Estimate, Some((o, e))) => {
            if e > max_error_ms {
                withheld.push(format!(
                    "the servers' clock offset is {o:+.1} ms ± {e:.1} ms, a bound wider than --clock-max-error {max_error_ms} ms"
                ));
            }
            (o, e)
        }
        (ClockMode::Estimate, None) => {
            withheld
                .push("no vote was answered, so the servers' clock offset is unknown".to_owned());
            (0.0, f64::INFINITY)
        }
        (_, Some((_, e))) => (0.0, e),
        (_, None) => (0.0, 0.0),
    };
    let shift_us = (offset_ms * 1000.0).round() as i64;
    // Stamps and receipts are whole ms, so a delivery may seem up to 1 ms early; the offset
    // adds its error. Only what lies beyond is counted as early.
    let tolerance_us = 1000 + (error_ms.min(1e6) * 1000.0) as i64;
    let shift_ms = offset_ms.round() as i64;
    let fanout_ok = withheld.is_empty();
    let mut early = BTreeMap::new();
    let mut histograms = BTreeMap::new();
    let names: std::collections::BTreeSet<&String> =
        i.total.keys().chain(i.total_neg.keys()).collect();
    for name in names {
        let (pos, neg) = (i.total.get(name), i.total_neg.get(name));
        if !metric::is_fanout(name) {
            histograms.insert(name.clone(), encode(pos.unwrap_or(&new_hist())));
            continue;
        }
        if !fanout_ok {
            continue;
        }
        let empty = new_hist();
        let (h, below) = match (shift_us, neg) {
            (0, None) => (pos.cloned().unwrap_or_else(new_hist), 0),
            _ => shifted(pos.unwrap_or(&empty), neg, shift_us, tolerance_us),
        };
        if below > 0 {
            early.insert(name.clone(), below);
        }
        histograms.insert(name.clone(), encode(&h));
    }
    let intervals = i
        .intervals
        .iter()
        .filter(|(name, _)| fanout_ok || !metric::is_fanout(name))
        .map(|(name, list)| {
            let list = list
                .iter()
                .map(|r| match (&r.neg, shift_us) {
                    (None, 0) => (r.second, r.pos.clone()),
                    _ if !metric::is_fanout(name) => (r.second, r.pos.clone()),
                    (neg, _) => {
                        let neg = neg.as_deref().map(decode);
                        (
                            r.second,
                            encode(
                                &shifted(&decode(&r.pos), neg.as_ref(), shift_us, tolerance_us).0,
                            ),
                        )
                    }
                })
                .collect();
            (name.clone(), list)
        })
        .collect();
    let mut sessions = i.sessions.clone();
    let mut broadcasts: BTreeMap<String, Spread> = i
        .broadcasts
        .iter()
        .flat_map(|((e, t), spreads)| {
            spreads
                .iter()
                .map(move |(q, s)| (format!("{e} {q} {t}"), s.clone()))
        })
        .collect();
    if shift_ms != 0 {
        sessions.iter_mut().for_each(|s| s.shift(shift_ms));
        for s in broadcasts.values_mut() {
            s.first += shift_ms;
            s.last += shift_ms;
        }
    }
    Snapshot {
        voters: i.voters,
        histograms,
        intervals,
        seconds: {
            // Carry `connected` forward into seconds that only saw deliveries.
            let mut last = 0;
            i.seconds
                .iter()
                .map(|(k, s)| {
                    let mut s = s.clone();
                    if s.set {
                        last = s.connected;
                    } else {
                        s.connected = last;
                    }
                    (*k, s)
                })
                .collect()
        },
        errors_by_code: i.errors_by_code.clone(),
        disconnects: i.disconnects,
        reconnects: i.reconnects,
        connect_failures: i.connect_failures,
        churn: i.churn,
        broadcasts,
        questions: i.questions.clone(),
        sessions,
        problems: i.problems.clone(),
        host_finals: i.host_finals.clone(),
        clock: vec![ClockReport {
            mode: Some(mode),
            targets,
            applied_ms: offset_ms,
            error_ms,
        }],
        fanout_withheld: withheld,
        early_deliveries: early,
        generator_rss_kib: rss,
        generator_cpu_secs: cpu,
        generator_cpu_share: 0.0,
        vote_times: i.vote_times.clone(),
        error_times: i
            .error_times
            .iter()
            .map(|((sec, code), n)| (*sec, code.clone(), *n))
            .collect(),
        faults: i.faults.clone(),
    }
}

impl Snapshot {
    /// Merges shard snapshots into one (histograms added, counters summed, spreads widened,
    /// sessions gathered).
    pub fn merge(parts: &[Snapshot]) -> Snapshot {
        let mut out = Snapshot::default();
        let mut totals: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
        let mut intervals: BTreeMap<String, BTreeMap<i64, Histogram<u64>>> = BTreeMap::new();
        // A metric one shard withheld is withheld for the run: the others alone would mislead.
        let withheld = parts.iter().any(|p| !p.fanout_withheld.is_empty());
        let keep = |name: &str| !(withheld && metric::is_fanout(name));
        for p in parts {
            out.voters += p.voters;
            for (k, h) in p.histograms.iter().filter(|(k, _)| keep(k)) {
                let _ = totals
                    .entry(k.clone())
                    .or_insert_with(new_hist)
                    .add(decode(h));
            }
            for (k, list) in p.intervals.iter().filter(|(k, _)| keep(k)) {
                for (sec, h) in list {
                    let _ = intervals
                        .entry(k.clone())
                        .or_default()
                        .entry(*sec)
                        .or_insert_with(new_hist)
                        .add(decode(h));
                }
            }
            for (sec, s) in &p.seconds {
                let e = out.seconds.entry(*sec).or_default();
                e.deliveries += s.deliveries;
                e.votes += s.votes;
                e.connected += s.connected;
                e.rejoins += s.rejoins;
            }
            for (k, v) in &p.errors_by_code {
                *out.errors_by_code.entry(k.clone()).or_default() += v;
            }
            for (k, v) in &p.early_deliveries {
                *out.early_deliveries.entry(k.clone()).or_default() += v;
            }
            out.disconnects += p.disconnects;
            out.reconnects += p.reconnects;
            out.connect_failures += p.connect_failures;
            out.churn.add(&p.churn);
            out.sessions.extend(p.sessions.iter().cloned());
            for (k, v) in &p.vote_times {
                out.vote_times.entry(*k).or_default().merge(v);
            }
            out.error_times.extend(p.error_times.iter().cloned());
            out.faults.extend(p.faults.iter().cloned());
            out.problems.extend(p.problems.iter().cloned());
            out.host_finals
                .extend(p.host_finals.iter().map(|(k, v)| (k.clone(), *v)));
            out.clock.extend(p.clock.iter().cloned());
            out.fanout_withheld
                .extend(p.fanout_withheld.iter().cloned());
            out.generator_rss_kib += p.generator_rss_kib;
            out.generator_cpu_secs += p.generator_cpu_secs;
            out.generator_cpu_share = out.generator_cpu_share.max(p.generator_cpu_share);
            for (k, s) in &p.broadcasts {
                let e = out.broadcasts.entry(k.clone()).or_insert(Spread {
                    first: s.first,
                    last: s.last,
                    count: 0,
                });
                e.first = e.first.min(s.first);
                e.last = e.last.max(s.last);
                e.count += s.count;
            }
            for (q, t) in &p.questions {
                merge_tally(out.questions.entry(q.clone()).or_default(), t);
            }
        }
        out.histograms = totals.iter().map(|(k, h)| (k.clone(), encode(h))).collect();
        out.intervals = intervals
            .into_iter()
            .map(|(k, m)| (k, m.into_iter().map(|(s, h)| (s, encode(&h))).collect()))
            .collect();
        out
    }

    /// The whole-run histogram of `metric`, if any.
    pub fn histogram(&self, metric: &str) -> Option<Histogram<u64>> {
        self.histograms.get(metric).map(|h| decode(h))
    }
}

fn merge_tally(e: &mut QuestionTally, t: &QuestionTally) {
    for (k, v) in &t.accepted_by_option {
        *e.accepted_by_option.entry(k.clone()).or_default() += v;
    }
    for (k, v) in &t.rejected_by_reason {
        *e.rejected_by_reason.entry(k.clone()).or_default() += v;
    }
    e.accepted_twice += t.accepted_twice;
    e.votes_sent += t.votes_sent;
    e.votes_unanswered += t.votes_unanswered;
    e.accepted_before_reconnect += t.accepted_before_reconnect;
    e.refused_in_time += t.refused_in_time;
    for (k, v) in &t.unknown_after_reconnect {
        *e.unknown_after_reconnect.entry(k.clone()).or_default() += v;
    }
    match (&e.final_counts, &t.final_counts) {
        (None, Some(c)) => {
            e.final_counts = Some(c.clone());
            e.final_total = t.final_total;
        }
        (Some(a), Some(b)) if a != b || e.final_total != t.final_total => {
            e.final_disagreements += 1
        }
        _ => {}
    }
    e.final_disagreements += t.final_disagreements;
    e.timer_repeated += t.timer_repeated;
    e.duplicates_sent += t.duplicates_sent;
}
