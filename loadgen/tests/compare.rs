//! `loadgen compare` end to end: two small real runs of the in-process reference server, one on
//! the in-memory store and one on a real Redis (the memory-against-Redis comparison in
//! miniature), compared; then one run against a copy of itself with its summary altered and its
//! `shard.json` left out, so the rules that must trip do so for certain, not by timing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Exit code, stdout, stderr.
fn loadgen(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env_remove("LOADGEN_TARGET")
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(report: &Path, id: &str, redis: Option<String>) -> std::thread::JoinHandle<()> {
    let (report, id) = (report.to_str().unwrap().to_owned(), id.to_owned());
    std::thread::spawn(move || {
        let mut args = vec![
            "--voters",
            "100",
            "--questions",
            "1",
            "--question-duration",
            "3",
            "--run-id",
            &id,
            "--report-dir",
            &report,
        ];
        if let Some(url) = &redis {
            args.extend(["--redis-url", url]);
        }
        let (code, out, err) = loadgen(&args);
        assert_eq!(code, 0, "run {id}: {out}{err}");
    })
}

#[test]
fn two_runs_compared_with_rules_that_hold_trip_and_fail_to_parse() {
    let redis = lcr_testkit::RedisProcess::start();
    let (memory, on_redis) = (dir("cmp-memory"), dir("cmp-redis"));
    // Both runs at once, to keep the test short.
    let runs = [
        run(&memory, "cmp-memory", None),
        run(&on_redis, "cmp-redis", Some(redis.url())),
    ];
    for r in runs {
        r.join().unwrap();
    }
    let (m, r) = (memory.to_str().unwrap(), on_redis.to_str().unwrap());

    // Rules that cannot trip: both runs pass, and one vote per voter either way.
    let out = dir("cmp-out");
    let (code, md, err) = loadgen(&[
        "compare",
        m,
        r,
        "--report-dir",
        out.to_str().unwrap(),
        "--fail-if",
        "invariants",
        "--fail-if",
        "vote_ack.count > +1000%",
        "--markdown",
    ]);
    assert_eq!(code, 0, "{md}{err}");
    for f in ["compare.html", "compare.md", "compare.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    assert_eq!(std::fs::read_to_string(out.join("compare.md")).unwrap(), md);
    assert!(
        md.contains("## loadgen compare: cmp-memory (A) vs cmp-redis (B)"),
        "labels from the run ids: {md}"
    );
    assert!(
        md.contains("| metric (ms) | p50 cmp-memory | p50 cmp-redis | Δ p50 | p99 cmp-memory | p99 cmp-redis | Δ p99 |"),
        "{md}"
    );
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| vote_ack |") || l.starts_with("| fanout_"))
        .collect();
    assert_eq!(rows.len(), 6, "vote_ack and five fan-out metrics: {md}");
    assert!(md.contains("- `invariants`: held"), "{md}");
    assert!(md.contains("- `vote_ack.count > +1000%`: held"), "{md}");
    let cmp: loadgen::compare::Comparison =
        serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap()).unwrap();
    assert!(cmp.a.passed && cmp.b.passed && !cmp.tripped());
    assert!(
        cmp.metrics
            .iter()
            .all(|m| m.curve_a.is_some() && m.curve_b.is_some())
    );
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(
        html.matches("<svg").count() >= 6,
        "one overlaid chart per metric"
    );
    assert!(
        html.contains("href=\"../cmp-memory/index.html\""),
        "link to A's report"
    );
    assert!(
        html.contains("href=\"../cmp-redis/index.html\""),
        "link to B's report"
    );

    // A rule that must trip on any two runs with votes: B's count is never 100 % below A's.
    let (code, _, err) = loadgen(&[
        "compare",
        m,
        r,
        "--label-a",
        "memory",
        "--label-b",
        "redis",
        "--report-dir",
        out.to_str().unwrap(),
        "--fail-if",
        "vote_ack.count >= -100%",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TRIPPED vote_ack.count >= -100%"), "{err}");
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("memory (A) vs redis (B)"), "{md}");

    // A copy of the memory run whose vote acks got slower and which broke an invariant, with
    // only its summary.json: the comparison still works, without B's plots.
    let altered = dir("cmp-altered");
    std::fs::create_dir_all(&altered).unwrap();
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(memory.join("summary.json")).unwrap())
            .unwrap();
    let p99 = s["metrics"]["vote_ack"]["p99"].as_f64().unwrap();
    s["metrics"]["vote_ack"]["p99"] = (p99 * 2.0 + 1.0).into();
    s["invariantsOk"] = false.into();
    s["violations"] = serde_json::json!(["q1: 1 voters accepted twice"]);
    s["questions"][0]["ok"] = false.into();
    std::fs::write(altered.join("summary.json"), s.to_string()).unwrap();
    let (code, md, err) = loadgen(&[
        "compare",
        m,
        altered.to_str().unwrap(),
        "--label-b",
        "altered",
        "--report-dir",
        out.to_str().unwrap(),
        "--fail-if",
        "vote_ack.p99 > +50%",
        "--fail-if",
        "vote_ack.p99 > +1ms",
        "--fail-if",
        "invariants-regressed",
        "--fail-if",
        "join.p99 > +1000%",
        "--markdown",
    ]);
    assert_eq!(code, 1, "{md}{err}");
    assert!(md.contains("- `vote_ack.p99 > +50%`: **tripped**"), "{md}");
    assert!(md.contains("- `vote_ack.p99 > +1ms`: **tripped**"), "{md}");
    assert!(md.contains("- `invariants-regressed`: **tripped**"), "{md}");
    assert!(md.contains("- `join.p99 > +1000%`: held"), "{md}");
    assert!(
        md.contains("altered breaks “every question's votes add up"),
        "the invariant B breaks and A holds: {md}"
    );
    assert!(md.contains("altered: no shard.json"), "{md}");
    let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(html.contains("No latency-by-percentile curve for altered"));

    // Errors: exit 2, naming what is wrong.
    let (code, _, err) = loadgen(&["compare", m, r, "--fail-if", "vote_ack.p99 >> 10%"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--fail-if `vote_ack.p99 >> 10%`: bad comparison `>>`"),
        "{err}"
    );
    let (code, _, err) = loadgen(&["compare", m, r, "--fail-if", "vote_ack.p99 > 10%"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs its sign"), "{err}");
    let gone = memory.join("no-such-run");
    let (code, _, err) = loadgen(&["compare", m, gone.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("run B") && err.contains("no-such-run") && err.contains("no such folder"),
        "{err}"
    );
}
