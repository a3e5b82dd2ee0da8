//! `GET /metrics` (D8): counters and a histogram in the Prometheus text format, on atomics, so
//! recording costs a few nanoseconds on the hot paths (a vote, a broadcast).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use lcr_protocol::{ErrorCode, RejectReason};

/// Upper bounds (seconds) of every latency histogram: sub-millisecond store calls up to the
/// seconds an event can wait in a socket's queue on an overloaded node.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram on atomics, in seconds, with [`BUCKETS`].
///
/// ```
/// use std::time::Duration;
/// let h = reference_server::metrics::Histogram::default();
/// h.record(Duration::from_millis(3));
/// let text = h.render("lcr_demo_seconds", "node=\"n1\"");
/// assert!(text.contains("lcr_demo_seconds_bucket{node=\"n1\",le=\"0.005\"} 1"));
/// assert!(text.contains("lcr_demo_seconds_count{node=\"n1\"} 1"));
/// ```
#[derive(Default)]
pub struct Histogram {
    count: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    micros_sum: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn record(&self, took: Duration) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.micros_sum
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` with `labels` (no HELP/TYPE).
    pub fn render(&self, name: &str, labels: &str) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += get(&self.buckets[i]);
            out.push_str(&format!(
                "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}\n"
            ));
        }
        out.push_str(&format!(
            "{name}_bucket{{{labels},le=\"+Inf\"}} {}\n{name}_sum{{{labels}}} {}\n{name}_count{{{labels}}} {}\n",
            get(&self.count),
            get(&self.micros_sum) as f64 / 1e6,
            get(&self.count)
        ));
        out
    }
}

/// The server's counters.
#[derive(Default)]
pub struct Metrics {
    connections_open: AtomicI64,
    connections_total: AtomicU64,
    connections_refused: AtomicU64,
    joins_total: AtomicU64,
    votes_accepted: AtomicU64,
    votes_rejected: [AtomicU64; 4],
    errors: [AtomicU64; 12],
    broadcasts: Histogram,
    /// Runtime store calls (Redis round trips).
    pub store_calls: std::sync::Arc<Histogram>,
    /// MongoDB calls (catalog reads and writes, result writes).
    pub mongo_calls: std::sync::Arc<Histogram>,
    /// Time a client event waited between its read off the socket and the start of its flow.
    pub event_queue: Histogram,
    /// How late a 100 ms timer fired on the clock thread ([`crate::clock`]).
    pub clock_lag: std::sync::Arc<Histogram>,
    /// How late a 100 ms timer fired on the sockets' runtime.
    pub sockets_lag: std::sync::Arc<Histogram>,
    questions_closed: AtomicU64,
    timer_takeovers: AtomicU64,
    /// Live runs whose state this node found gone from the store (D26).
    states_lost: AtomicU64,
    /// What the runtime store keeps across a restart ([`crate::store::Durability`]).
    durability: std::sync::OnceLock<String>,
    /// Broadcasts other nodes may have missed (publishing to Redis failed).
    broadcasts_unpublished: AtomicU64,
    /// Deliveries to this node's sockets dropped because a socket's send buffer was full.
    deliveries_dropped: AtomicU64,
    /// Sockets disconnected because their queue was full (slow readers, [`crate::slow`]).
    pub slow_sockets_disconnected: std::sync::Arc<AtomicU64>,
}

fn reject_index(r: RejectReason) -> usize {
    RejectReason::ALL.iter().position(|x| *x == r).unwrap_or(0)
}

fn error_index(c: ErrorCode) -> usize {
    ErrorCode::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

impl Metrics {
    /// A socket passed authentication.
    pub fn connected(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections_total.fetch_add(1, Ordering::Relaxed);
    }
    /// A socket went away.
    pub fn disconnected(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
    /// A handshake was refused (D2).
    pub fn refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }
    /// A socket joined a conference.
    pub fn joined(&self) {
        self.joins_total.fetch_add(1, Ordering::Relaxed);
    }
    /// A vote was counted.
    pub fn vote_accepted(&self) {
        self.votes_accepted.fetch_add(1, Ordering::Relaxed);
    }
    /// A vote was refused.
    pub fn vote_rejected(&self, r: RejectReason) {
        self.votes_rejected[reject_index(r)].fetch_add(1, Ordering::Relaxed);
    }
    /// An `error` event was sent.
    pub fn error(&self, c: ErrorCode) {
        self.errors[error_index(c)].fetch_add(1, Ordering::Relaxed);
    }
    /// A question closed.
    pub fn question_closed(&self) {
        self.questions_closed.fetch_add(1, Ordering::Relaxed);
    }
    /// This node took over the countdown of a run no node held (D16, D25).
    pub fn timer_takeover(&self) {
        self.timer_takeovers.fetch_add(1, Ordering::Relaxed);
    }
    /// This node found the state of a run it times gone from the store (D26).
    pub fn state_lost(&self) {
        self.states_lost.fetch_add(1, Ordering::Relaxed);
    }
    /// Records the store's durability mode, once, at start-up.
    pub fn set_durability(&self, mode: &str) {
        let _ = self.durability.set(mode.to_owned());
    }
    /// A room broadcast took `took` to hand to the adapter, and fell short by `shortfall`.
    pub fn broadcast(&self, took: Duration, shortfall: crate::rooms::Shortfall) {
        self.broadcasts.record(took);
        if !shortfall.published {
            self.broadcasts_unpublished.fetch_add(1, Ordering::Relaxed);
        }
        self.deliveries_dropped
            .fetch_add(shortfall.sockets_full as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the gauges the caller reads at scrape time.
    ///
    /// ```
    /// let m = reference_server::metrics::Metrics::default();
    /// m.connected();
    /// m.vote_rejected(lcr_protocol::RejectReason::Duplicate);
    /// let text = m.render("node-1", 2, 0);
    /// assert!(text.contains("lcr_connections_open{node=\"node-1\"} 1"));
    /// assert!(text.contains("lcr_votes_total{node=\"node-1\",outcome=\"rejected\",reason=\"duplicate\"} 1"));
    /// assert!(text.contains("lcr_questions_live{node=\"node-1\"} 2"));
    /// ```
    pub fn render(&self, node: &str, questions_live: usize, results_pending: usize) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, String)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, value) in lines {
                out.push_str(&format!("{name}{{node=\"{node}\"{labels}}} {value}\n"));
            }
        };
        metric(
            "lcr_connections_open",
            "gauge",
            "Sockets connected now.",
            vec![(
                String::new(),
                self.connections_open.load(Ordering::Relaxed).to_string(),
            )],
        );
        metric(
            "lcr_connections_total",
            "counter",
            "Sockets that passed authentication.",
            vec![(String::new(), get(&self.connections_total).to_string())],
        );
        metric(
            "lcr_connections_refused_total",
            "counter",
            "Handshakes refused (D2).",
            vec![(String::new(), get(&self.connections_refused).to_string())],
        );
        metric(
            "lcr_joins_total",
            "counter",
            "conference:join accepted.",
            vec![(String::new(), get(&self.joins_total).to_string())],
        );
        let mut votes = vec![(
            ",outcome=\"accepted\"".to_owned(),
            get(&self.votes_accepted).to_string(),
        )];
        for (i, r) in RejectReason::ALL.iter().enumerate() {
            votes.push((
                format!(",outcome=\"rejected\",reason=\"{r}\""),
                get(&self.votes_rejected[i]).to_string(),
            ));
        }
        metric(
            "lcr_votes_total",
            "counter",
            "Votes by outcome and reject reason.",
            votes,
        );
        let errors = ErrorCode::ALL
            .iter()
            .enumerate()
            .map(|(i, c)| (format!(",code=\"{c}\""), get(&self.errors[i]).to_string()))
            .collect();
        metric(
            "lcr_errors_total",
            "counter",
            "error events sent, by code.",
            errors,
        );
        metric(
            "lcr_questions_live",
            "gauge",
            "Live questions timed by this node.",
            vec![(String::new(), questions_live.to_string())],
        );
        metric(
            "lcr_questions_closed_total",
            "counter",
            "Questions closed with a final result.",
            vec![(String::new(), get(&self.questions_closed).to_string())],
        );
        metric(
            "lcr_timer_takeovers_total",
            "counter",
            "Countdowns this node took over from a node that died or left (D16, D25).",
            vec![(String::new(), get(&self.timer_takeovers).to_string())],
        );
        metric(
            "lcr_runtime_state_lost_total",
            "counter",
            "Live questions whose runtime state this node found gone from the store: it lost data, e.g. a Redis restart without persistence (D26).",
            vec![(String::new(), get(&self.states_lost).to_string())],
        );
        if let Some(mode) = self.durability.get() {
            metric(
                "lcr_store_durability",
                "gauge",
                "What the runtime store keeps across a restart of its server (mode label; docs/reference-server.md#redis-durability).",
                vec![(format!(",mode=\"{mode}\""), "1".to_owned())],
            );
        }
        metric(
            "lcr_broadcasts_unpublished_total",
            "counter",
            "Room broadcasts whose publish to the other nodes failed (this node's sockets still got them).",
            vec![(String::new(), get(&self.broadcasts_unpublished).to_string())],
        );
        metric(
            "lcr_deliveries_dropped_total",
            "counter",
            "Broadcast deliveries to this node's sockets dropped because the socket's send buffer was full.",
            vec![(String::new(), get(&self.deliveries_dropped).to_string())],
        );
        metric(
            "lcr_slow_sockets_disconnected_total",
            "counter",
            "Sockets disconnected because their queue was full (--socket-queue): clients that stopped reading.",
            vec![(
                String::new(),
                self.slow_sockets_disconnected
                    .load(Ordering::Relaxed)
                    .to_string(),
            )],
        );
        metric(
            "lcr_results_pending",
            "gauge",
            "Final results not yet confirmed written (D23).",
            vec![(String::new(), results_pending.to_string())],
        );
        for (name, help, h) in [
            (
                "lcr_broadcast_seconds",
                "Time to hand a room broadcast to the adapter (with Redis: publish included).",
                &self.broadcasts,
            ),
            (
                "lcr_store_call_seconds",
                "Runtime store calls (Redis round trips).",
                &self.store_calls,
            ),
            (
                "lcr_mongo_call_seconds",
                "MongoDB calls: catalog reads and writes, result writes.",
                &self.mongo_calls,
            ),
            (
                "lcr_event_queue_seconds",
                "Time a client event waited between its read off the socket and the start of its flow (the socket's queue and the node's run queue).",
                &self.event_queue,
            ),
        ] {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
            out.push_str(&h.render(name, &format!("node=\"{node}\"")));
        }
        let name = "lcr_timer_lag_seconds";
        out.push_str(&format!(
            "# HELP {name} How late a 100 ms timer fired, per runtime: the clock thread (countdowns, Redis I/O, other nodes' broadcasts) and the sockets' runtime (flows). Seconds here mean a stalled or starved runtime.\n# TYPE {name} histogram\n"
        ));
        for (thread, h) in [("clock", &self.clock_lag), ("sockets", &self.sockets_lag)] {
            out.push_str(&h.render(name, &format!("node=\"{node}\",thread=\"{thread}\"")));
        }
        out
    }
}
