//! The search without processes: steps, a step judged, the stop rule, the knee, the verdict,
//! `capacity.json`, the page.

use std::collections::BTreeMap;

use super::*;
use crate::cli::CapacityCli;
use crate::report::summary::{GeneratorSummary, ServerSummary, SloResult};
use crate::report::{MetricStats, Summary};

fn stats(p50: f64, p99: f64) -> MetricStats {
    MetricStats {
        count: 100,
        p50,
        p90: p99,
        p99,
        p999: p99,
        max: p99,
        mean: p50,
    }
}

/// The summary of a step's run: `ack_p99` ms vote acks, `lag_p99` ms send lag, its verdict,
/// and a generator bottleneck when `busy`.
fn summary(run_id: &str, ack_p99: f64, lag_p99: f64, ok: bool, busy: bool) -> Summary {
    let mut metrics = BTreeMap::new();
    metrics.insert("vote_ack".to_owned(), stats(ack_p99 / 4.0, ack_p99));
    metrics.insert("vote_send_lag".to_owned(), stats(lag_p99 / 4.0, lag_p99));
    metrics.insert("fanout_question_live".to_owned(), stats(3.0, 9.0));
    let mut s = Summary {
        invariants_ok: ok,
        violations: if ok {
            Vec::new()
        } else {
            vec!["SLO vote_ack.p99<500ms not met: 900.00 ms".into()]
        },
        metrics,
        slos: vec![SloResult {
            slo: "join.p99<1s".into(),
            observed_ms: Some(40.0),
            ok: true,
        }],
        deliveries: 1000,
        deliveries_per_second_mean: 100.0,
        deliveries_per_second_peak: 400,
        generator: GeneratorSummary {
            cpu_share: if busy { 0.97 } else { 0.3 },
            bottleneck: busy.then(|| "a generator process kept 97 % of its CPUs busy".into()),
            ..GeneratorSummary::default()
        },
        servers: vec![
            ServerSummary {
                pid: 1,
                rss_kib: 10_240,
                cpu_secs: 1.5,
                ..ServerSummary::default()
            },
            ServerSummary {
                pid: 2,
                rss_kib: 20_480,
                cpu_secs: 0.5,
                ..ServerSummary::default()
            },
        ],
        ..Summary::default()
    };
    s.run.run_id = run_id.into();
    s
}

fn settings(from: usize, to: usize, require: Option<usize>) -> Settings {
    Settings::new(
        "cap".into(),
        (from, to, 2.0),
        &[],
        require,
        vec!["--question-duration".into(), "3".into()],
        ServerPlacement::Started { processes: 1 },
        "a workload".into(),
    )
    .unwrap()
}

/// The step of `voters` from a summary (exit code from its verdict).
fn step(voters: usize, ack_p99: f64, ok: bool, busy: bool) -> Step {
    let id = format!("cap-{voters}");
    Step::judge(
        voters,
        Some(if ok { 0 } else { 1 }),
        "ended",
        Ok(summary(&id, ack_p99, 1.0, ok, busy)),
        &id,
        None,
    )
}

/// Runs a search whose step of `voters` passes when `pass(voters)`.
fn search(
    s: Settings,
    pass: impl Fn(usize) -> bool,
    busy: impl Fn(usize) -> bool,
) -> CapacityReport {
    let mut r = CapacityReport::new(s, Vec::new());
    while let Some(v) = r.next_step() {
        r.record(step(
            v,
            if pass(v) { 20.0 } else { 900.0 },
            pass(v),
            busy(v),
        ));
    }
    r
}

#[test]
fn steps_double_and_end_at_to() {
    assert_eq!(steps(40, 160, 2.0).unwrap(), [40, 80, 160]);
    assert_eq!(
        steps(1000, 100_000, 2.0).unwrap(),
        [1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 100_000]
    );
    assert_eq!(steps(500, 500, 2.0).unwrap(), [500], "from = to: one step");
    assert_eq!(steps(1000, 1001, 3.0).unwrap(), [1000, 1001]);
}

