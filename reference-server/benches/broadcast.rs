//! The broadcast path, in seconds: one `vote:result` from the node to a room of N sockets
//! connected over loopback, timed until every socket has read it. The sockets are the lean
//! client of `lcr-client` in the same process, so a figure holds the server's work and the
//! readers' together; what matters is the change between two builds. Per delivery:
//! the time divided by N (criterion prints the throughput in deliveries per second).
//!
//! ```text
//! cargo bench -p reference-server --bench broadcast
//! cargo bench -p reference-server --bench broadcast -- --save-baseline before   # then
//! cargo bench -p reference-server --bench broadcast -- --baseline before
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lcr_client::{ClientConfig, Connection};
use lcr_protocol::event::{self, conference_room};
use lcr_protocol::{ConferenceStatus, token};
use lcr_testkit::conference;
use reference_server::{ServerConfig, control};
use serde_json::json;
use tokio::sync::Notify;

const SECRET: &str = "bench-secret";

/// A server with one active conference and `n` sockets joined to it, each read by a task that
/// counts what arrives.
struct Room {
    server: reference_server::RunningServer,
    received: Arc<AtomicUsize>,
    all_in: Arc<Notify>,
    n: usize,
}

async fn room(n: usize) -> Room {
    let server = reference_server::start(ServerConfig::embedded(SECRET, "bench-admin"))
        .await
        .expect("server starts");
    let spec = conference::spec(
        "bench-host",
        Some(ConferenceStatus::Active),
        vec![conference::question("q1", "Question q1?", "A")],
    );
    control::put(&server.node, "bench", spec)
        .await
        .expect("conference created");
    let received = Arc::new(AtomicUsize::new(0));
    let all_in = Arc::new(Notify::new());
    let url = server.url();
    let mut joined = Vec::new();
    for i in 0..n {
        let user = format!("v{i}");
        let cfg = ClientConfig::new(url.clone()).auth(json!({
            "token": token::mint(SECRET, &user, 3600).expect("token")
        }));
        joined.push(async move {
            let mut conn = Connection::open(&cfg).await.expect("connects");
            conn.emit(event::CONFERENCE_JOIN, &json!({"conferenceId": "bench"}))
                .await
                .expect("joins");
            loop {
                let frame = conn.recv().await.expect("joined");
                if frame.text().contains(event::CONFERENCE_JOINED) {
                    break conn;
                }
            }
        });
    }
    let conns = futures_util::future::join_all(joined).await;
    for mut conn in conns {
        let (received, all_in) = (received.clone(), all_in.clone());
        tokio::spawn(async move {
            while let Ok(frame) = conn.recv().await {
                if frame.text().contains(event::VOTE_RESULT)
                    && received.fetch_add(1, Ordering::AcqRel) + 1 == n
                {
                    all_in.notify_one();
                }
            }
        });
    }
    Room {
        server,
        received,
        all_in,
        n,
    }
}

impl Room {
    /// One broadcast, until every socket has read it.
    async fn broadcast_once(&self) {
        self.received.store(0, Ordering::Release);
        let payload = json!({
            "conferenceId": "bench", "questionId": "q1", "totalVotes": 3,
            "optionCounts": {"A": 1, "B": 1, "C": 1, "D": 0}, "timestamp": lcr_protocol::now_millis(),
        });
        let waited = self.all_in.notified();
        self.server
            .node
            .broadcast(conference_room("bench"), event::VOTE_RESULT, &payload)
            .await;
        if self.received.load(Ordering::Acquire) < self.n {
            waited.await;
        }
    }
}

fn broadcast(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("broadcast to a room");
    group.measurement_time(Duration::from_secs(10));
    for n in [100, 1000, 4000] {
        let room = rt.block_on(room(n));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.to_async(&rt).iter(|| room.broadcast_once());
        });
        rt.block_on(room.server.shutdown());
    }
    group.finish();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
