//! One shard's run on goose: the host and the voter batches are goose scenarios, every timing
//! is recorded with `GooseUser::record_custom_request_duration` (so goose's report and
//! `--threshold` see them), and goose's ramp controls pace the batches.
//!
//! One goose user drives a batch of voters (`--batch-size`, default 100): a goose user carries
//! an HTTP client and bookkeeping of its own, too heavy to have 100,000 of them on one box, while
//! a batch of lean Socket.IO connections per user keeps goose as the engine.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::prelude::*;
use lcr_testkit::conference;
use tokio::sync::mpsc;

use crate::drive::{Nemesis, Sample, Sink, Timelines, run_host, run_voters};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::record::Recorder;

/// What the goose transactions share.
pub struct Shared {
    /// The plan.
    pub plan: Arc<Plan>,
    /// The shard's measurements.
    pub rec: Arc<Recorder>,
    /// When everything stops.
    pub end: Instant,
    next_batch: AtomicUsize,
    next_host: AtomicUsize,
    /// What this process heard of each conference.
    pub timelines: Arc<Timelines>,
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
    let hosts = s.plan.my_hosts();
    let Some(&c) = hosts.get(s.next_host.fetch_add(1, Ordering::SeqCst)) else {
        return Ok(());
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = Sink {
        rec: s.rec.clone(),
        goose: tx,
        fanout_to_goose: s.fanout_to_goose,
    };
    let (plan, end, state) = (s.plan.clone(), s.end, s.clone());
    let work = tokio::spawn(async move {
        let conference = plan.conferences[c].id.clone();
        match run_host(plan, c, sink, state.timelines.clone(), end).await {
            Ok(finals) => state.rec.host_ran(&conference, finals),
            Err(e) => state.rec.problem(e.to_string()),
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
    let work = tokio::spawn(run_voters(
        s.plan.clone(),
        range,
        sink,
        s.timelines.clone(),
        s.end,
    ));
    forward(user, rx, work).await;
    Ok(())
}

/// Creates the run's conferences, active, through the profile's fixture (the Control API, the
/// deployment's own API, commands, or the stores): each hosted by its host, with its
/// questions. The server may assign its own ids: the answers carry them.
pub async fn set_up(
    fixture: &lcr_profile::Fixture,
    plan: &Plan,
) -> anyhow::Result<Vec<lcr_profile::Created>> {
    let mut created = Vec::new();
    for (c, conf) in plan.conferences.iter().enumerate() {
        let conference = lcr_profile::Conference {
            conference_id: conf.id.clone(),
            title: format!("Load run {} #{}", plan.run_id, c + 1),
            host_user_id: conf.host_user.clone(),
            questions: conf
                .question_ids
                .iter()
                .enumerate()
                .map(|(k, q)| {
                    conference::question(q.clone(), format!("Load question {}", k + 1), "A")
                })
                .collect(),
        };
        created.push(
            fixture
                .create(&conference, lcr_protocol::ConferenceStatus::Active)
                .await
                .map_err(|e| anyhow::anyhow!("creating conference {}: {e}", conf.id))?,
        );
    }
    Ok(created)
}

/// Runs this shard under goose and returns its recorder; `progress` shows how it goes. The first
/// shard also runs the `nemesis`'s faults.
pub async fn run(
    plan: Plan,
    goose: GooseConfiguration,
    report_dir: &std::path::Path,
    progress: Progress,
    fanout_to_goose: bool,
    nemesis: Nemesis,
) -> anyhow::Result<Arc<Recorder>> {
    let plan = Arc::new(plan);
    let rec = Arc::new(Recorder::default());
    rec.set_voters(plan.my_voters().len() as u64);
    let end = Instant::now() + plan.deadline;
    let timelines = Arc::new(Timelines::new(plan.conferences.len(), plan.questions()));
    let state = Arc::new(Shared {
        plan: plan.clone(),
        rec: rec.clone(),
        end,
        next_batch: AtomicUsize::new(0),
        next_host: AtomicUsize::new(0),
        timelines: timelines.clone(),
        fanout_to_goose,
    });
    if SHARED.set(state.clone()).is_err() {
        anyhow::bail!("one run per process");
    }
    let batches = plan.my_voters().len().div_ceil(plan.batch_size);
    let hosts = plan.my_hosts().len();
    // Goose refuses a run without users: a shard with no voters still has its (idle) user.
    let users = (batches + hosts).max(1);
    let goose_report = report_dir.join("goose.html").display().to_string();

    let ticker = {
        let (rec, plan, timelines) = (rec.clone(), plan.clone(), timelines.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let second = lcr_protocol::now_millis() / 1000 - 1;
                rec.close_interval(second);
                progress.update(&rec, &plan, &timelines);
            }
        })
    };

    let faults = (plan.shard.0 == 0 && !nemesis.faults.is_empty())
        .then(|| nemesis.start(timelines.clone(), rec.clone(), end));

    let verbose = goose.verbose > 0;
    // Goose refuses a default increase rate next to an explicit --increase-time.
    let ramp_given = goose.increase_time.is_some();
    let mut attack = GooseAttack::initialize_with_config(goose)?;
    if hosts > 0 {
        attack = attack.register_scenario(
            scenario!("hosts")
                .set_weight(hosts)?
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
    if !verbose {
        // Goose's own lines (a "launching user" per user, its tables) only with -v: the
        // progress line and loadgen's report say what matters.
        attack = attack
            .set_default(GooseDefault::Quiet, 1)?
            .set_default(GooseDefault::NoPrintMetrics, true)?;
    }
    let attack = attack
        .set_default(GooseDefault::Iterations, 1)?
        .set_default(GooseDefault::ReportFile, goose_report.as_str())?;
    let metrics = attack.execute().await;
    if let Some((stop, all)) = faults {
        // What has not begun is skipped; a pending undo runs now.
        stop.now();
        let _ = all.await;
    }
    ticker.abort();
    rec.close_interval(lcr_protocol::now_millis() / 1000);
    let _ = metrics.map_err(|e| anyhow::anyhow!("goose: {e:?}"))?;
    for c in plan.my_hosts() {
        let id = &plan.conferences[c].id;
        if !rec.host_reported(id) && !rec.has_problems() {
            rec.problem(format!(
                "the host of {id} never ran (goose started no user for it)"
            ));
        }
    }
    Ok(rec)
}
