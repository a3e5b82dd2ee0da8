//! Everything a shard measures, in one place: HDR histograms (µs) per metric, one-second
//! intervals for the time series and the HDR interval logs, counters, per-broadcast spreads and
//! per-question tallies for the end-of-run invariants. Serializable, so shards can be merged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

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
    /// `timestamp` → receipt of `question:timer_update`.
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
}

fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid HDR bounds")
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
#[serde(rename_all = "camelCase")]
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
    /// earlier `vote:accepted` received: counted before the connection died (`--reconnect`).
    #[serde(default)]
    pub accepted_before_reconnect: u64,
    /// Votes sent again after a reconnection that found the question closed: whether the first
    /// send was counted cannot be known, so the final count may exceed the accepted count by
    /// these, option by option.
    #[serde(default)]
    pub unknown_after_reconnect: BTreeMap<String, u64>,
    /// The final result's option counts (every voter must see the same).
    pub final_counts: Option<BTreeMap<String, u64>>,
    /// The final result's totalVotes.
    pub final_total: Option<u64>,
    /// Final results that disagreed with the first one seen.
    pub final_disagreements: u64,
    /// Voters that received `question:live`, `question:closed`, `vote:final_result`.
    pub got_live: u64,
    /// See `got_live`.
    pub got_closed: u64,
    /// See `got_live`.
    pub got_final: u64,
    /// Timer updates received, summed over voters.
    pub timer_updates: u64,
    /// Timer updates expected: per voter that saw the question live, the ticks before its close.
    pub timer_expected: u64,
    /// Timer updates missed, counted per voter.
    #[serde(default)]
    pub timer_missed: u64,
    /// Timer updates a voter got again, or out of order: a `timeRemaining` not below the one
    /// before it (D16: each tick once, in order).
    #[serde(default)]
    pub timer_repeated: u64,
    /// Second votes sent on purpose (the server must answer `duplicate`).
    #[serde(default)]
    pub duplicates_sent: u64,
    /// First votes sent at least a second before the question closed (by the server's
    /// `closedAt`) and answered `question_closed`: the server took them up after the close, so
    /// those voters did not get to vote.
    #[serde(default)]
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
}

#[derive(Default)]
struct Inner {
    total: BTreeMap<String, Histogram<u64>>,
    interval: BTreeMap<String, Histogram<u64>>,
    intervals: BTreeMap<String, Vec<(i64, String)>>,
    seconds: BTreeMap<i64, Second>,
    connected: i64,
    errors_by_code: BTreeMap<String, u64>,
    disconnects: u64,
    reconnects: u64,
    late_joins: Vec<i64>,
    connect_failures: u64,
    /// Per (event, server time), the questions' spreads: a delivery finds its entry without
    /// allocating (one or two questions share a server time).
    broadcasts: std::collections::HashMap<(&'static str, i64), Vec<(String, Spread)>>,
    questions: BTreeMap<String, QuestionTally>,
    voters: u64,
    problems: Vec<String>,
    host_questions: Option<u64>,
}

impl Inner {
    /// Records one sample of `metric` in the run's and the current second's histograms.
    fn record(&mut self, metric: &str, micros: u64) {
        let v = micros.clamp(1, 3_600_000_000);
        for map in [&mut self.total, &mut self.interval] {
            if let Some(h) = map.get_mut(metric) {
                let _ = h.record(v);
            } else {
                let _ = map
                    .entry(metric.to_owned())
                    .or_insert_with(new_hist)
                    .record(v);
            }
        }
    }
}

/// The measurements of a shard; cheap to share.
#[derive(Default)]
pub struct Recorder {
    inner: Mutex<Inner>,
}

/// The serializable form of a [`Recorder`] (a shard's `shard.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
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
    /// Connections lost before the end.
    pub disconnects: u64,
    /// Voters that lost their connection and came back on another target (`--reconnect`).
    #[serde(default)]
    pub reconnects: u64,
    /// When (ms) each voter whose join raced a push got `conference:joined` with the live
    /// question (D13): it was not in the room for what was broadcast before.
    #[serde(default)]
    pub late_joins: Vec<i64>,
    /// Connections that never came up.
    pub connect_failures: u64,
    /// Per broadcast ("event questionId serverTime").
    pub broadcasts: BTreeMap<String, Spread>,
    /// Per question id.
    pub questions: BTreeMap<String, QuestionTally>,
    /// Violations found while running (host or worker failures).
    #[serde(default)]
    pub problems: Vec<String>,
    /// Questions whose final result the host received (set by the shard that ran the host).
    #[serde(default)]
    pub host_questions: Option<u64>,
    /// Peak RSS of the generator processes, summed (KiB).
    #[serde(default)]
    pub generator_rss_kib: u64,
    /// CPU seconds of the generator processes, summed.
    #[serde(default)]
    pub generator_cpu_secs: f64,
}

