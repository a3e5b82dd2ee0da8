//! Everything a shard measures, in one place: HDR histograms (µs) per metric, one-second
//! intervals for the time series and the HDR interval logs, counters, per-broadcast spreads,
//! per-question tallies, every voter's sessions, and the servers' clock offset. A shard's
//! [`Snapshot`] is serializable and mergeable.

pub mod attendance;
pub mod codec;
pub mod faults;
pub mod process;
mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::clock::{ClockMode, ClockReport, OffsetBounds};
use attendance::Attendance;
use codec::{encode, new_hist};

pub use faults::{FaultRecord, VoteOutcomes};
pub use snapshot::{ChurnCounts, Snapshot};

/// Metric names (also goose request names).
pub mod metric {
    /// TCP + Engine.IO + Socket.IO CONNECT.
    pub const CONNECT: &str = "connect";
    /// `conference:join` → `conference:joined`.
    pub const JOIN: &str = "join";
    /// Scheduled vote time → `vote:accepted` / `vote:rejected`.
    pub const VOTE_ACK: &str = "vote_ack";
    /// Scheduled vote time → the vote written to the socket: the generator's own lag. When it
    /// is a large part of `vote_ack`, the generator, not the server, holds the votes back.
    pub const VOTE_SEND_LAG: &str = "vote_send_lag";
    /// `startedAt` → receipt of `question:live`.
    pub const FANOUT_LIVE: &str = "fanout_question_live";
    /// When the tick was due → receipt of `question:timer_update`.
    pub const FANOUT_TIMER: &str = "fanout_timer_update";
    /// `timestamp` → receipt of `vote:result`.
    pub const FANOUT_RESULT: &str = "fanout_vote_result";
    /// `closedAt` → receipt of `question:closed`.
    pub const FANOUT_CLOSED: &str = "fanout_question_closed";
    /// `closedAt` → receipt of `vote:final_result`.
    pub const FANOUT_FINAL: &str = "fanout_final_result";
    /// All of them, in report order.
    pub const ALL: [&str; 9] = [
        CONNECT,
        JOIN,
        VOTE_ACK,
        VOTE_SEND_LAG,
        FANOUT_LIVE,
        FANOUT_TIMER,
        FANOUT_RESULT,
        FANOUT_CLOSED,
        FANOUT_FINAL,
    ];

    /// Whether `name` is a fan-out delay (server time to receipt: the clocks matter).
    pub fn is_fanout(name: &str) -> bool {
        name.starts_with("fanout_")
    }
}

/// One broadcast seen by many recipients.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Spread {
    /// Earliest receipt, ms since the epoch.
    pub first: i64,
    /// Latest receipt.
    pub last: i64,
    /// Recipients that got it.
    pub count: u64,
}

/// What the voters saw of one question.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct QuestionTally {
    /// `vote:accepted` received, by option.
    pub accepted_by_option: BTreeMap<String, u64>,
    /// `vote:rejected` received, by reason.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Voters that got more than one `vote:accepted`.
    pub accepted_twice: u64,
    /// Votes scheduled and sent.
    pub votes_sent: u64,
    /// Votes never answered.
    pub votes_unanswered: u64,
    /// Votes sent again after a reconnection that the server answered `duplicate` with no
    /// earlier `vote:accepted` received: counted before the connection went.
    pub accepted_before_reconnect: u64,
    /// Votes sent again after a reconnection that found the question closed: whether the first
    /// send was counted cannot be known, so the final count may exceed the accepted count by
    /// these, option by option.
    pub unknown_after_reconnect: BTreeMap<String, u64>,
    /// The final result's option counts (every voter must see the same).
    pub final_counts: Option<BTreeMap<String, u64>>,
    /// The final result's totalVotes.
    pub final_total: Option<u64>,
    /// Final results that disagreed with the first one seen.
    pub final_disagreements: u64,
    /// Timer updates a voter got out of order: a `timeRemaining` not below the one before it
    /// (D16: each tick once, in order).
    pub timer_repeated: u64,
    /// Second votes sent on purpose (the server must answer `duplicate`).
    pub duplicates_sent: u64,
    /// First votes sent at least a second before the question closed (by the server's
    /// `closedAt`) and answered `question_closed`: the server took them up after the close, so
    /// those voters did not get to vote.
    pub refused_in_time: u64,
}

/// One second of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Second {
    /// Whether `connected` was recorded for this second (else it is carried forward).
    #[serde(skip)]
    pub set: bool,
    /// Voters connected at the end of the second.
    pub connected: i64,
    /// Messages received in the second.
    pub deliveries: u64,
    /// Vote answers received in the second.
    pub votes: u64,
    /// Voters back in the room after losing or dropping their connection.
    #[serde(default)]
    pub rejoins: u64,
}

/// One second's interval histogram of a metric: positive values, and for fan-out the values
/// that came out negative (a receipt before its server time: the clocks differ), negated.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawInterval {
    pub second: i64,
    pub pos: String,
    pub neg: Option<String>,
}

