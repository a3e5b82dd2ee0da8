//! One run: the server chosen (a profile, targets, or the reference server in process), the
//! conferences created, the voters driven (here, or by worker processes), and the report.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use lcr_profile::{Fixture, FixtureSpec, Overrides, Profile, ServerUnderTest, TokenSource, Tokens};
use loadgen::cli::Cli;
use loadgen::drive::Nemesis;
use loadgen::plan::{Plan, Spread};
use loadgen::progress::Progress;
use loadgen::record::Snapshot;
use loadgen::record::process::ServerWatch;
use loadgen::report::{self, ConferenceInfo, RunInfo};

/// Worker processes of this run: `--workers`, or enough for at most 15,000 sockets each.
pub fn workers(cli: &Cli, voters: usize) -> usize {
    cli.workers
        .unwrap_or_else(|| voters.div_ceil(15_000))
        .max(1)
}

/// Threads the runtime of this process has.
fn threads(cli: &Cli) -> usize {
    cli.worker_threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    )
}

/// With `--pin-cpus`, a process that drives voters (a worker, or a run in one process) pins
/// itself to its CPU before its runtime starts, so every thread it starts inherits the mask.
/// The parent of several workers stays free: it only waits for them.
pub fn pin_if_asked(cli: &Cli) -> anyhow::Result<()> {
    let voters = cli.workload().map_or(0, |w| w.voters());
    if !cli.pin_cpus || (cli.shard.is_none() && workers(cli, voters) > 1) {
        return Ok(());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let worker = cli.shard.map_or(0, |s| s.0);
    let cpu = loadgen::plan::pinned_cpu(cli.spread, worker, cli.targets.len(), cores);
    let status = std::process::Command::new("taskset")
        .args([
            "-c",
            "-p",
            &cpu.to_string(),
            &std::process::id().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .context("--pin-cpus needs taskset (util-linux)")?;
    anyhow::ensure!(
        status.success(),
        "taskset could not pin this process to CPU {cpu}"
    );
    Ok(())
}

fn machine(cli: &Cli) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or("?".into(), |kb| {
            format!("{:.0} GiB", kb as f64 / 1_048_576.0)
        });
    let base = format!("{cores} cores, {mem}");
    match (cli.pin_cpus, cli.spread) {
        (false, Spread::RoundRobin) => base,
        (false, Spread::ByWorker) => format!("{base}; each worker drives one server"),
        (true, Spread::RoundRobin) => format!("{base}; each worker pinned to a CPU"),
        (true, Spread::ByWorker) => {
            format!("{base}; each worker drives one server and shares its CPU")
        }
    }
}

fn local_ips(spec: &str, targets: &[String]) -> Vec<IpAddr> {
    match spec {
        "none" => Vec::new(),
        "auto" => {
            let loopback = targets
                .iter()
                .all(|t| t.contains("://127.") || t.contains("://localhost"));
            if loopback {
                (1..=8).map(|i| IpAddr::from([127, 0, 0, i])).collect()
            } else {
                Vec::new()
            }
        }
        list => list
            .split(',')
            .filter_map(|s| s.trim().parse().ok())
            .collect(),
    }
}

/// Runs the load test `cli` describes; true when every invariant and SLO held.
pub async fn run(cli: Cli, argv: Vec<String>) -> anyhow::Result<bool> {
    let started = Instant::now();
    let slos = super::slos(&cli.slos)?;
    let workload = cli.workload()?;
    let run_id = cli
        .run_id
        .clone()
        .unwrap_or_else(|| format!("{}", lcr_protocol::now_millis() / 1000));
    let dir = cli
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&run_id));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    // A profile, the targets with their secrets, or the in-process reference server.
    let profile = cli
        .profile
        .as_deref()
        .map(Profile::load)
        .transpose()
        .context("reading the profile")?;
    let overrides = Overrides {
        nodes: cli.targets.clone(),
        jwt_secret: cli.jwt_secret.clone(),
        admin_token: cli.admin_token.clone(),
        ..Overrides::default()
    };
    // With a profile, only what is on the command line overrides it (not JWT_SECRET and the
    // like from the environment).
    let overrides = match cli.profile {
        Some(_) => overrides.given_on(&argv),
        None => overrides,
    };
    let server = ServerUnderTest::choose(profile, overrides, &dir, || {
        let mut config =
            reference_server::ServerConfig::embedded("loadgen-secret", "loadgen-admin")
                .on_redis(cli.redis_url.as_deref());
        config.settings.rate_limit_events = 10_000;
        config
    })
    .await?;
    let targets = server.nodes().to_vec();
    let tokens = Arc::new(Tokens::new(&server.profile.auth)?);
    let clock = cli.clock.settle(&targets);
    let mut plan = Plan::new(
        &run_id,
        workload.clone(),
        targets.clone(),
        tokens.clone(),
        server.profile.target.path.clone(),
        cli.seed,
        cli.shard.unwrap_or((0, 1)),
    );
    plan.spread = cli.spread;
    plan.batch_size = cli.batch_size as usize;
    plan.local_ips = local_ips(&cli.local_ips, &targets);
    plan.reconnect = cli.reconnect;
    plan.deadline = workload.deadline();
    plan.setup = !cli.no_setup;
    // The run's conferences: created here (the parent of the workers, or the first shard), or
    // by whoever wrote `--created`; the server's ids are the run's from here on.
    let created_path = dir.join("created.json");
    let plan = if plan.creates() {
        let fixture = Fixture::new(&server.profile.fixtures, &server.profile.target, tokens)
            .await
            .context("setting up the profile's fixture")?;
        let created = loadgen::attack::set_up(&fixture, &plan).await?;
        super::created::write(&created_path, &created)?;
        plan.with_created(&created)
    } else if let Some(path) = &cli.created {
        let created = super::created::read(path, Duration::from_secs(cli.created_wait)).await?;
        anyhow::ensure!(
            created.len() == plan.conferences.len(),
            "{}: {} conferences, but the workload has {}",
            path.display(),
            created.len(),
            plan.conferences.len()
        );
        plan.with_created(&created)
    } else {
        plan
    };
    let voters = workload.voters();
    let workers = workers(&cli, voters);
    let info = RunInfo {
        run_id: run_id.clone(),
        targets: targets.clone(),
        voters,
        questions: workload.questions.count,
        question_duration: workload.duration(0),
        durations: (0..workload.questions.count)
            .map(|k| workload.duration(k))
            .collect(),
        seed: cli.seed,
        shards: if cli.shard.is_some() { 1 } else { workers },
        machine: machine(&cli),
        wall_secs: 0.0,
        servers: Vec::new(),
        partial: cli.shard.is_some_and(|(_, n)| n > 1),
        workload: workload.describe(),
        conferences: plan
            .conferences
            .iter()
            .enumerate()
            .map(|(c, conf)| ConferenceInfo {
                id: conf.id.clone(),
                voters: conf.voters.len(),
                initial: plan.initial_audience(c),
                question_ids: conf.question_ids.clone(),
            })
            .collect(),
    };
    let mut pids = cli.server_pids.clone();
    pids.extend(server.pids());
    let server_watch = ServerWatch::start(&pids);
    // What a fault's command may need: the servers' processes (those watched here, and those a
    // parent process watches), the targets, and the run.
    let mut fault_pids: Vec<String> = pids.iter().map(u32::to_string).collect();
    if let Ok(inherited) = std::env::var("LOADGEN_SERVER_PIDS") {
        fault_pids.extend(inherited.split_whitespace().map(str::to_owned));
    }
    let nemesis = Nemesis {
        faults: workload.faults.clone(),
        env: vec![
            ("LOADGEN_SERVER_PIDS".into(), fault_pids.join(" ")),
            ("LOADGEN_TARGETS".into(), targets.join(",")),
            ("LOADGEN_RUN_ID".into(), run_id.clone()),
            ("LOADGEN_REPORT_DIR".into(), dir.display().to_string()),
        ],
    };
    eprintln!(
        "[loadgen] run {run_id}: {}; targets {}; report {}",
        info.workload,
        targets.join(", "),
        dir.display()
    );

    let fanout_to_goose = match cli.goose_fanout.as_str() {
        "on" => true,
        "off" => false,
        _ => plan.my_voters().len() <= 5_000,
    };
    let snap = if cli.shard.is_none() && workers > 1 {
        // The children talk to the nodes this process knows (started from the profile, or in
        // process), with its secrets when it has no profile for them to read.
        let secrets = match (
            &cli.profile,
            &server.profile.auth.source,
            server.profile.fixtures.clone(),
        ) {
            (None, TokenSource::Hs256 { secret }, FixtureSpec::ControlApi { admin_token, .. }) => {
                Some((secret.clone(), admin_token))
            }
            _ => None,
        };
        let snaps = super::workers::run_workers(
            &argv,
            workers,
            &run_id,
            &dir,
            &targets,
            secrets,
            &nemesis.env[0].1,
        )
        .await?;
        Snapshot::merge(&snaps)
    } else {
        let progress = match cli.shard {
            Some((i, n)) if n > 1 => Progress::new(format!("[loadgen shard {i}/{n}] ")),
            _ => Progress::new("[loadgen] "),
        };
        let rec = loadgen::attack::run(
            plan,
            cli.goose.clone(),
            &dir,
            progress.clone(),
            fanout_to_goose,
            nemesis,
        )
        .await?;
        progress.finish();
        let mut snap = rec.snapshot(clock, cli.clock_max_error);
        let wall = started.elapsed().as_secs_f64().max(0.001);
        snap.generator_cpu_share = snap.generator_cpu_secs / (wall * threads(&cli) as f64);
        snap
    };
    let info = RunInfo {
        wall_secs: started.elapsed().as_secs_f64(),
        servers: server_watch.finish(),
        ..info
    };
    let summary = report::verdict(&snap, &info, &slos);
    report::write(&dir, &snap, &summary)?;
    report::render::terminal::print(&dir, &summary);
    server.shutdown().await;
    Ok(summary.invariants_ok)
}
