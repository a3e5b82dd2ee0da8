//! The `reference-server` binary: required secrets, start-up message, SIGTERM exits 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_reference-server");

#[test]
fn refuses_to_start_without_secrets() {
    for (missing, env) in [("JWT_SECRET", vec![("ADMIN_TOKEN", "a")]), ("ADMIN_TOKEN", vec![("JWT_SECRET", "s")])] {
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
    assert!(String::from_utf8_lossy(&out.stderr).contains("runtime store"), "{out:?}");
}

#[test]
fn says_it_runs_in_memory_and_exits_zero_on_sigterm() {
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
        assert!(start.elapsed() < Duration::from_secs(10), "server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
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
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(exit.code(), Some(0), "{log}");
    assert!(log.contains("in-memory store"), "{log}");
    assert!(log.contains("stopped"), "{log}");
}