#[derive(Default)]
struct Inner {
    total: BTreeMap<String, Histogram<u64>>,
    interval: BTreeMap<String, Histogram<u64>>,
    /// Fan-out values below zero, negated (whole run, current second).
    total_neg: BTreeMap<String, Histogram<u64>>,
    interval_neg: BTreeMap<String, Histogram<u64>>,
    intervals: BTreeMap<String, Vec<RawInterval>>,
    seconds: BTreeMap<i64, Second>,
    connected: i64,
    errors_by_code: BTreeMap<String, u64>,
    disconnects: u64,
    reconnects: u64,
    connect_failures: u64,
    churn: ChurnCounts,
    /// Per (event, server time), the questions' spreads: a delivery finds its entry without
    /// allocating (a few questions share a server time).
    broadcasts: HashMap<(&'static str, i64), Vec<(String, Spread)>>,
    questions: BTreeMap<String, QuestionTally>,
    sessions: Vec<Attendance>,
    voters: u64,
    problems: Vec<String>,
    host_finals: BTreeMap<String, u64>,
    clock: BTreeMap<String, OffsetBounds>,
    /// Votes by the 100 ms in which they were sent.
    vote_times: BTreeMap<i64, VoteOutcomes>,
    /// `error` events by second and code.
    error_times: BTreeMap<(i64, String), u64>,
    faults: Vec<FaultRecord>,
}

fn record_in(map: &mut BTreeMap<String, Histogram<u64>>, metric: &str, v: u64) {
    let v = v.clamp(1, codec::MAX_MICROS);
    if let Some(h) = map.get_mut(metric) {
        let _ = h.record(v);
    } else {
        let _ = map
            .entry(metric.to_owned())
            .or_insert_with(new_hist)
            .record(v);
    }
}

impl Inner {
    /// Records one sample of `metric` (µs, negative only for fan-out) in the run's and the
    /// current second's histograms.
    fn record(&mut self, metric: &str, micros: i64) {
        if micros >= 0 {
            record_in(&mut self.total, metric, micros as u64);
            record_in(&mut self.interval, metric, micros as u64);
        } else {
            record_in(&mut self.total_neg, metric, micros.unsigned_abs());
            record_in(&mut self.interval_neg, metric, micros.unsigned_abs());
        }
    }
}

/// The measurements of a shard; cheap to share.
#[derive(Default)]
pub struct Recorder {
    inner: Mutex<Inner>,
}

impl Recorder {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Records a duration of `metric`.
    pub fn time(&self, metric: &str, micros: u64) {
        self.with(|i| i.record(metric, micros as i64));
    }

    /// A message arrived (`vote` true for a vote answer).
    pub fn delivered(&self, now_ms: i64, vote: bool) {
        self.with(|i| {
            let s = i.seconds.entry(now_ms / 1000).or_default();
            s.deliveries += 1;
            if vote {
                s.votes += 1;
            }
        });
    }

    /// A voter connected (`+1`) or went away (`-1`).
    pub fn connected(&self, now_ms: i64, delta: i64) {
        self.with(|i| {
            i.connected += delta;
            let c = i.connected;
            let s = i.seconds.entry(now_ms / 1000).or_default();
            s.connected = c;
            s.set = true;
        });
    }

    /// This shard drives `n` voters.
    pub fn set_voters(&self, n: u64) {
        self.with(|i| i.voters = n);
    }

    /// An `error` event arrived at `at` (ms).
    pub fn error(&self, code: &str, at: i64) {
        self.with(|i| {
            *i.errors_by_code.entry(code.to_owned()).or_default() += 1;
            *i.error_times
                .entry((at / 1000, code.to_owned()))
                .or_default() += 1;
        });
    }

    /// A vote sent at `sent_ms` came to `outcome` (sent, accepted, refused or never answered).
    pub fn vote_outcome(&self, sent_ms: i64, outcome: faults::Outcome) {
        self.with(|i| i.vote_times.entry(sent_ms / 100).or_default().add(outcome));
    }

    /// A fault ran (or was skipped).
    pub fn fault(&self, record: FaultRecord) {
        self.with(|i| i.faults.push(record));
    }

    /// A connection was lost unasked, and the voter did not come back.
    pub fn disconnect(&self) {
        self.with(|i| i.disconnects += 1);
    }

    /// A voter lost its connection unasked and is connected and joined again (`--reconnect`),
    /// at `at` (ms).
    pub fn reconnected(&self, at: i64) {
        self.with(|i| {
            i.reconnects += 1;
            i.seconds.entry(at / 1000).or_default().rejoins += 1;
        });
    }

    /// A voter is back in the room after a drop of the storm, at `at` (ms).
    pub fn returned(&self, at: i64) {
        self.with(|i| {
            i.churn.returned += 1;
            i.seconds.entry(at / 1000).or_default().rejoins += 1;
        });
    }

    /// Churn as the workload asked: `f` updates the counts.
    pub fn churn(&self, f: impl FnOnce(&mut ChurnCounts)) {
        self.with(|i| f(&mut i.churn));
    }

    /// A connection never came up.
    pub fn connect_failed(&self) {
        self.with(|i| i.connect_failures += 1);
    }

