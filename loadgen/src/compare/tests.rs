use std::path::PathBuf;

use super::delta::Trend;
use super::invariants::Standing;
use super::rule::parse;
use super::source::Report;
use super::*;
use crate::report::MetricStats;
use crate::report::render::plot::by_percentile;
use crate::report::summary::{QuestionSummary, ServerSummary};

fn stats(count: u64, p50: f64, p99: f64) -> MetricStats {
    MetricStats {
        count,
        p50,
        p90: p50,
        p99,
        p999: p99,
        max: p99,
        mean: p50,
    }
}

fn report(id: &str, vote_p99: f64, ok: bool) -> Report {
    let mut s = Summary {
        invariants_ok: ok,
        voters: 100,
        voters_joined: 100,
        deliveries: 2400,
        deliveries_per_second_mean: 600.0,
        deliveries_per_second_peak: 900,
        questions: vec![QuestionSummary {
            question_id: format!("{id}-q1"),
            ok: true,
            ..QuestionSummary::default()
        }],
        ..Summary::default()
    };
    s.run.run_id = id.into();
    s.run.workload = "100 voters in 1 conference".into();
    s.run.machine = "2 cores".into();
    s.metrics
        .insert("vote_ack".into(), stats(100, 2.0, vote_p99));
    s.metrics.insert("join".into(), stats(100, 20.0, 50.0));
    s.metrics
        .insert("fanout_question_live".into(), stats(100, 10.0, 15.0));
    if !ok {
        s.violations
            .push("3 of 100 sessions missed 3 broadcasts they were owed".into());
        s.delivery.missed = 3;
    }
    let mut h = crate::record::codec::new_hist();
    h.record((vote_p99 * 1000.0) as u64).unwrap();
    Report {
        dir: PathBuf::from(format!("/nowhere/{id}")),
        summary: s,
        curves: Some([("vote_ack".to_string(), by_percentile(&h))].into()),
        notes: Vec::new(),
    }
}

#[test]
fn metrics_come_in_page_order_with_their_changes() {
    let (a, b) = (report("memory", 10.0, true), report("redis", 12.0, true));
    let c = Comparison::of(&a, &b, (None, None), &[]);
    assert_eq!(
        (c.a.label.as_str(), c.b.label.as_str()),
        ("memory", "redis")
    );
    let names: Vec<&str> = c.metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["vote_ack", "fanout_question_live", "join"]);
    let p99 = c.metric("vote_ack").unwrap().get("p99").unwrap();
    assert_eq!(
        (p99.a, p99.b, p99.change),
        (Some(10.0), Some(12.0), Some(2.0))
    );
    assert_eq!(p99.trend, Trend::Worse);
    let count = c.metric("vote_ack").unwrap().get("count").unwrap();
    assert_eq!(count.trend, Trend::Even);
    assert!(c.metric("vote_ack").unwrap().curve_b.is_some());
    assert!(c.metric("join").unwrap().curve_a.is_none());
    assert!(c.caveats.is_empty(), "{:?}", c.caveats);
    assert!(!c.tripped());
}

#[test]
fn labels_fall_back_to_folders_and_never_collide() {
    let (a, b) = (report("same", 1.0, true), report("same", 1.0, true));
    let c = Comparison::of(&a, &b, (None, None), &[]);
    assert_eq!(
        (c.a.label.as_str(), c.b.label.as_str()),
        ("/nowhere/same (A)", "/nowhere/same (B)")
    );
    let c = Comparison::of(&a, &b, (Some("before".into()), None), &[]);
    assert_eq!(
        (c.a.label.as_str(), c.b.label.as_str()),
        ("before", "/nowhere/same")
    );
    let mut c = Comparison::of(
        &a,
        &b,
        (Some("memory 2k".into()), Some("redis/2k".into())),
        &[],
    );
    assert_eq!(
        c.default_dir(),
        PathBuf::from("reports/compare-memory-2k-vs-redis-2k")
    );
    c.a.label = "..".into();
    assert_eq!(
        c.default_dir(),
        PathBuf::from("reports/compare-a-vs-redis-2k")
    );
}

