//! The `reference-server` binary: required secrets, start-up message, SIGTERM exits 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_reference-server");

#[test]
fn refuses_to_start_without_secrets() {
    for (missing, env) in [
        ("JWT_SECRET", vec![("ADMIN_TOKEN", "a")]),
        ("ADMIN_TOKEN", vec![("JWT_SECRET", "s")]),
    ] {
        let out = Command::new(BIN)
            .env_remove("JWT_SECRET")
            .env_remove("ADMIN_TOKEN")
            .envs(env)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(missing) && err.contains("not set"), "{err}");
    }
}

#[test]
fn an_unreachable_redis_is_a_clear_error() {
    let out = Command::new(BIN)
        .env("JWT_SECRET", "s")
        .env("ADMIN_TOKEN", "a")
        .args(["--bind", &format!("127.0.0.1:{}", free_port())])
        .args(["--redis-url", &format!("redis://127.0.0.1:{}", free_port())])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runtime store"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn says_it_runs_in_memory_and_exits_zero_on_sigterm() {
    let port = free_port();
    let results = std::env::temp_dir().join(format!("lcr-bin-{port}.jsonl"));
    let mut child = Command::new(BIN)
        .env("JWT_SECRET", "s")
        .env("ADMIN_TOKEN", "a")
        .env("RUST_LOG", "info")
        .env_remove("REDIS_URL")
        .args(["--bind", &format!("127.0.0.1:{port}"), "--results-file"])
        .arg(&results)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "server did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Sockets in a conference with a live question when the signal comes: shutdown disconnects
    // them, their leave flows run while the namespace closes, and nothing may panic.
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let spec = json!({"hostUserId": "hana", "status": "ACTIVE", "questions": [crate::harness::question("q1", "A")]});
    let (code, _) = crate::harness::http(
        addr,
        "PUT",
        "/admin/conferences/c1",
        Some("a"),
        Some(spec.to_string()),
    )
    .await;
    assert_eq!(code, 200);
    let mut held = Vec::new();
    let users: Vec<String> = std::iter::once("hana".to_owned())
        .chain((0..300).map(|i| format!("u{i}")))
        .collect();
    for user in &users {
        let token = lcr_protocol::token::mint("s", user, 60).unwrap();
        let (client, mut events) = lcr_client::connect(
            &lcr_client::ClientConfig::new(format!("http://{addr}")).auth(json!({"token": token})),
        )
        .await
        .unwrap();
        client
            .emit(
                lcr_protocol::event::CONFERENCE_JOIN,
                &json!({"conferenceId": "c1"}),
            )
            .unwrap();
        assert!(
            events
                .expect(
                    lcr_protocol::event::CONFERENCE_JOINED,
                    Duration::from_secs(10)
                )
                .await
                .is_some()
        );
        if user.as_str() == "hana" {
            client
                .emit(
                    lcr_protocol::event::QUESTION_PUSH_LIVE,
                    &json!({"conferenceId": "c1", "questionId": "q1"}),
                )
                .unwrap();
            assert!(
                events
                    .expect(lcr_protocol::event::QUESTION_LIVE, Duration::from_secs(10))
                    .await
                    .is_some()
            );
        }
        held.push((client, events));
    }
    // Half of them hang up as the signal arrives, so their leave flows race the shutdown.
    for (client, _) in held.drain(150..) {
        client.close();
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(exit.code(), Some(0), "{log}");
    assert!(log.contains("in-memory store"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    for (_, mut events) in held {
        assert!(
            events
                .drain_for(Duration::from_secs(2))
                .await
                .iter()
                .all(|r| r.name != "error")
        );
        assert!(
            events.closed_reason().is_some(),
            "socket still open after shutdown"
        );
    }
}