/// Peak resident memory (VmHWM, KiB) and CPU seconds (user + system) of a process; `None`
/// once it has exited (or never was).
///
/// ```
/// let (rss_kib, cpu_secs) = loadgen::record::process_usage("self").unwrap();
/// assert!(rss_kib > 0 && cpu_secs >= 0.0);
/// assert_eq!(loadgen::record::process_usage("not-a-pid"), None);
/// ```
pub fn process_usage(pid: &str) -> Option<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // A process that has exited but not been reaped (a zombie) has no memory lines: gone.
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    Some((rss, ticks as f64 / 100.0))
}

/// What one server process (`--server-pid`) used during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerUsage {
    /// The process.
    pub pid: u32,
    /// Peak resident memory (KiB), as last read.
    pub rss_kib: u64,
    /// CPU seconds (user + system) spent during the run, as last read.
    pub cpu_secs: f64,
    /// The process was gone at the end (a node killed on purpose): the figures are those of the
    /// last reading before it went, at most a second before.
    pub exited: bool,
}

/// Reads the server processes once a second, so a server that dies during the run (a node
/// killed mid-question) still reports its peak memory and the CPU it used until then.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let me = std::process::id();
/// let watch = loadgen::record::ServerWatch::start(&[me, 999_999_999]);
/// let usage = watch.finish();
/// assert!(!usage[0].exited && usage[0].rss_kib > 0);
/// assert!(usage[1].exited && usage[1].cpu_secs == 0.0);
/// # }
/// ```
pub struct ServerWatch {
    state: Arc<Mutex<Vec<Watched>>>,
    task: tokio::task::JoinHandle<()>,
}

/// One watched process: its pid, its CPU seconds at the start, its last reading.
type Watched = (u32, Option<f64>, Option<(u64, f64)>);

impl ServerWatch {
    /// Takes a first reading of each process and starts reading them every second.
    pub fn start(pids: &[u32]) -> ServerWatch {
        let read = |pid: u32| process_usage(&pid.to_string());
        let state: Vec<_> = pids
            .iter()
            .map(|&pid| {
                let now = read(pid);
                (pid, now.map(|(_, cpu)| cpu), now)
            })
            .collect();
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every.tick().await;
                Self::sample(&shared);
            }
        });
        ServerWatch { state, task }
    }

    fn sample(state: &Mutex<Vec<Watched>>) {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        for (pid, _, last) in state.iter_mut() {
            if let Some((rss, cpu)) = process_usage(&pid.to_string()) {
                let peak = last.map_or(rss, |(seen, _)| seen.max(rss));
                *last = Some((peak, cpu));
            }
        }
    }

    /// Stops the readings and returns each process's figures, read once more now.
    pub fn finish(self) -> Vec<ServerUsage> {
        self.task.abort();
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .iter()
            .map(|&(pid, cpu_before, last)| {
                let now = process_usage(&pid.to_string());
                let (rss_kib, cpu) = match (now, last) {
                    (Some((rss, cpu)), Some((seen, _))) => (rss.max(seen), cpu),
                    (now, last) => now.or(last).unwrap_or((0, 0.0)),
                };
                ServerUsage {
                    pid,
                    rss_kib,
                    cpu_secs: (cpu - cpu_before.unwrap_or(cpu)).max(0.0),
                    exited: now.is_none(),
                }
            })
            .collect()
    }
}

fn encode(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    let _ = V2DeflateSerializer::new().serialize(h, &mut buf);
    b64(&buf)
}

