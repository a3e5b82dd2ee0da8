//! The verdict: every invariant of every conference and question, the SLOs, and the warnings
//! that say when a figure may not mean what it seems. Builds [`Summary`].

use std::collections::{BTreeMap, BTreeSet};

use crate::clock::{ClockMode, ClockReport, OffsetBounds};
use crate::record::{Snapshot, metric};

use super::delivery;
use super::slo::Slo;
use super::summary::{
    ClockSummary, ConferenceSummary, GeneratorSummary, MetricStats, QuestionSummary, RunInfo,
    ServerSummary, SloResult, Summary,
};

/// A server's timestamps may run a little behind its sends (a tick stamped when due, sent a
/// moment later) and the generator reads the join's answer a little after the server joined
/// it: a session is owed a broadcast stamped this long after its join.
const JOIN_MARGIN_MS: f64 = 100.0;

/// The generator is near its limit when one of its processes keeps this share of its CPUs busy.
const BUSY_CPU_SHARE: f64 = 0.9;

/// Checks the invariants of every conference and question, and the SLOs.
pub fn verdict(snap: &Snapshot, info: &RunInfo, slos: &[Slo]) -> Summary {
    let mut v = Vec::new();
    let mut warnings = Vec::new();
    let metrics: BTreeMap<String, MetricStats> = snap
        .histograms
        .keys()
        .filter_map(|k| Some((k.clone(), MetricStats::of(&snap.histogram(k)?))))
        .collect();

    if snap.connect_failures > 0 {
        v.push(format!("{} voters never connected", snap.connect_failures));
    }
    if snap.disconnects > 0 {
        v.push(format!(
            "{} voters lost their connection without being asked to and did not come back",
            snap.disconnects
        ));
    }
    v.extend(snap.problems.iter().cloned());

    // The clocks.
    let clock = clock_summary(snap);
    // Sessions are on the servers' clock once corrected; otherwise on this machine's, which the
    // estimate says may be off by the offset itself.
    let error = clock.error_ms.unwrap_or(0.0);
    let margin = JOIN_MARGIN_MS
        + if clock.corrected {
            error
        } else {
            clock.offset_ms.unwrap_or(0.0).abs() + error
        };
    if clock.mode == Some(ClockMode::Same)
        && let (Some(o), Some(e)) = (clock.offset_ms, clock.error_ms)
        && o.abs() > e + 2.0
    {
        warnings.push(format!(
            "the servers' clock is {o:+.1} ms ± {e:.1} ms off this machine's: fan-out figures are off by that much (run with --clock estimate to correct them)"
        ));
    }
    for (m, n) in &clock.early_deliveries {
        warnings.push(format!(
            "{n} {m} deliveries arrived before their server time (counted as 0 ms): the clocks differ, or the server stamps late"
        ));
    }
    for why in &clock.fanout_withheld {
        warnings.push(format!("fan-out figures withheld: {why}"));
    }

    // Every session against what was sent while it was there.
    let found = delivery::check(snap, info, margin.round() as i64);
    if found.summary.missed > 0 {
        v.push(format!(
            "{} of {} sessions missed {} broadcasts they were owed, e.g. {}",
            found.summary.sessions_short,
            found.summary.sessions,
            found.summary.missed,
            found.examples.join("; ")
        ));
    }
    if found.summary.duplicated > 0 {
        v.push(format!(
            "{} broadcasts were received twice by the same session",
            found.summary.duplicated
        ));
    }
    v.extend(found.ticks_never_sent.iter().map(|t| t.text.clone()));

    // Per question.
    let conference_of: BTreeMap<&str, &str> = info
        .conferences
        .iter()
        .flat_map(|c| {
            c.question_ids
                .iter()
                .map(move |q| (q.as_str(), c.id.as_str()))
        })
        .collect();
    let mut questions = Vec::new();
    let mut bad_conferences = BTreeSet::new();
    for (qid, t) in &snap.questions {
        let accepted: u64 = t.accepted_by_option.values().sum();
        let mut problems = Vec::new();
        match &t.final_counts {
            None => problems.push("no final result received".to_owned()),
            Some(_) if info.partial => {}
            Some(fin) => {
                let keys: BTreeSet<&String> =
                    fin.keys().chain(t.accepted_by_option.keys()).collect();
                for k in keys {
                    let a = t.accepted_by_option.get(k).copied().unwrap_or(0);
                    let f = fin.get(k).copied().unwrap_or(0);
                    let unknown = t.unknown_after_reconnect.get(k).copied().unwrap_or(0);
                    if f < a || f > a + unknown {
                        problems.push(format!("option {k}: {a} accepted but final count {f}"));
                    }
                }
                let unknown: u64 = t.unknown_after_reconnect.values().sum();
                if t.final_total
                    .is_none_or(|f| f < accepted || f > accepted + unknown)
                {
                    problems.push(format!(
                        "{accepted} accepted but final totalVotes {:?}",
                        t.final_total
                    ));
                }
            }
        }
        if t.accepted_twice > 0 {
            problems.push(format!("{} voters accepted twice", t.accepted_twice));
        }
        if t.final_disagreements > 0 {
            problems.push(format!("{} final results disagreed", t.final_disagreements));
        }
        if t.votes_unanswered > 0 {
            problems.push(format!("{} votes never answered", t.votes_unanswered));
        }
        if t.refused_in_time > 0 {
            problems.push(format!(
                "{} votes sent at least 1 s before the close were refused question_closed (taken up after the close)",
                t.refused_in_time
            ));
        }
        if t.timer_repeated > 0 {
            problems.push(format!(
                "{} timer updates repeated or out of order",
                t.timer_repeated
            ));
        }
        let conference_id = conference_of.get(qid.as_str()).copied().unwrap_or_default();
        if !problems.is_empty() {
            bad_conferences.insert(conference_id.to_owned());
        }
        v.extend(problems.iter().map(|p| format!("{qid}: {p}")));
        questions.push(QuestionSummary {
            question_id: qid.clone(),
            conference_id: conference_id.to_owned(),
            accepted_votes: accepted,
            accepted_by_option: t.accepted_by_option.clone(),
            final_total_votes: t.final_total,
            final_option_counts: t.final_counts.clone(),
            rejected_by_reason: t.rejected_by_reason.clone(),
            votes_sent: t.votes_sent,
            timer_updates_repeated: t.timer_repeated,
            duplicates_sent: t.duplicates_sent,
            refused_in_time: t.refused_in_time,
            accepted_before_reconnect: t.accepted_before_reconnect,
            unknown_after_reconnect: t.unknown_after_reconnect.values().sum(),
            ok: problems.is_empty(),
        });
    }

    // A question with a tick nobody received broke D16.
    for t in &found.ticks_never_sent {
        if let Some(q) = questions.iter_mut().find(|q| q.question_id == t.question) {
            q.ok = false;
            bad_conferences.insert(q.conference_id.clone());
        }
    }

    // The faults, and the errors outside them: an error while a fault lasts is the fault's
    // (reported with it); any other is a violation.
    let bad_questions: Vec<String> = questions
        .iter()
        .filter(|q| !q.ok)
        .map(|q| q.question_id.clone())
        .collect();
    let missed: Vec<i64> = found
        .missed_stamps
        .iter()
        .copied()
        .chain(
            found
                .ticks_never_sent
                .iter()
                .flat_map(|t| t.due.iter().copied()),
        )
        .collect();
    let faults = super::faults::summarize(snap, &missed, &bad_questions);
    let mut unexpected: BTreeMap<&str, u64> = BTreeMap::new();
    for (sec, code, n) in &snap.error_times {
        if !faults.iter().any(|f| f.covers_second(*sec)) {
            *unexpected.entry(code).or_default() += n;
        }
    }
    if snap.error_times.is_empty() {
        // Measurements of an earlier version: errors without their times.
        unexpected = snap
            .errors_by_code
            .iter()
            .map(|(c, n)| (c.as_str(), *n))
            .collect();
    }
    for (code, n) in unexpected {
        v.push(format!("{n} unexpected error events {code}"));
    }
    for f in &faults {
        if f.skipped {
            warnings.push(format!(
                "fault {}: never ran (the run ended before {})",
                f.name, f.at
            ));
        } else if f.run_exit != Some(0) {
            warnings.push(format!(
                "fault {}: its command exited with {:?}: the fault may not have happened",
                f.name, f.run_exit
            ));
        }
        if f.undo_exit.is_some_and(|c| c != 0) {
            warnings.push(format!(
                "fault {}: its undo exited with {:?}",
                f.name, f.undo_exit
            ));
        }
    }

    // Per conference.
    let mut conferences = Vec::new();
    for (c, conf) in info.conferences.iter().enumerate() {
        let (owed, missed, duplicated, sessions, joined) = found
            .per_conference
            .get(&(c as u32))
            .copied()
            .unwrap_or_default();
        let host_finals = snap.host_finals.get(&conf.id).copied();
        let ran = conf
            .question_ids
            .iter()
            .filter(|q| snap.questions.contains_key(*q))
            .count();
        let mut ok = missed == 0 && duplicated == 0 && !bad_conferences.contains(&conf.id);
        if !info.partial {
            match host_finals {
                Some(n) if (n as usize) < info.questions => {
                    v.push(format!(
                        "{}: the host got the final result of only {n} of {} questions",
                        conf.id, info.questions
                    ));
                    ok = false;
                }
                None => {
                    v.push(format!("{}: its host never reported", conf.id));
                    ok = false;
                }
                Some(_) => {}
            }
            if ran < info.questions && joined > 0 {
                v.push(format!(
                    "{}: only {ran} of {} questions ran",
                    conf.id, info.questions
                ));
                ok = false;
            }
        }
        conferences.push(ConferenceSummary {
            conference_id: conf.id.clone(),
            voters: conf.voters,
            initial: conf.initial,
            joined,
            sessions,
            owed,
            missed,
            duplicated,
            host_finals,
            ok,
        });
    }

    // SLOs.
    let mut slo_results = Vec::new();
    for s in slos {
        let got = snap
            .histogram(&s.metric)
            .filter(|h| !h.is_empty())
            .map(|h| h.value_at_quantile(s.quantile) as f64 / 1000.0);
        let ok = got.is_some_and(|g| g < s.max_ms);
        if !ok {
            v.push(format!(
                "SLO {} not met: {}",
                s.text,
                got.map_or(
                    if metric::is_fanout(&s.metric) && !clock.fanout_withheld.is_empty() {
                        "fan-out withheld (see the clock)".into()
                    } else {
                        "no samples".into()
                    },
                    |g| format!("{g:.2} ms")
                )
            ));
        }
        slo_results.push(SloResult {
            slo: s.text.clone(),
            observed_ms: got,
            ok,
        });
    }

    // The generator.
    let voters = snap.voters.max(1) as f64;
    let mut bottleneck = Vec::new();
    if snap.generator_cpu_share >= BUSY_CPU_SHARE {
        bottleneck.push(format!(
            "a generator process kept {:.0} % of its CPUs busy",
            snap.generator_cpu_share * 100.0
        ));
    }
    if let (Some(lag), Some(ack)) = (
        metrics.get(metric::VOTE_SEND_LAG),
        metrics.get(metric::VOTE_ACK),
    ) && lag.p99 >= 50.0_f64.max(ack.p99 * 0.25)
    {
        bottleneck.push(format!(
            "the generator held votes back: vote_send_lag p99 {:.1} ms of vote_ack p99 {:.1} ms",
            lag.p99, ack.p99
        ));
    }
    let bottleneck = (!bottleneck.is_empty()).then(|| bottleneck.join("; "));
    if let Some(b) = &bottleneck {
        warnings.push(format!(
            "the generator may be the bottleneck, not the server: {b}"
        ));
    }

    let spreads: Vec<f64> = snap
        .broadcasts
        .iter()
        .filter(|(k, _)| k.starts_with("question:live"))
        .map(|(_, s)| (s.last - s.first) as f64)
        .collect();
    let busy_seconds = snap
        .seconds
        .values()
        .filter(|s| s.deliveries > 0)
        .count()
        .max(1) as f64;
    let deliveries: u64 = snap.seconds.values().map(|s| s.deliveries).sum();
    let connected = found.summary.sessions.max(1) as f64;
    Summary {
        voters: snap.voters,
        voters_joined: found.per_conference.values().map(|c| c.4).sum(),
        invariants_ok: v.is_empty(),
        violations: v,
        warnings,
        conferences,
        questions,
        metrics,
        delivery: found.summary.clone(),
        deliveries,
        deliveries_per_second_mean: deliveries as f64 / busy_seconds,
        deliveries_per_second_peak: snap
            .seconds
            .values()
            .map(|s| s.deliveries)
            .max()
            .unwrap_or(0),
        question_live_spread_ms: spreads,
        churn: snap.churn,
        reconnects: snap.reconnects,
        errors_by_code: snap.errors_by_code.clone(),
        disconnects: snap.disconnects,
        connect_failures: snap.connect_failures,
        clock,
        generator: GeneratorSummary {
            rss_kib: snap.generator_rss_kib,
            cpu_secs: snap.generator_cpu_secs,
            rss_kib_per_voter: snap.generator_rss_kib as f64 / voters,
            cpu_share: snap.generator_cpu_share,
            bottleneck,
            cpu_us_per_message: snap.generator_cpu_secs * 1e6 / deliveries.max(1) as f64,
        },
        server_cpu_us_per_delivery: (!info.servers.is_empty()).then(|| {
            info.servers.iter().map(|s| s.cpu_secs).sum::<f64>() * 1e6 / deliveries.max(1) as f64
        }),
        servers: info
            .servers
            .iter()
            .map(|s| ServerSummary {
                pid: s.pid,
                rss_kib: s.rss_kib,
                cpu_secs: s.cpu_secs,
                exited: s.exited,
                rss_kib_per_voter: s.rss_kib as f64 * info.servers.len() as f64 / connected,
            })
            .collect(),
        slos: slo_results,
        faults,
        run: info.clone(),
    }
}

/// The shards' clock reports, combined: per target every shard's bounds intersected.
fn clock_summary(snap: &Snapshot) -> ClockSummary {
    let mut targets: BTreeMap<String, OffsetBounds> = BTreeMap::new();
    for r in &snap.clock {
        for (t, b) in &r.targets {
            targets.entry(t.clone()).or_default().merge(b);
        }
    }
    let targets: Vec<(String, OffsetBounds)> = targets.into_iter().collect();
    let fleet = ClockReport::fleet(&targets);
    let mode = snap.clock.iter().find_map(|r| r.mode);
    ClockSummary {
        mode,
        offset_ms: fleet.map(|f| f.0),
        error_ms: fleet.map(|f| f.1),
        corrected: mode == Some(ClockMode::Estimate) && snap.fanout_withheld.is_empty(),
        targets,
        fanout_withheld: snap.fanout_withheld.clone(),
        early_deliveries: snap.early_deliveries.clone(),
    }
}
