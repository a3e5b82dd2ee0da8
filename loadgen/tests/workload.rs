//! A workload of today's realism in miniature against the in-process reference server: several
//! conferences of power-law sizes, a burst of votes after each question:live, late joiners,
//! joins and leaves while questions are live, and a reconnect storm; every invariant holds per
//! conference and every session gets the broadcasts it was owed. A workload with a bad value
//! stops the run with the key named.

mod common;
use common::{fresh_dir, loadgen};

use serde_json::Value;

const CHURNING: &str = r#"
[conferences]
count = 4
voters = 300
sizes = { power_law = 1.0 }

[questions]
count = 2
duration_s = 5
gap_s = 0.5

[votes]
timing = { lognormal = { median_s = 0.8, sigma = 0.7 } }
share = 0.9
retry_share = 0.05

[churn]
late_share = 0.1
late_within_s = 2
join_per_s = 8
leave_per_s = 8

[churn.storm]
share = 0.3
question = 1
at_s = 1.5
back_within_s = 1
"#;

fn n(s: &Value, pointer: &str) -> u64 {
    s.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {pointer}"))
}

#[test]
fn conferences_with_bursts_churn_and_a_storm_hold_every_invariant() {
    let d = fresh_dir("workload-churn");
    let w = d.join("workload.toml");
    std::fs::write(&w, CHURNING).unwrap();
    let (code, log) = loadgen(&[
        "--workload",
        w.to_str().unwrap(),
        "--report-dir",
        d.join("run").to_str().unwrap(),
        "--slo",
        "vote_ack.p99<5s",
    ]);
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/summary.json")).unwrap())
            .unwrap();
    assert_eq!(code, 0, "{}\n{log}", s["violations"]);
    assert_eq!(s["invariantsOk"], true);

    let conferences = s["conferences"].as_array().unwrap();
    assert_eq!(conferences.len(), 4);
    let sizes: Vec<u64> = conferences
        .iter()
        .map(|c| c["voters"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 300);
    assert!(sizes[0] > 2 * sizes[3], "a power law: {sizes:?}");
    assert!(
        conferences.iter().all(|c| c["ok"] == true),
        "{conferences:?}"
    );

    // The churn happened as asked, and the storm's voters all came back.
    let (arrived, left) = (n(&s, "/churn/arrived"), n(&s, "/churn/left"));
    let (dropped, returned) = (n(&s, "/churn/dropped"), n(&s, "/churn/returned"));
    assert!(
        arrived >= 20,
        "late joiners and joins while live: {arrived}"
    );
    assert!(left >= 5, "leaves: {left}");
    assert!(
        dropped >= 50,
        "30 % of the voters present 1.5 s in: {dropped}"
    );
    assert_eq!(returned, dropped);
    // A voter back from the storm has two sessions.
    let sessions = n(&s, "/delivery/sessions");
    assert_eq!(
        sessions,
        n(&s, "/votersJoined") + returned,
        "{}",
        s["delivery"]
    );
    assert!(n(&s, "/delivery/owed") > 5_000, "{}", s["delivery"]);
    assert_eq!(n(&s, "/delivery/missed"), 0);

    // Every question of every conference: its counts add up; second votes were refused.
    let questions = s["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 8);
    for q in questions {
        assert_eq!(q["ok"], true, "{q}");
        let dups = q["duplicatesSent"].as_u64().unwrap_or(0);
        assert!(
            q["rejectedByReason"]["duplicate"].as_u64().unwrap_or(0) >= dups,
            "{q}"
        );
    }
    let md = std::fs::read_to_string(d.join("run/summary.md")).unwrap();
    assert!(md.contains("| conference | voters | joined"), "{md}");
}

#[test]
fn a_bad_workload_names_the_key() {
    let d = fresh_dir("workload-bad");
    let w = d.join("workload.toml");
    std::fs::write(&w, "[votes]\nshare = 1.5\n").unwrap();
    let (code, log) = loadgen(&[
        "--workload",
        w.to_str().unwrap(),
        "--report-dir",
        d.join("run").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{log}");
    assert!(
        log.contains("votes.share: 1.5 is not a share between 0 and 1"),
        "{log}"
    );
    let (code, log) = loadgen(&["--workload", d.join("missing.toml").to_str().unwrap()]);
    assert_eq!(code, 2, "{log}");
    assert!(log.contains("missing.toml"), "{log}");
}