#[test]
fn rules_invariants_and_caveats_come_together() {
    let a = report("memory", 10.0, true);
    let mut b = report("redis", 12.0, false);
    b.summary.run.seed = 7;
    b.summary.generator.bottleneck = Some("a generator process kept 95 % busy".into());
    b.summary.servers.push(ServerSummary {
        pid: 9,
        rss_kib: 2048,
        cpu_secs: 1.0,
        ..ServerSummary::default()
    });
    let rules = [
        parse("vote_ack.p99 > +10%").unwrap(),
        parse("vote_ack.p99 > +5ms").unwrap(),
        parse("invariants").unwrap(),
        parse("servers.cpu_secs > +1000%").unwrap(),
    ];
    let c = Comparison::of(&a, &b, (None, None), &rules);
    let tripped: Vec<bool> = c.rules.iter().map(|r| r.tripped).collect();
    assert_eq!(tripped, [true, false, true, true]);
    assert!(
        c.rules[3].why.contains("missing in memory"),
        "{}",
        c.rules[3].why
    );
    assert!(c.tripped());
    let delivered = c.invariants.iter().find(|i| i.key == "delivered").unwrap();
    assert_eq!(delivered.standing, Standing::BrokenInB);
    assert!(c.caveats.iter().any(|w| w.starts_with("The seeds differ")));
    assert!(
        c.caveats
            .iter()
            .any(|w| w.contains("generator may have been the bottleneck"))
    );
    assert!(
        c.caveats
            .iter()
            .any(|w| w.contains("watched server processes"))
    );

    let md = markdown::markdown(&c);
    assert!(
        md.contains("## loadgen compare: memory (A) vs redis (B)"),
        "{md}"
    );
    assert!(
        md.contains(
            "| vote_ack | 2.00 | 2.00 | +0.00 (0.0 %) | 10.00 | 12.00 | **+2.00 (+20.0 %)** |"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "redis breaks “every session got every broadcast it was owed”, which memory holds"
        ),
        "{md}"
    );
    assert!(md.contains("- `vote_ack.p99 > +10%`: **tripped**"), "{md}");
    assert!(md.contains("- `vote_ack.p99 > +5ms`: held"), "{md}");
    assert!(md.contains("**FAIL** (1 violations)"), "{md}");
    let vote_row = md.find("| vote_ack").unwrap();
    let join_row = md.find("| join").unwrap();
    let live_row = md.find("| fanout_question_live").unwrap();
    assert!(
        vote_row < live_row && live_row < join_row,
        "vote_ack and fan-out first"
    );

    let page = html::html(&c, std::path::Path::new("/nowhere/out"));
    assert!(page.contains("<h1>memory <span class=\"v PASS\">PASS</span> vs redis <span class=\"v FAIL\">FAIL</span></h1>"));
    assert!(page.contains("3 of 4 rule(s) tripped"));
    assert!(page.contains("<tr class=\"worse\"><td>vote_ack.p99</td><td>10.00 ms</td><td>12.00 ms</td><td>+2.00 ms</td><td>+20.0 %</td></tr>"), "{page}");
    assert!(page.contains("vote_ack by percentile"));
    assert_eq!(page.matches("<svg").count(), 1, "only vote_ack has curves");
    assert!(page.contains("/nowhere/memory (no index.html)"));
    assert!(page.contains("server process"));

    let json = serde_json::to_string(&c).unwrap();
    let back: Comparison = serde_json::from_str(&json).unwrap();
    // serde_json reads floats to within a unit in the last place: compare what is not a curve.
    let (mut back, mut c) = (back, c);
    for m in back.metrics.iter_mut().chain(c.metrics.iter_mut()) {
        assert_eq!(
            m.curve_a.as_ref().map(Vec::len),
            m.curve_b.as_ref().map(Vec::len)
        );
        (m.curve_a, m.curve_b) = (None, None);
    }
    assert_eq!(back, c);
}

#[test]
fn without_curves_the_page_says_so_and_still_has_every_table() {
    let mut a = report("a", 1.0, true);
    a.curves = None;
    a.notes
        .push("no shard.json: its latency-by-percentile plots are left out".into());
    let mut b = report("b", 1.0, true);
    b.curves = None;
    let c = Comparison::of(&a, &b, (None, None), &[]);
    let page = html::html(&c, std::path::Path::new("/nowhere/out"));
    assert!(!page.contains("<svg"));
    assert!(page.contains("No latency-by-percentile curve for a and b"));
    assert!(page.contains("a: no shard.json"));
    assert!(page.contains("<td>join.p99</td>"));
}

#[test]
fn a_metric_one_run_lacks_is_said_and_not_coloured() {
    let a = report("a", 1.0, true);
    let mut b = report("b", 1.0, true);
    b.summary.metrics.remove("fanout_question_live");
    b.summary
        .clock
        .fanout_withheld
        .push("the servers' clock offset is too uncertain".into());
    let c = Comparison::of(
        &a,
        &b,
        (None, None),
        &[parse("fanout_question_live.p99 > +1000%").unwrap()],
    );
    let m = c.metric("fanout_question_live").unwrap();
    assert!(m.missing_in_a.is_none());
    assert!(
        m.missing_in_b
            .as_deref()
            .unwrap()
            .contains("fan-out figures withheld")
    );
    assert!(m.figures.iter().all(|d| d.trend == Trend::Missing));
    assert!(
        c.rules[0].tripped,
        "a gate must not pass on a withheld figure"
    );
    assert!(
        c.caveats
            .iter()
            .any(|w| w.starts_with("b withheld its fan-out figures"))
    );
    let md = markdown::markdown(&c);
    assert!(
        md.contains("| fanout_question_live | 10.00 | – | – | 15.00 | – | – |"),
        "{md}"
    );
}
