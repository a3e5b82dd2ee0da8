//! `loadgen capacity` end to end against the in-process reference server: a search whose every
//! step passes ends at `--to` with its report and each step's; a search whose SLO cannot be met
//! stops after its first step with no knee.

mod common;
use common::{dir, loadgen};

use loadgen::capacity::{CapacityReport, Outcome, Verdict};

#[test]
fn every_step_passing_ends_at_to_with_a_report_for_each() {
    let d = dir("cap-pass");
    let (code, log) = loadgen(&[
        "capacity",
        "--from",
        "40",
        "--to",
        "160",
        "--factor",
        "2",
        "--question-duration",
        "3",
        "--slo",
        "vote_ack.p99<5s",
        "--report-dir",
        d.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{log}");
    let r = CapacityReport::read(&d).unwrap();
    assert_eq!(
        r.steps.iter().map(|s| s.voters).collect::<Vec<_>>(),
        [40, 80, 160],
        "{log}"
    );
    assert!(r.steps.iter().all(|s| s.outcome == Outcome::Pass), "{log}");
    assert_eq!(
        (r.knee, r.verdict, r.exit_code),
        (Some(160), Verdict::HeldToTop, 0)
    );
    assert_eq!(r.settings.slos, ["vote_ack.p99<5s"]);
    assert_eq!(r.settings.run_options, ["--question-duration", "3"]);
    for s in &r.steps {
        let step = d.join(&s.report);
        assert!(step.join("index.html").is_file(), "{}", s.report);
        let f = s.figures.as_ref().unwrap();
        assert_eq!(f.voters_joined, s.voters as u64);
        assert!(f.vote_ack_p99.is_some() && f.question_live_p99.is_some());
        assert!(f.deliveries > 0);
        let summary = loadgen::report::Summary::read(&step).unwrap();
        assert_eq!(summary.run.questions, 1, "one question per step");
        assert_eq!(summary.run.question_duration, 3);
    }
    let html = std::fs::read_to_string(d.join("capacity.html")).unwrap();
    assert!(html.contains("href=\"step-00160/index.html\""));
    assert!(html.contains("knee: 160 voters"));
    assert!(html.contains("SLO vote_ack.p99&lt;5s"));
    for n in [40, 80, 160] {
        assert!(
            log.contains(&format!(": {n} voters — vote_ack p99")),
            "{log}"
        );
    }
    assert!(
        log.contains("Every step passed up to --to 160 voters"),
        "{log}"
    );
    assert!(log.contains("capacity.html"), "{log}");
}

#[test]
fn an_slo_no_step_can_meet_stops_after_the_first_with_no_knee() {
    let d = dir("cap-fail");
    let (code, log) = loadgen(&[
        "capacity",
        "--from",
        "30",
        "--to",
        "120",
        "--question-duration",
        "2",
        "--slo",
        "vote_ack.p50<1us",
        "--report-dir",
        d.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{log}");
    let r = CapacityReport::read(&d).unwrap();
    assert_eq!(r.steps.len(), 1, "{log}");
    assert_eq!(r.steps[0].outcome, Outcome::Fail);
    assert_eq!(r.knee, None);
    let f = r.first_failure.as_ref().unwrap();
    assert_eq!(f.voters, 30);
    assert!(f.why.contains("SLO vote_ack.p50<1us not met"), "{}", f.why);
    assert!(
        !d.join("step-00060").exists(),
        "no step after the first failure"
    );
    assert!(
        log.contains("No knee: the first step, 30 voters, already failed"),
        "{log}"
    );
    assert!(d.join("capacity.html").is_file());
}

#[test]
fn bad_options_stop_the_search_before_its_first_step() {
    let d = dir("cap-bad");
    for (args, says) in [
        (&["--factor", "1"][..], "--factor 1: it must be above 1"),
        (
            &["--from", "200", "--to", "100"][..],
            "--from 200 is above --to 100",
        ),
        (&["--voters", "10"][..], "the search sets it for each step"),
        (&["--no-such-option"][..], "--no-such-option"),
    ] {
        let mut all = vec!["capacity", "--report-dir", d.to_str().unwrap()];
        all.extend(args);
        let (code, log) = loadgen(&all);
        assert_eq!(code, 2, "{args:?}: {log}");
        assert!(log.contains(says), "{args:?}: {log}");
        assert!(!d.join("capacity.json").exists(), "{args:?}: no step ran");
    }
}