    /// One recipient got broadcast (`event`, `question`, server time `sent`) at `at`: the
    /// delivery, its fan-out delay and the broadcast's spread, under one lock. The delay may
    /// come out negative when the clocks differ; it is kept apart until the offset is known.
    pub fn fanout(&self, metric: &str, event: &'static str, question: &str, sent: i64, at: i64) {
        self.with(|i| {
            i.record(metric, (at - sent) * 1000);
            i.seconds.entry(at / 1000).or_default().deliveries += 1;
            let spreads = i.broadcasts.entry((event, sent)).or_default();
            match spreads.iter_mut().find(|(q, _)| q == question) {
                Some((_, s)) => {
                    s.first = s.first.min(at);
                    s.last = s.last.max(at);
                    s.count += 1;
                }
                None => spreads.push((
                    question.to_owned(),
                    Spread {
                        first: at,
                        last: at,
                        count: 1,
                    },
                )),
            }
        });
    }

    /// A vote to `target` sent at `sent_us` was answered at `received_us` (µs, this machine's
    /// clock) with the server's `timestamp`: narrows the offset of that target's clock.
    pub fn clock_sample(&self, target: &str, sent_us: f64, received_us: f64, server_ms: i64) {
        self.with(|i| match i.clock.get_mut(target) {
            Some(b) => b.add(sent_us, received_us, server_ms),
            None => {
                let mut b = OffsetBounds::default();
                b.add(sent_us, received_us, server_ms);
                i.clock.insert(target.to_owned(), b);
            }
        });
    }

    /// The servers' clock as estimated so far: (offset, error bound) in ms.
    pub fn clock_estimate(&self) -> Option<(f64, f64)> {
        self.with(|i| {
            let targets: Vec<(String, OffsetBounds)> =
                i.clock.iter().map(|(t, b)| (t.clone(), *b)).collect();
            ClockReport::fleet(&targets)
        })
    }

    /// A voter's session ended.
    pub fn session(&self, a: Attendance) {
        self.with(|i| i.sessions.push(a));
    }

    /// Updates the tally of question `q`.
    pub fn question(&self, q: &str, f: impl FnOnce(&mut QuestionTally)) {
        self.with(|i| f(i.questions.entry(q.to_owned()).or_default()));
    }

    /// Moves the current interval histograms into the series (called once a second).
    pub fn close_interval(&self, second: i64) {
        self.with(|i| {
            let mut neg = std::mem::take(&mut i.interval_neg);
            for (name, h) in std::mem::take(&mut i.interval) {
                let n = neg.remove(&name);
                i.intervals.entry(name).or_default().push(RawInterval {
                    second,
                    pos: encode(&h),
                    neg: n.map(|h| encode(&h)),
                });
            }
            for (name, h) in neg {
                i.intervals.entry(name).or_default().push(RawInterval {
                    second,
                    pos: encode(&new_hist()),
                    neg: Some(encode(&h)),
                });
            }
            let c = i.connected;
            let s = i.seconds.entry(second).or_default();
            s.connected = c;
            s.set = true;
        });
    }

    /// Something this shard's run must report as a violation (a failed host, a failed worker).
    pub fn problem(&self, text: String) {
        self.with(|i| i.problems.push(text));
    }

    /// Whether a problem was recorded.
    pub fn has_problems(&self) -> bool {
        self.with(|i| !i.problems.is_empty())
    }

    /// The host of `conference` finished: it received the final result of `questions`.
    pub fn host_ran(&self, conference: &str, questions: u64) {
        self.with(|i| {
            i.host_finals.insert(conference.to_owned(), questions);
        });
    }

    /// Whether the host of `conference` has reported its outcome.
    pub fn host_reported(&self, conference: &str) -> bool {
        self.with(|i| i.host_finals.contains_key(conference))
    }

    /// Live percentiles of `metric` so far (ms), for the progress line.
    pub fn quantile_ms(&self, metric: &str, q: f64) -> Option<f64> {
        self.with(|i| {
            i.total
                .get(metric)
                .filter(|h| !h.is_empty())
                .map(|h| h.value_at_quantile(q) as f64 / 1000.0)
        })
    }

    /// Count of `metric` samples so far.
    pub fn count(&self, metric: &str) -> u64 {
        self.with(|i| {
            i.total.get(metric).map_or(0, |h| h.len())
                + i.total_neg.get(metric).map_or(0, |h| h.len())
        })
    }

    /// Voters connected now.
    pub fn connected_now(&self) -> i64 {
        self.with(|i| i.connected)
    }

    /// The serializable snapshot, with fan-out corrected for the clock as `mode` says: with
    /// [`ClockMode::Estimate`] every fan-out figure and every time of a session or spread
    /// moves by the estimated offset, and fan-out is withheld when its error bound exceeds
    /// `max_error_ms`.
    pub fn snapshot(&self, mode: ClockMode, max_error_ms: f64) -> Snapshot {
        let (generator_rss_kib, generator_cpu_secs) = process::usage("self").unwrap_or((0, 0.0));
        self.with(|i| snapshot::take(i, mode, max_error_ms, generator_rss_kib, generator_cpu_secs))
    }
}
