//! The generator end to end against the in-process reference server: a small run passes its
//! invariants and writes every report file; workers and merge give one report; an SLO that
//! cannot be met fails the run.

mod common;
use common::{dir, loadgen, summary};

use std::path::Path;

fn check_passing(d: &Path, voters: u64) {
    let s = summary(d);
    assert_eq!(s["invariantsOk"], true, "{}", s["violations"]);
    assert_eq!(s["voters"], voters);
    let questions = s["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 2);
    for q in questions {
        assert_eq!(q["acceptedVotes"], voters, "{q}");
        assert_eq!(q["finalTotalVotes"], voters, "{q}");
        // The seeded second votes were sent and answered `duplicate`.
        let dups = q["duplicatesSent"].as_u64().unwrap_or(0);
        assert!(dups > 0, "{q}");
        assert_eq!(
            q["rejectedByReason"]["duplicate"].as_u64(),
            Some(dups),
            "{q}"
        );
    }
    for m in [
        "connect",
        "join",
        "vote_ack",
        "fanout_question_live",
        "fanout_question_closed",
        "fanout_final_result",
    ] {
        let n = s["metrics"][m]["count"].as_u64().unwrap_or(0);
        assert!(n >= voters, "{m}: {n} samples");
        assert!(d.join(format!("{m}.hlog")).is_file(), "{m}.hlog");
    }
    for f in ["index.html", "summary.md", "summary.json"] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(d.join("index.html")).unwrap();
    assert!(html.matches("<svg").count() >= 6, "plots in index.html");
}

#[test]
fn a_small_run_passes_and_writes_its_report() {
    let d = dir("lg-small");
    let (code, log) = loadgen(&[
        "--voters",
        "200",
        "--questions",
        "2",
        "--question-duration",
        "3",
        "--report-dir",
        d.to_str().unwrap(),
        "--slo",
        "vote_ack.p99<5s",
    ]);
    assert_eq!(code, 0, "{log}");
    check_passing(&d, 200);
    assert!(d.join("goose.html").is_file(), "goose's own report");
    let md = std::fs::read_to_string(d.join("summary.md")).unwrap();
    assert!(md.contains("PASS"), "{md}");
}

#[test]
fn workers_and_merge_give_one_report() {
    let d = dir("lg-workers");
    let (code, log) = loadgen(&[
        "--voters",
        "200",
        "--questions",
        "2",
        "--question-duration",
        "3",
        "--workers",
        "2",
        "--report-dir",
        d.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{log}");
    check_passing(&d, 200);
    assert_eq!(summary(&d)["run"]["shards"], 2);
    let merged = dir("lg-merged");
    let (code, log) = loadgen(&[
        "merge",
        d.join("shard-0").to_str().unwrap(),
        d.join("shard-1").to_str().unwrap(),
        "--report-dir",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{log}");
    check_passing(&merged, 200);
}

#[test]
fn an_unmet_slo_fails_the_run() {
    let d = dir("lg-slo");
    let (code, log) = loadgen(&[
        "--voters",
        "50",
        "--questions",
        "1",
        "--question-duration",
        "2",
        "--report-dir",
        d.to_str().unwrap(),
        "--slo",
        "vote_ack.p50<1us",
    ]);
    assert_eq!(code, 1, "{log}");
    let s = summary(&d);
    assert_eq!(s["invariantsOk"], false);
    assert!(
        s["violations"].to_string().contains("SLO vote_ack.p50<1us"),
        "{s}"
    );
    assert!(
        std::fs::read_to_string(d.join("index.html"))
            .unwrap()
            .contains("FAIL")
    );
}

/// A profile whose server has no Control API and whose fixture is a program that assigns ids of
/// its own: the run creates its conference through the program, and its worker processes use
/// the server's ids (`created.json`).
#[test]
fn a_profile_with_a_fixture_program_and_no_control_api_drives_a_run() {
    let redis = lcr_testkit::RedisProcess::start();
    let mongo = lcr_testkit::MongoProcess::start();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = workspace.join(".venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/renaming_fixture.py");
    let d = dir("lg-profile");
    std::fs::create_dir_all(&d).unwrap();
    let profile = d.join("profile.toml");
    std::fs::write(
        &profile,
        format!(
            r#"name = "no Control API, a fixture program"
[[server]]
command = "exec {{reference-server}} --bind 127.0.0.1:{{port}} --control-api off --redis-url '{redis}' --mongo-url '{mongo}' --rate-limit-events 1000"
env = {{ JWT_SECRET = "profile-secret" }}
ready = "/ready"
[auth]
kind = "hs256"
secret = "profile-secret"
[fixtures]
kind = "command"
[fixtures.command]
create = "'{python}' '{script}' '{redis}' '{mongo}' livepoll"
"#,
            redis = redis.url(),
            mongo = mongo.url(),
            python = python.display(),
            script = script.display(),
        ),
    )
    .unwrap();
    let (code, log) = loadgen(&[
        "--profile",
        profile.to_str().unwrap(),
        "--voters",
        "200",
        "--questions",
        "2",
        "--question-duration",
        "3",
        "--workers",
        "2",
        "--report-dir",
        d.join("run").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{log}");
    check_passing(&d.join("run"), 200);
    let created: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/created.json")).unwrap())
            .unwrap();
    let cid = created["conferences"][0]["conferenceId"].as_str().unwrap();
    assert!(cid.starts_with("srv-"), "the server's id: {created}");
    let questions = summary(&d.join("run"))["questions"].clone();
    for q in questions.as_array().unwrap() {
        assert!(
            q["questionId"].as_str().unwrap().starts_with("srv-"),
            "every worker used the server's question ids: {q}"
        );
    }
}
