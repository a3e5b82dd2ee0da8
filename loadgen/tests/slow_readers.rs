//! Slow readers on a small run: a share of the voters stop reading their socket in the first
//! question, under a reference server with a small queue bound. The server disconnects them,
//! the report says how many and how long after, and every invariant holds for the others.

mod common;
use common::{fresh_dir, run_passing};

#[test]
fn slow_readers_are_disconnected_and_the_others_keep_their_invariants() {
    let d = fresh_dir("slow-readers");
    let profile = d.join("profile.toml");
    // A 16-packet queue, a 4 KiB send buffer and a vote:result per vote: a reader that stops
    // fills its queue within a few dozen broadcasts.
    std::fs::write(
        &profile,
        r#"name = "reference, small socket queue"
[[server]]
command = "exec {reference-server} --bind 127.0.0.1:{port} --socket-queue 16 --socket-send-buffer 4096 --result-interval-ms 1"
env = { JWT_SECRET = "slow-secret", ADMIN_TOKEN = "slow-admin", RUST_LOG = "warn" }
ready = "/ready"
[auth]
kind = "hs256"
secret = "slow-secret"
[fixtures]
kind = "control-api"
control_api = { admin_token = "slow-admin" }
"#,
    )
    .unwrap();
    let workload = d.join("workload.toml");
    std::fs::write(
        &workload,
        r#"[conferences]
voters = 100
[questions]
count = 2
duration_s = 7
[votes]
retry_share = 0
[churn.slow_readers]
share = 0.15
at_s = 0.5
recv_buffer = 4096
"#,
    )
    .unwrap();
    let s = run_passing(&d, &profile, &workload);

    let churn = &s["churn"];
    let slow = churn["slow"].as_u64().unwrap();
    assert!(
        (5..=25).contains(&slow),
        "about 15 of 99 stopped reading: {churn}"
    );
    assert_eq!(
        churn["slowDisconnected"].as_u64(),
        Some(slow),
        "the server disconnected every one: {churn}"
    );
    let [min, max, _] =
        serde_json::from_value::<[u64; 3]>(churn["slowDisconnectedAfterMs"].clone()).unwrap();
    assert!(min <= max && max < 14_000, "{churn}");
    // The others: every vote counted and answered, every broadcast owed delivered.
    assert_eq!(s["delivery"]["missed"], 0, "{}", s["delivery"]);
    for q in s["questions"].as_array().unwrap() {
        assert_eq!(q["ok"], true, "{q}");
    }
    let md = std::fs::read_to_string(d.join("run/summary.md")).unwrap();
    assert!(
        md.contains(&format!(
            "Slow readers: {slow} stopped reading; the server disconnected {slow} of them"
        )),
        "{md}"
    );
}
