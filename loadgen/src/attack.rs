//! One shard's run on goose: the host and the voter batches are goose scenarios, every timing
//! is recorded with `GooseUser::record_custom_request_duration` (so goose's report and
//! `--threshold` see them), and goose's ramp controls pace the batches.
//!
//! One goose user drives a batch of voters (`--batch-size`, default 100): a goose user carries
//! an HTTP client and bookkeeping of its own, too heavy to have 100,000 of them on one box, while
//! a batch of lean Socket.IO connections per user keeps goose as the engine.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::prelude::*;
use lcr_testkit::conference;
use tokio::sync::mpsc;

use crate::drive::{Sample, Sink, run_host, run_voters};
use crate::plan::Plan;
use crate::record::{Recorder, metric};

/// What the goose transactions share.
pub struct Shared {
    /// The plan.
    pub plan: Arc<Plan>,
    /// The shard's measurements.
    pub rec: Arc<Recorder>,
    /// When everything stops.
    pub end: Instant,
    next_batch: AtomicUsize,
    host_started: AtomicBool,
    /// Whether every fan-out delivery is also recorded in goose.
    pub fanout_to_goose: bool,
}

static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();

fn shared() -> Arc<Shared> {
    SHARED
        .get()
        .cloned()
        .expect("shared state is set before goose starts")
}

/// Forwards samples to goose until `work` ends.
async fn forward(
    user: &mut GooseUser,
    mut rx: mpsc::UnboundedReceiver<Sample>,
    work: tokio::task::JoinHandle<()>,
) {
    tokio::pin!(work);
    loop {
        tokio::select! {
            Some(s) = rx.recv() => {
                let _ = user.record_custom_request_duration("WS", s.name, s.took, s.ok, None, None).await;
            }
            _ = &mut work => break,
        }
    }
    while let Ok(s) = rx.try_recv() {
        let _ = user
            .record_custom_request_duration("WS", s.name, s.took, s.ok, None, None)
            .await;
    }
}

async fn host_transaction(user: &mut GooseUser) -> TransactionResult {
    let s = shared();
    if !s.plan.hosts() || s.host_started.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = Sink {
        rec: s.rec.clone(),
        goose: tx,
        fanout_to_goose: s.fanout_to_goose,
    };
    let (plan, end, state) = (s.plan.clone(), s.end, s.clone());
    let work = tokio::spawn(async move {
        match run_host(plan, sink, end).await {
            Ok(finals) => state.rec.host_ran(finals.len() as u64),
            Err(e) => state.rec.problem(format!("host: {e}")),
        }
    });
    forward(user, rx, work).await;
    Ok(())
}

async fn voters_transaction(user: &mut GooseUser) -> TransactionResult {
    let s = shared();
    let mine = s.plan.my_voters();
    let b = s.next_batch.fetch_add(1, Ordering::SeqCst);
    let start = mine.start + b * s.plan.batch_size;
    if start >= mine.end {
        return Ok(());
    }
    let range = start..(start + s.plan.batch_size).min(mine.end);
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = Sink {
        rec: s.rec.clone(),
        goose: tx,
        fanout_to_goose: s.fanout_to_goose,
    };
    let work = tokio::spawn(run_voters(s.plan.clone(), range, sink, s.end));
    forward(user, rx, work).await;
    Ok(())
}

/// Creates the run's conference, active, through the profile's fixture (the Control API, the
/// deployment's own API, commands, or the stores): hosted by the plan's host, with its
/// questions. The server may assign its own ids: the answer carries them.
pub async fn set_up(
    fixture: &lcr_profile::Fixture,
    plan: &Plan,
) -> anyhow::Result<lcr_profile::Created> {
    let conference = lcr_profile::Conference {
        conference_id: plan.conference_id(),
        title: format!("Load run {}", plan.run_id),
        host_user_id: plan.host_user(),
        questions: (0..plan.questions)
            .map(|k| {
                conference::question(plan.question_id(k), format!("Load question {}", k + 1), "A")
            })
            .collect(),
    };
    fixture
        .create(&conference, lcr_protocol::ConferenceStatus::Active)
        .await
        .map_err(|e| anyhow::anyhow!("creating the run's conference: {e}"))
}

/// Runs this shard under goose and returns its recorder.
pub async fn run(
    plan: Plan,
    goose: GooseConfiguration,
    report_dir: &std::path::Path,
    progress: bool,
    fanout_to_goose: bool,
) -> anyhow::Result<Arc<Recorder>> {
    let plan = Arc::new(plan);
    let rec = Arc::new(Recorder::default());
    rec.set_voters(plan.my_voters().len() as u64);
    let end = Instant::now() + plan.deadline;
    let state = Arc::new(Shared {
        plan: plan.clone(),
        rec: rec.clone(),
        end,
        next_batch: AtomicUsize::new(0),
        host_started: AtomicBool::new(false),
        fanout_to_goose,
    });
    if SHARED.set(state.clone()).is_err() {
        anyhow::bail!("one run per process");
    }
    let batches = plan.my_voters().len().div_ceil(plan.batch_size);
    let host_users = usize::from(plan.hosts());
    // Goose refuses a run without users: a shard with no voters still has its (idle) user.
    let users = (batches + host_users).max(1);
    let goose_report = report_dir.join("goose.html").display().to_string();

    let ticker = {
        let rec = rec.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            let mut n = 0u64;
            loop {
                every.tick().await;
                let second = lcr_protocol::now_millis() / 1000 - 1;
                rec.close_interval(second);
                n += 1;
                if progress && n.is_multiple_of(2) {
                    eprintln!(
                        "[loadgen] connected {:>6}  votes acked {:>7}  vote_ack p99 {:>8}  question:live fan-out p99 {:>8}",
                        rec.connected_now(),
                        rec.count(metric::VOTE_ACK),
                        rec.quantile_ms(metric::VOTE_ACK, 0.99)
                            .map_or("-".into(), |v| format!("{v:.1} ms")),
                        rec.quantile_ms(metric::FANOUT_LIVE, 0.99)
                            .map_or("-".into(), |v| format!("{v:.1} ms")),
                    );
                }
            }
        })
    };

    // Goose refuses a default increase rate next to an explicit --increase-time.
    let ramp_given = goose.increase_time.is_some();
    let mut attack = GooseAttack::initialize_with_config(goose)?;
    if plan.hosts() {
        attack = attack.register_scenario(
            scenario!("host")
                .set_weight(1)?
                .register_transaction(transaction!(host_transaction).set_name("host")),
        );
    }
    let mut attack = attack
        .register_scenario(
            scenario!("voters")
                .set_weight(batches.max(1))?
                .register_transaction(transaction!(voters_transaction).set_name("voter batch")),
        )
        .set_default(GooseDefault::Host, plan.targets[0].as_str())?
        .set_default(GooseDefault::Users, users)?;
    if !ramp_given {
        attack = attack.set_default(
            GooseDefault::IncreaseRate,
            format!("{}", (2000 / plan.batch_size).max(1)).as_str(),
        )?;
    }
    let attack = attack
        .set_default(GooseDefault::Iterations, 1)?
        .set_default(GooseDefault::ReportFile, goose_report.as_str())?;
    let metrics = attack.execute().await;
    ticker.abort();
    rec.close_interval(lcr_protocol::now_millis() / 1000);
    let _ = metrics.map_err(|e| anyhow::anyhow!("goose: {e:?}"))?;
    if plan.hosts() && !rec.host_reported() && !rec.has_problems() {
        rec.problem("the host never ran (goose started no host user)".into());
    }
    Ok(rec)
}