#[test]
fn steps_round_to_the_nearest_voter_and_never_repeat() {
    assert_eq!(
        steps(1000, 5000, 1.5).unwrap(),
        [1000, 1500, 2250, 3375, 5000],
        "5,062.5 is past 5,000: the last step is --to"
    );
    assert_eq!(steps(10, 20, 1.15).unwrap(), [10, 12, 13, 15, 17, 20]);
    assert_eq!(
        steps(1, 5, 1.1).unwrap(),
        [1, 2, 3, 4, 5],
        "rounding would repeat 1: each step at least one more"
    );
    assert_eq!(steps(1, usize::MAX, 1e300).unwrap(), [1, usize::MAX]);
}

#[test]
fn bad_ranges_are_refused_with_a_reason() {
    for factor in [1.0, 0.5, -2.0, f64::NAN, f64::INFINITY] {
        let e = steps(10, 100, factor).unwrap_err().to_string();
        assert!(e.contains("--factor") && e.contains("above 1"), "{e}");
    }
    let e = steps(200, 100, 2.0).unwrap_err().to_string();
    assert!(e.contains("--from 200 is above --to 100"), "{e}");
    assert!(
        steps(0, 100, 2.0)
            .unwrap_err()
            .to_string()
            .contains("--from 0")
    );
    let e = steps(1, 1_000_000, 1.01).unwrap_err().to_string();
    assert!(e.contains("more than 50 steps"), "{e}");
    let e = Settings::new(
        "x".into(),
        (10, 100, 2.0),
        &[],
        Some(200),
        Vec::new(),
        ServerPlacement::InProcess,
        String::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--require 200 is above --to 100"), "{e}");
    let e = Settings::new(
        "x".into(),
        (10, 100, 2.0),
        &["vote_ack<1ms".into()],
        None,
        Vec::new(),
        ServerPlacement::InProcess,
        String::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("--slo vote_ack<1ms"), "{e}");
}

#[test]
fn no_slo_means_the_defaults_and_no_require_means_from() {
    let s = settings(40, 160, None);
    assert!(s.default_slos);
    assert_eq!(s.slos, DEFAULT_SLOS);
    assert_eq!((s.require, s.require_given), (40, false));
}

#[test]
fn a_step_is_judged_by_its_exit_code_and_its_summary() {
    let ok = summary("r-1", 10.0, 1.0, true, false);
    let bad = summary("r-1", 900.0, 1.0, false, false);
    let pass = Step::judge(1, Some(0), "ended", Ok(ok.clone()), "r-1", None);
    assert_eq!((pass.outcome, pass.why.as_deref()), (Outcome::Pass, None));
    assert_eq!(pass.report, "step-00001");
    assert_eq!(pass.figures.as_ref().unwrap().vote_ack_p99, Some(10.0));

    let fail = Step::judge(1, Some(1), "ended", Ok(bad.clone()), "r-1", None);
    assert_eq!(fail.outcome, Outcome::Fail);
    assert!(fail.why.unwrap().contains("SLO vote_ack.p99<500ms"));
    // A run that says it passed while its summary says otherwise failed.
    let odd = Step::judge(1, Some(0), "ended", Ok(bad), "r-1", None);
    assert_eq!(odd.outcome, Outcome::Fail);

    let error = Step::judge(
        1,
        Some(2),
        "ended with exit status: 2",
        Ok(ok.clone()),
        "r-1",
        Some("the server did not start".into()),
    );
    assert_eq!(error.outcome, Outcome::Error);
    assert_eq!(
        error.why.unwrap(),
        "the run ended with exit status: 2: the server did not start"
    );

    let none = Step::judge(
        1,
        Some(1),
        "ended with exit status: 1",
        Err("step-00001/summary.json: No such file".into()),
        "r-1",
        None,
    );
    assert_eq!(none.outcome, Outcome::Error, "no summary.json: an error");
    assert!(none.figures.is_none());
    assert!(none.why.unwrap().contains("wrote no summary"));

    let stale = Step::judge(1, Some(0), "ended", Ok(ok), "r-2", None);
    assert_eq!(stale.outcome, Outcome::Error);
    assert!(stale.why.unwrap().contains("of run r-1, not r-2"));

    let killed = Step::not_started(1, "no such file".into());
    assert_eq!(killed.outcome, Outcome::Error);
}

#[test]
fn every_step_passing_holds_to_the_top() {
    let r = search(settings(40, 160, None), |_| true, |_| false);
    assert_eq!(r.steps.len(), 3);
    assert_eq!(r.knee, Some(160));
    assert_eq!(r.first_failure, None);
    assert_eq!(r.verdict, Verdict::HeldToTop);
    assert_eq!(r.exit_code, 0);
    assert!(
        r.conclusion.contains("up to --to 160 voters"),
        "{}",
        r.conclusion
    );
}

#[test]
fn the_search_stops_at_the_first_failure_and_the_knee_is_below_it() {
    let r = search(settings(1000, 100_000, None), |v| v <= 4000, |_| false);
    assert_eq!(
        r.steps.iter().map(|s| s.voters).collect::<Vec<_>>(),
        [1000, 2000, 4000, 8000],
        "nothing after the first failure"
    );
    assert_eq!(r.next_step(), None);
    assert_eq!(r.knee, Some(4000));
    let f = r.first_failure.as_ref().unwrap();
    assert_eq!(
        (f.voters, f.outcome, f.generator_limited),
        (8000, Outcome::Fail, false)
    );
    assert_eq!(r.verdict, Verdict::ServerKnee);
    assert_eq!(r.exit_code, 0, "a knee at or above --from is an answer");
    assert!(
        r.conclusion.starts_with("The knee: 4,000 voters"),
        "{}",
        r.conclusion
    );
    assert!(
        r.conclusion
            .contains("At 8,000 voters the server did not: SLO")
    );

    let required = search(
        settings(1000, 100_000, Some(5000)),
        |v| v <= 4000,
        |_| false,
    );
    assert_eq!(required.exit_code, 1, "--require 5000 with a knee of 4000");
    assert!(
        required
            .conclusion
            .ends_with("Required: 5,000 voters: not shown.")
    );
    let met = search(
        settings(1000, 100_000, Some(4000)),
        |v| v <= 4000,
        |_| false,
    );
    assert_eq!(met.exit_code, 0);
    assert!(met.conclusion.ends_with("Required: 4,000 voters: met."));
}

#[test]
fn a_first_step_that_fails_leaves_no_knee() {
    let r = search(settings(40, 160, None), |_| false, |_| false);
    assert_eq!(r.steps.len(), 1);
    assert_eq!(r.knee, None);
    assert_eq!(r.verdict, Verdict::ServerKnee);
    assert_eq!(r.exit_code, 1);
    assert!(
        r.conclusion
            .starts_with("No knee: the first step, 40 voters, already failed")
    );
}

#[test]
fn a_generator_limited_failure_is_not_a_knee() {
    let r = search(settings(1000, 100_000, None), |v| v <= 2000, |v| v >= 2000);
    assert_eq!(r.verdict, Verdict::GeneratorLimited);
    assert!(r.first_failure.as_ref().unwrap().generator_limited);
    assert!(
        r.conclusion.starts_with(
            "The generator, not the server, limited this step: add workers or machines."
        ),
        "{}",
        r.conclusion
    );
    assert!(r.conclusion.contains("a lower bound of its knee"));
    assert_eq!(
        r.exit_code, 0,
        "the requirement (--from) was shown all the same"
    );
    assert!(
        r.steps[1].notes[0].starts_with("the generator may have been the bottleneck"),
        "a passing step near the generator's limits says so: {:?}",
        r.steps[1].notes
    );
    let short = search(
        settings(1000, 100_000, Some(8000)),
        |v| v <= 2000,
        |v| v >= 2000,
    );
    assert_eq!(short.exit_code, 2, "the server was not shown to fall short");

    let mut s = settings(1000, 4000, None);
    s.server = ServerPlacement::InProcess;
    let inside = search(s, |_| false, |_| true);
    assert!(
        inside
            .conclusion
            .contains("ran inside the generator's process")
    );
    assert!(
        inside
            .conclusion
            .contains("nothing is known of the server's knee")
    );
    assert_eq!(inside.exit_code, 2);
}

#[test]
fn a_step_in_error_stops_the_search_and_says_so() {
    let mut r = CapacityReport::new(settings(40, 160, None), Vec::new());
    r.record(step(40, 10.0, true, false));
    assert_eq!(r.verdict, Verdict::Running);
    assert_eq!(r.next_step(), Some(80));
    r.record(Step::judge(
        80,
        Some(2),
        "ended with exit status: 2",
        Err("no summary.json".into()),
        "cap-80",
        Some("cannot start the server".into()),
    ));
    assert_eq!(r.next_step(), None);
    assert_eq!(r.verdict, Verdict::StepError);
    assert_eq!(r.exit_code, 2);
    assert_eq!(r.knee, Some(40));
    assert!(
        r.conclusion
            .starts_with("Stopped: the step of 80 voters could not be run")
    );
    assert!(r.conclusion.contains("cannot start the server"));
}

#[test]
fn growing_send_lag_is_noted() {
    let lagging = |voters: usize, lag: f64| {
        let id = format!("cap-{voters}");
        Step::judge(
            voters,
            Some(0),
            "ended",
            Ok(summary(&id, 30.0, lag, true, false)),
            &id,
            None,
        )
    };
    let mut r = CapacityReport::new(settings(1000, 8000, None), Vec::new());
    r.record(lagging(1000, 2.0));
    r.record(lagging(2000, 5.0));
    assert!(r.steps[1].notes.is_empty(), "under 10 ms: noise");
    r.record(lagging(4000, 12.0));
    assert!(
        r.steps[2].notes[0].contains("grew from 5.0 ms at 2,000 voters to 12.0 ms"),
        "{:?}",
        r.steps[2].notes
    );
    r.record(lagging(8000, 20.0));
    assert!(
        r.steps[3].notes.is_empty(),
        "less than twice the step before"
    );
}

#[test]
fn capacity_json_reads_back_the_same() {
    let r = search(
        settings(1000, 100_000, Some(2000)),
        |v| v <= 4000,
        |v| v == 4000,
    );
    let dir = std::env::temp_dir().join(format!("loadgen-capacity-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    r.write(&dir).unwrap();
    let back = CapacityReport::read(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(back, r);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["knee"], 4000);
    assert_eq!(json["firstFailure"]["voters"], 8000);
    assert_eq!(json["steps"][0]["figures"]["voteAckP99"], 20.0);
    assert_eq!(json["settings"]["server"]["kind"], "started");
    assert!(CapacityReport::read(std::path::Path::new("/nonexistent")).is_err());
}

#[test]
fn the_page_marks_the_knee_draws_the_slos_and_links_each_step() {
    let r = search(settings(1000, 100_000, None), |v| v <= 4000, |v| v == 8000);
    let page = render::html(&r);
    assert!(page.contains("knee: 4,000 voters"));
    assert!(page.contains("failed, generator-limited: 8,000 voters"));
    assert!(
        page.contains("SLO vote_ack.p99&lt;500ms"),
        "the SLO bound in the legend"
    );
    assert!(page.contains("href=\"step-04000/index.html\""));
    assert!(page.contains("href=\"step-08000/loadgen.log\""));
    assert!(page.contains("The generator, not the server, limited this step"));
    assert_eq!(
        page.matches("<svg").count(),
        5,
        "vote ack, fan-out, throughput, server, generator"
    );
    let line = render::step_line(&r.steps[3], 4, 7);
    assert!(
        line.starts_with("[capacity] step 4/7: 8,000 voters — vote_ack p99 900.0 ms"),
        "{line}"
    );
    assert!(line.contains("— FAIL: SLO vote_ack.p99<500ms"), "{line}");
    assert!(
        line.contains("note: the generator may have been the bottleneck"),
        "{line}"
    );
}

#[test]
fn an_slo_on_a_figure_not_plotted_brings_its_own_line() {
    let mut s = settings(1000, 2000, None);
    s.slos = vec!["join.p99<1s".into(), "fanout_vote_result.p99<300ms".into()];
    let r = search(s, |_| true, |_| false);
    let page = render::html(&r);
    assert!(page.contains("SLO join.p99&lt;1s"));
    assert!(
        page.contains("join.p99 (its SLO)"),
        "join is not plotted otherwise"
    );
    assert!(page.contains("SLO fanout_vote_result.p99&lt;300ms"));
    assert!(
        !page.contains("fanout_vote_result.p99 (its SLO)"),
        "vote:result p99 is plotted already"
    );
}

#[test]
fn server_figures_are_summed_over_its_processes_or_said_missing() {
    let f = step(1000, 10.0, true, false).figures.unwrap();
    assert_eq!(f.server_processes, 2);
    assert_eq!(f.server_cpu_secs, Some(2.0));
    assert_eq!(f.server_rss_kib, Some(30_720));
    assert_eq!(
        f.server_cpu_us_per_delivery,
        Some(2000.0),
        "2 s over 1,000 deliveries"
    );

    let mut s = settings(1000, 2000, None);
    s.server = ServerPlacement::InProcess;
    let mut r = CapacityReport::new(s, Vec::new());
    let id = "cap-1000";
    let mut alone = summary(id, 10.0, 1.0, true, false);
    alone.servers.clear();
    r.record(Step::judge(1000, Some(0), "ended", Ok(alone), id, None));
    let f = r.steps[0].figures.as_ref().unwrap();
    assert_eq!(
        (
            f.server_cpu_secs,
            f.server_rss_kib,
            f.server_cpu_us_per_delivery
        ),
        (None, None, None)
    );
    let page = render::html(&r);
    assert!(page.contains("The server ran inside the generator's process"));
    assert_eq!(page.matches("<svg").count(), 4, "no server chart");
}

#[test]
fn own_options_stand_anywhere_and_the_rest_goes_to_each_step() {
    let parse = |a: &[&str]| CapacityCli::parse_args(a.iter().map(|s| s.to_string()));
    let cli = parse(&[
        "--workload",
        "w.toml",
        "--from=10",
        "--seed",
        "7",
        "--to",
        "80",
        "--factor",
        "1.5",
        "--slo",
        "vote_ack.p99<1s",
        "--require",
        "20",
        "--",
        "--from",
        "x",
    ])
    .unwrap();
    assert_eq!(
        (cli.from, cli.to, cli.factor, cli.require),
        (10, 80, 1.5, Some(20))
    );
    assert_eq!(
        cli.run_options,
        ["--workload", "w.toml", "--seed", "7", "--from", "x"],
        "after --, everything is the run's"
    );
    assert!(parse(&["--factor", "two"]).is_err());
    for decided in ["--voters", "--questions=2", "--shard", "--no-setup"] {
        let cli = parse(&[decided, "3"]).unwrap();
        let e = cli.first_run().unwrap_err().to_string();
        assert!(
            e.contains("the search sets it for each step"),
            "{decided}: {e}"
        );
    }
    let e = parse(&["--no-such"])
        .unwrap()
        .first_run()
        .unwrap_err()
        .to_string();
    assert!(e.contains("--no-such"), "{e}");
    let step = CapacityCli::step_options(
        80,
        std::path::Path::new("d/step-00080"),
        "cap-80",
        &["a.p99<1s".into()],
    );
    assert_eq!(
        step,
        [
            "--voters",
            "80",
            "--questions",
            "1",
            "--report-dir",
            "d/step-00080",
            "--run-id",
            "cap-80",
            "--slo",
            "a.p99<1s"
        ]
    );
}
