//! The nemesis on a small run: Redis stopped (SIGSTOP) for a second and a half in the middle of
//! a question, under a reference server on that Redis. The fault runs at its moment and is
//! undone; the report gives what the votes sent during it came to and marks it on the plots
//! over time; every invariant holds across it. A fault due after the run's end never runs and
//! says so.

mod common;
use common::{fresh_dir, run_passing};

#[test]
fn a_redis_stall_mid_question_is_injected_undone_and_reported() {
    let redis = lcr_testkit::RedisProcess::start();
    let d = fresh_dir("faults-redis-stall");
    let profile = d.join("profile.toml");
    std::fs::write(
        &profile,
        format!(
            r#"name = "reference on Redis"
[[server]]
command = "exec {{reference-server}} --bind 127.0.0.1:{{port}} --redis-url {redis}"
env = {{ JWT_SECRET = "fault-secret", ADMIN_TOKEN = "fault-admin", RUST_LOG = "warn" }}
ready = "/ready"
[auth]
kind = "hs256"
secret = "fault-secret"
[fixtures]
kind = "control-api"
control_api = {{ admin_token = "fault-admin" }}
"#,
            redis = redis.url()
        ),
    )
    .unwrap();
    let workload = d.join("workload.toml");
    std::fs::write(
        &workload,
        format!(
            r#"[conferences]
voters = 150
[questions]
count = 1
duration_s = 6
[[faults]]
name = "redis stall"
at = "q1+1.5s"
run = "kill -STOP {pid} && echo stopped"
undo = "kill -CONT {pid}"
undo_after_s = 1.5
[[faults]]
name = "too late"
at = "q1+300s"
run = "true"
"#,
            pid = redis.pid()
        ),
    )
    .unwrap();
    let s = run_passing(&d, &profile, &workload);

    let f = &s["faults"][0];
    assert_eq!(f["name"], "redis stall");
    assert_eq!(
        (f["runExit"].as_i64(), f["undoExit"].as_i64()),
        (Some(0), Some(0)),
        "{f}"
    );
    let (began, ended) = (f["began"].as_i64().unwrap(), f["ended"].as_i64().unwrap());
    assert!(
        (1_400..2_500).contains(&(ended - began)),
        "undone 1.5 s later: {f}"
    );
    assert!(
        f["votes"]["sent"].as_u64().unwrap() > 10,
        "votes were sent during it: {f}"
    );
    assert_eq!(f["votes"]["accepted"], f["votes"]["sent"], "none lost: {f}");
    assert_eq!(f["invariantsHeld"], true, "{f}");
    assert_eq!(f["questions"].as_array().unwrap().len(), 1, "{f}");
    // The stall shows in the votes' latency.
    let ack_max = s["metrics"]["vote_ack"]["max"].as_f64().unwrap();
    assert!(ack_max > 500.0, "a vote waited for Redis: max {ack_max} ms");

    let late = &s["faults"][1];
    assert_eq!(late["skipped"], true, "{late}");
    assert!(
        s["warnings"]
            .to_string()
            .contains("fault too late: never ran"),
        "{}",
        s["warnings"]
    );

    let html = std::fs::read_to_string(d.join("run/index.html")).unwrap();
    assert!(html.contains("<h2>Faults</h2>"));
    // (plotters writes a text element's content on a line of its own)
    assert!(
        html.replace('\n', "")
            .matches(">redis stall</text>")
            .count()
            >= 4,
        "marked on the plots over time"
    );
    let md = std::fs::read_to_string(d.join("run/summary.md")).unwrap();
    assert!(md.contains("| redis stall | q1+1.5s |"), "{md}");
    // The command's output is kept in the measurements.
    let shard = std::fs::read_to_string(d.join("run/shard.json")).unwrap();
    assert!(
        shard.contains("\"output\":\"stopped\""),
        "the command's output kept"
    );
}