/// Decodes a histogram written by [`Snapshot`].
pub fn decode(s: &str) -> Histogram<u64> {
    let bytes = unb64(s);
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap_or_else(|_| new_hist())
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn unb64(s: &str) -> Vec<u8> {
    let val = |c: u8| B64.iter().position(|&x| x == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.as_bytes().chunks(4) {
        let digits: Vec<u32> = chunk.iter().filter_map(|&c| val(c)).collect();
        let n = digits
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, d)| acc | (d << (18 - 6 * i)));
        for i in 0..digits.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

impl Recorder {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Records a duration of `metric`.
    pub fn time(&self, metric: &str, micros: u64) {
        self.with(|i| i.record(metric, micros));
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

    /// An `error` event arrived.
    pub fn error(&self, code: &str) {
        self.with(|i| *i.errors_by_code.entry(code.to_owned()).or_default() += 1);
    }

    /// A connection was lost before the end.
    pub fn disconnect(&self) {
        self.with(|i| i.disconnects += 1);
    }

    /// A voter lost its connection and is connected and joined again.
    pub fn reconnected(&self) {
        self.with(|i| i.reconnects += 1);
    }

    /// A voter learned of a live question from `conference:joined` at `at` (ms, D13).
    pub fn joined_late(&self, at: i64) {
        self.with(|i| i.late_joins.push(at));
    }

    /// A connection never came up.
    pub fn connect_failed(&self) {
        self.with(|i| i.connect_failures += 1);
    }

    /// One recipient got broadcast (`event`, `question`, server time `sent`) at `at`: the
    /// delivery, its fan-out delay and the broadcast's spread, under one lock.
    pub fn fanout(&self, metric: &str, event: &'static str, question: &str, sent: i64, at: i64) {
        let micros = ((at - sent).max(0) as u64) * 1000;
        self.with(|i| {
            i.record(metric, micros);
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

    /// Updates the tally of question `q`.
    pub fn question(&self, q: &str, f: impl FnOnce(&mut QuestionTally)) {
        self.with(|i| f(i.questions.entry(q.to_owned()).or_default()));
    }

    /// Moves the current interval histograms into the series (called once a second).
    pub fn close_interval(&self, second: i64) {
        self.with(|i| {
            for (name, h) in std::mem::take(&mut i.interval) {
                i.intervals
                    .entry(name)
                    .or_default()
                    .push((second, encode(&h)));
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

    /// Whether the host of this shard has reported its outcome.
    pub fn host_reported(&self) -> bool {
        self.with(|i| i.host_questions.is_some())
    }

    /// Whether a problem was recorded.
    pub fn has_problems(&self) -> bool {
        self.with(|i| !i.problems.is_empty())
    }

    /// This shard ran the host, which pushed `questions` questions.
    pub fn host_ran(&self, questions: u64) {
        self.with(|i| i.host_questions = Some(questions));
    }

    /// Live percentiles of `metric` so far (ms), for progress lines.
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
        self.with(|i| i.total.get(metric).map_or(0, |h| h.len()))
    }

    /// Voters connected now.
    pub fn connected_now(&self) -> i64 {
        self.with(|i| i.connected)
    }

    /// The serializable snapshot.
    pub fn snapshot(&self) -> Snapshot {
        let (generator_rss_kib, generator_cpu_secs) = process_usage("self").unwrap_or((0, 0.0));
        self.with(|i| Snapshot {
            voters: i.voters,
            histograms: i
                .total
                .iter()
                .map(|(k, h)| (k.clone(), encode(h)))
                .collect(),
            intervals: i.intervals.clone(),
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
            problems: i.problems.clone(),
            host_questions: i.host_questions,
            errors_by_code: i.errors_by_code.clone(),
            disconnects: i.disconnects,
            reconnects: i.reconnects,
            late_joins: i.late_joins.clone(),
            connect_failures: i.connect_failures,
            broadcasts: i
                .broadcasts
                .iter()
                .flat_map(|((e, t), spreads)| {
                    spreads
                        .iter()
                        .map(move |(q, s)| (format!("{e} {q} {t}"), s.clone()))
                })
                .collect(),
            questions: i.questions.clone(),
            generator_rss_kib,
            generator_cpu_secs,
        })
    }
}

impl Snapshot {
    /// Merges shard snapshots into one (histograms added, counters summed, spreads widened).
    pub fn merge(parts: &[Snapshot]) -> Snapshot {
        let mut out = Snapshot::default();
        let mut totals: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
        let mut intervals: BTreeMap<String, BTreeMap<i64, Histogram<u64>>> = BTreeMap::new();
        for p in parts {
            out.voters += p.voters;
            for (k, h) in &p.histograms {
                let _ = totals
                    .entry(k.clone())
                    .or_insert_with(new_hist)
                    .add(decode(h));
            }
            for (k, list) in &p.intervals {
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
            }
            for (k, v) in &p.errors_by_code {
                *out.errors_by_code.entry(k.clone()).or_default() += v;
            }
            out.disconnects += p.disconnects;
            out.reconnects += p.reconnects;
            out.late_joins.extend(&p.late_joins);
            out.problems.extend(p.problems.iter().cloned());
            out.host_questions = out.host_questions.or(p.host_questions);
            out.generator_rss_kib += p.generator_rss_kib;
            out.generator_cpu_secs += p.generator_cpu_secs;
            out.connect_failures += p.connect_failures;
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
                let e = out.questions.entry(q.clone()).or_default();
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
                e.got_live += t.got_live;
                e.got_closed += t.got_closed;
                e.got_final += t.got_final;
                e.timer_updates += t.timer_updates;
                e.timer_expected += t.timer_expected;
                e.timer_missed += t.timer_missed;
                e.timer_repeated += t.timer_repeated;
                e.duplicates_sent += t.duplicates_sent;
            }
        }
        // Connected counts are per shard at each second; carry the last known value forward
        // per shard would need per-shard series, so sum what each shard recorded that second.
        out.histograms = totals.iter().map(|(k, h)| (k.clone(), encode(h))).collect();
        out.intervals = intervals
            .into_iter()
            .map(|(k, m)| (k, m.into_iter().map(|(s, h)| (s, encode(&h))).collect()))
            .collect();
        out
    }
}
