//! Measures the reference server as a separate process: memory per connected socket, a vote's
//! round trip (one at a time, and all voters at once) and `question:live` fan-out.
//!
//! ```text
//! cargo build --release -p reference-server --examples
//! target/release/examples/footprint --sockets 1000 [--redis-url redis://127.0.0.1:6379]
//! ```
//!
//! It starts `target/release/reference-server` (or `--server PATH`) on a free port, so the RSS
//! it reports is the server's alone. Figures are printed; nothing here passes or fails.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::future::join_all;
use lcr_client::{ClientConfig, Events, connect};
use lcr_protocol::admin::{activate_path, conference_path};
use lcr_protocol::{event, token};
use lcr_testkit::conference;
use serde_json::json;

#[derive(Parser)]
struct Args {
    /// Audience sockets to connect.
    #[arg(long, default_value_t = 1000)]
    sockets: usize,
    /// Server binary.
    #[arg(long, default_value = "target/release/reference-server")]
    server: String,
    /// Run the server on this Redis instead of in memory.
    #[arg(long)]
    redis_url: Option<String>,
    /// Votes measured one at a time.
    #[arg(long, default_value_t = 200)]
    serial_votes: usize,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!(
        "{name:<34} n={:<6} p50={:>8.2} ms  p90={:>8.2} ms  p99={:>8.2} ms  max={:>8.2} ms",
        ms.len(),
        percentile(&ms, 50.0),
        percentile(&ms, 90.0),
        percentile(&ms, 99.0),
        ms.last().copied().unwrap_or(f64::NAN)
    );
}

async fn http(addr: &str, method: &str, path: &str, body: Option<String>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .expect("server listens");
    let body = body.unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer admin\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn until(events: &mut Events, name: &str) -> lcr_client::Received {
    events
        .expect(name, Duration::from_secs(60))
        .await
        .unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(&args.server);
    cmd.env("JWT_SECRET", "secret")
        .env("ADMIN_TOKEN", "admin")
        .env("RUST_LOG", "warn")
        .args([
            "--bind",
            &addr,
            "--results-file",
            "/tmp/footprint-results.jsonl",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = &args.redis_url {
        cmd.args(["--redis-url", url]);
    }
    let mut server = cmd
        .spawn()
        .expect("server binary (cargo build --release -p reference-server)");
    let pid = server.id();
    while std::net::TcpStream::connect(&addr).is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("http://{addr}");
    let cid = format!("fp{}", lcr_protocol::now_millis());
    let qid = format!("{cid}q");
    let spec = conference::spec(
        "host",
        None,
        vec![conference::question(&qid, "Which?", "A")],
    );
    assert_eq!(
        http(
            &addr,
            "PUT",
            &conference_path(&cid),
            Some(serde_json::to_string(&spec).unwrap())
        )
        .await,
        200
    );
    assert_eq!(http(&addr, "POST", &activate_path(&cid), None).await, 200);

    let rss_idle = rss_kib(pid);
    let cfg = |user: &str| {
        ClientConfig::new(url.clone())
            .auth(json!({ "token": token::mint("secret", user, 3600).unwrap() }))
    };
    let (host, mut host_events) = connect(&cfg("host")).await.unwrap();
    host.emit(event::CONFERENCE_JOIN, &json!({"conferenceId": cid}))
        .unwrap();
    until(&mut host_events, event::CONFERENCE_JOINED).await;

    let started = Instant::now();
    let mut clients = Vec::with_capacity(args.sockets);
    let mut join_ms = Vec::new();
    for chunk in (0..args.sockets).collect::<Vec<_>>().chunks(200) {
        let batch = join_all(chunk.iter().map(|i| {
            let c = cfg(&format!("u{i}"));
            let cid = cid.clone();
            async move {
                let (client, mut ev) = connect(&c).await.expect("connect");
                let t = Instant::now();
                client
                    .emit(event::CONFERENCE_JOIN, &json!({"conferenceId": cid}))
                    .unwrap();
                until(&mut ev, event::CONFERENCE_JOINED).await;
                (client, ev, t.elapsed().as_secs_f64() * 1000.0)
            }
        }))
        .await;
        for (c, e, ms) in batch {
            join_ms.push(ms);
            clients.push((c, e));
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = rss_kib(pid);
    let cpu0 = cpu_ticks(pid);

    host.emit(
        event::QUESTION_PUSH_LIVE,
        &json!({"conferenceId": cid, "questionId": qid, "duration": 120}),
    )
    .unwrap();
    let mut fanout = Vec::new();
    for (_, ev) in clients.iter_mut() {
        let live = until(ev, event::QUESTION_LIVE).await;
        fanout.push((live.at - live.data["startedAt"].as_i64().unwrap()) as f64);
    }

    // One at a time: an unloaded vote's round trip.
    let mut serial = Vec::new();
    let n_serial = args.serial_votes.min(clients.len() / 2);
    for (c, ev) in clients.iter_mut().take(n_serial) {
        let t = Instant::now();
        c.emit(
            event::VOTE_SUBMIT,
            &json!({"conferenceId": cid, "questionId": qid, "selectedOption": "A"}),
        )
        .unwrap();
        until(ev, event::VOTE_ACCEPTED).await;
        serial.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // All the others at once.
    let burst_start = Instant::now();
    let burst = join_all(
        clients
            .iter_mut()
            .skip(n_serial)
            .enumerate()
            .map(|(i, (c, ev))| {
                let (cid, qid) = (cid.clone(), qid.clone());
                async move {
                    let option = ["A", "B", "C", "D"][i % 4];
                    let t = Instant::now();
                    c.emit(
                        event::VOTE_SUBMIT,
                        &json!({"conferenceId": cid, "questionId": qid, "selectedOption": option}),
                    )
                    .unwrap();
                    until(ev, event::VOTE_ACCEPTED).await;
                    t.elapsed().as_secs_f64() * 1000.0
                }
            }),
    )
    .await;
    let burst_secs = burst_start.elapsed().as_secs_f64();
    host.emit(
        event::QUESTION_CLOSE,
        &json!({"conferenceId": cid, "questionId": qid}),
    )
    .unwrap();
    let fin = until(&mut host_events, event::VOTE_FINAL_RESULT).await;
    let cpu1 = cpu_ticks(pid);
    let rss_after = rss_kib(pid);

    println!(
        "store: {}",
        if args.redis_url.is_some() {
            "redis"
        } else {
            "memory"
        }
    );
    println!(
        "sockets: {} audience + 1 host, connected and joined in {connect_secs:.2} s",
        clients.len()
    );
    println!(
        "server RSS: idle {} KiB, connected {} KiB ({:.1} KiB per socket), after votes {} KiB",
        rss_idle,
        rss_connected,
        (rss_connected.saturating_sub(rss_idle)) as f64 / clients.len() as f64,
        rss_after
    );
    summary("join (emit -> conference:joined)", join_ms);
    summary("question:live fan-out (startedAt ->)", fanout);
    summary("vote round trip, one at a time", serial);
    let burst_n = burst.len();
    summary("vote round trip, burst", burst);
    println!(
        "burst: {burst_n} votes acknowledged in {burst_secs:.3} s ({:.0} votes/s); server CPU during push+votes+close: {:.2} s",
        burst_n as f64 / burst_secs,
        (cpu1 - cpu0) as f64 / 100.0
    );
    println!(
        "final totalVotes: {} (expected {})",
        fin.data["totalVotes"],
        clients.len()
    );
    assert_eq!(fin.data["totalVotes"].as_u64(), Some(clients.len() as u64));
    drop(clients);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = server.wait();
}
