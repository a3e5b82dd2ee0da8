use super::render::{html::html, markdown::markdown};
use super::summary::{ConferenceInfo, RunInfo, Summary};
use super::*;
use crate::record::QuestionTally;
use crate::record::process::ServerUsage;

fn info() -> RunInfo {
    RunInfo {
        run_id: "t".into(),
        voters: 3,
        questions: 1,
        question_duration: 3,
        durations: vec![3],
        seed: 1,
        shards: 1,
        conferences: vec![ConferenceInfo {
            id: "c".into(),
            voters: 3,
            initial: 3,
            question_ids: vec!["q".into()],
        }],
        ..RunInfo::default()
    }
}

fn snapshot(accepted_a: u64, final_a: u64) -> Snapshot {
    let mut s = Snapshot {
        voters: 3,
        ..Snapshot::default()
    };
    s.host_finals.insert("c".into(), 1);
    s.questions.insert(
        "q".into(),
        QuestionTally {
            accepted_by_option: [("A".to_string(), accepted_a)].into(),
            final_counts: Some([("A".to_string(), final_a), ("B".to_string(), 0)].into()),
            final_total: Some(final_a),
            ..QuestionTally::default()
        },
    );
    s
}

fn assert_violation(s: &Summary, needle: &str) {
    assert!(
        s.violations.iter().any(|x| x.contains(needle)),
        "no violation with {needle:?} in {:?}",
        s.violations
    );
}

#[test]
fn run_info_of_an_earlier_version_still_reads() {
    let mut old = serde_json::to_value(info()).unwrap();
    old["servers"] = serde_json::json!([[11, 2048, 1.5]]);
    old.as_object_mut().unwrap().remove("conferences");
    let read: RunInfo = serde_json::from_value(old).unwrap();
    assert!(read.servers.is_empty() && read.conferences.is_empty());
}

#[test]
fn a_summary_reads_back_as_written() {
    let s = verdict(
        &snapshot(3, 3),
        &info(),
        &[parse_slo("vote_ack.p99<1s").unwrap()],
    );
    let back: Summary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn a_server_that_died_in_the_run_is_reported_with_its_last_reading() {
    let info = RunInfo {
        servers: vec![
            ServerUsage {
                pid: 11,
                rss_kib: 600 * 1024,
                cpu_secs: 36.3,
                exited: false,
            },
            ServerUsage {
                pid: 12,
                rss_kib: 300 * 1024,
                cpu_secs: 5.5,
                exited: true,
            },
        ],
        ..info()
    };
    let s = verdict(&snapshot(3, 3), &info, &[]);
    assert!(s.servers[1].exited);
    let md = markdown(&s);
    assert!(
        md.contains("- server pid 11: 600 MB peak RSS, 36.3 s CPU in the run\n"),
        "{md}"
    );
    assert!(
        md.contains("- server pid 12: 300 MB peak RSS, 5.5 s CPU in the run (exited during the run: its last reading)"),
        "{md}"
    );
    assert!(html(&snapshot(3, 3), &s).contains("<li>server pid 12: 300 MB"));
}

#[test]
fn matching_counts_pass() {
    let s = verdict(&snapshot(3, 3), &info(), &[]);
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert!(s.invariants_ok);
}

#[test]
fn a_vote_sent_in_time_and_refused_as_late_fails() {
    let mut snap = snapshot(2, 2);
    if let Some(t) = snap.questions.get_mut("q") {
        t.rejected_by_reason.insert("question_closed".into(), 1);
        t.refused_in_time = 1;
    }
    let s = verdict(&snap, &info(), &[]);
    assert_violation(
        &s,
        "1 votes sent at least 1 s before the close were refused",
    );
    assert_eq!(s.questions[0].refused_in_time, 1);
    assert!(!s.conferences[0].ok);
}

#[test]
fn a_lost_vote_fails() {
    let s = verdict(&snapshot(3, 2), &info(), &[]);
    assert_violation(&s, "option A: 3 accepted but final count 2");
}

#[test]
fn a_shard_of_several_leaves_the_vote_totals_and_the_hosts_to_the_merge() {
    // Shard 0 of 2 saw 1 of the 2 accepted votes the final result counts, and ran no host.
    let shard = RunInfo {
        partial: true,
        ..info()
    };
    let mut snap = snapshot(1, 2);
    snap.host_finals.clear();
    let s = verdict(&snap, &shard, &[]);
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    // Merged, the same numbers are a phantom vote and a host that never reported.
    let s = verdict(&snap, &info(), &[]);
    assert_violation(&s, "1 accepted but final totalVotes Some(2)");
    assert_violation(&s, "c: its host never reported");
}

#[test]
fn errors_and_repeated_ticks_fail() {
    let mut snap = snapshot(3, 3);
    snap.questions.get_mut("q").unwrap().timer_repeated = 2;
    snap.errors_by_code.insert("RATE_LIMITED".into(), 1);
    let s = verdict(&snap, &info(), &[]);
    assert_violation(&s, "2 timer updates repeated or out of order");
    assert_violation(&s, "1 unexpected error events RATE_LIMITED");
    assert_eq!(s.questions[0].timer_updates_repeated, 2);
}

#[test]
fn a_generator_near_its_limit_is_named() {
    let mut snap = snapshot(3, 3);
    snap.generator_cpu_share = 0.97;
    let s = verdict(&snap, &info(), &[]);
    assert!(
        s.generator
            .bottleneck
            .as_deref()
            .is_some_and(|b| b.contains("97 %")),
        "{:?}",
        s.generator
    );
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("the generator may be the bottleneck"))
    );
    assert!(s.invariants_ok, "a warning, not a violation");
}

#[test]
fn figures_are_found_by_name() {
    let mut s = verdict(&snapshot(3, 3), &info(), &[]);
    s.metrics.insert(
        "vote_ack".into(),
        MetricStats {
            p99: 12.5,
            ..MetricStats::default()
        },
    );
    assert_eq!(s.figure("vote_ack.p99"), Some(12.5));
    assert_eq!(s.figure("vote_ack.p42"), None);
    assert_eq!(s.figure("nothing.p99"), None);
}
