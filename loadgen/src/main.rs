//! `loadgen`: runs a load test (one process, `--workers K` child processes, or one `--shard I/N`
//! of a run spread over machines) and writes its report; `loadgen merge DIR...` merges shards.
//!
//! Its options are [`loadgen::cli`]'s; the server under test is chosen by `lcr-profile`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use std::sync::Arc;

use lcr_profile::{Fixture, FixtureSpec, Overrides, Profile, ServerUnderTest, TokenSource, Tokens};
use loadgen::cli::{Cli, MergeCli};
use loadgen::plan::{Plan, Spread};
use loadgen::record::Snapshot;
use loadgen::report::{self, RunInfo, Slo};

fn machine() -> String {
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
    format!("{cores} cores, {mem}")
}

/// The async runtime (see [`reference_server::tokio_runtime`]).
fn runtime(threads: Option<u16>) -> anyhow::Result<tokio::runtime::Runtime> {
    reference_server::tokio_runtime(threads).context("cannot start the async runtime")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let outcome = if args.get(1).map(String::as_str) == Some("merge") {
        let cli = MergeCli::parse_from(args.iter().skip(1));
        runtime(None).and_then(|rt| rt.block_on(merge(cli)))
    } else {
        let mut cli = Cli::parse();
        cli.settle_shard()
            .map_err(anyhow::Error::msg)
            .and_then(|()| pin_if_asked(&cli))
            .and_then(|()| runtime(cli.worker_threads))
            .and_then(|rt| rt.block_on(run(cli, args)))
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Worker processes of this run: `--workers`, or enough for at most 15,000 sockets each.
fn workers(cli: &Cli) -> usize {
    cli.workers
        .unwrap_or_else(|| cli.voters.div_ceil(15_000))
        .max(1)
}

/// With `--pin-cpus`, a process that drives voters (a worker, or a run in one process) pins
/// itself to its CPU before its runtime starts, so every thread it starts inherits the mask.
/// The parent of several workers stays free: it only waits for them.
fn pin_if_asked(cli: &Cli) -> anyhow::Result<()> {
    if !cli.pin_cpus || (cli.shard.is_none() && workers(cli) > 1) {
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

fn slos(texts: &[String]) -> anyhow::Result<Vec<Slo>> {
    texts
        .iter()
        .map(|t| report::parse_slo(t).map_err(anyhow::Error::msg))
        .collect()
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

async fn run(cli: Cli, argv: Vec<String>) -> anyhow::Result<bool> {
    let started = Instant::now();
    let slos = slos(&cli.slos)?;
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
    let (conference_id, question_ids) = Plan::own_ids(&run_id, cli.questions);
    let deadline = Duration::from_secs(
        60 + cli.voters as u64 / 500
            + cli.questions as u64 * (u64::from(cli.question_duration) + 15),
    );
    let plan = Plan {
        run_id: run_id.clone(),
        targets: targets.clone(),
        spread: cli.spread,
        tokens: tokens.clone(),
        path: server.profile.target.path.clone(),
        conference_id,
        question_ids,
        voters: cli.voters,
        questions: cli.questions,
        question_duration: cli.question_duration,
        close_after: cli.close_after,
        seed: cli.seed,
        shard: cli.shard.unwrap_or((0, 1)),
        batch_size: cli.batch_size as usize,
        local_ips: local_ips(&cli.local_ips, &targets),
        reconnect: cli.reconnect,
        deadline,
        setup: !cli.no_setup,
    };
    // The run's conference: created here (the parent of the workers, or a lone process), or by
    // whoever wrote `--created`; the server's ids are the run's from here on.
    let created_path = dir.join("created.json");
    let plan = if plan.setup && plan.hosts() {
        let fixture = Fixture::new(&server.profile.fixtures, &server.profile.target, tokens)
            .await
            .context("setting up the profile's fixture")?;
        let created = loadgen::attack::set_up(&fixture, &plan).await?;
        std::fs::write(
            &created_path,
            serde_json::to_string_pretty(&created_json(&created))?,
        )?;
        plan.with_created(&created)
    } else if let Some(path) = &cli.created {
        let text = wait_for_file(path, Duration::from_secs(cli.created_wait))
            .await
            .with_context(|| format!("reading --created {}", path.display()))?;
        plan.with_created(&created_from_json(&serde_json::from_str(&text)?)?)
    } else {
        plan
    };
    let workers = workers(&cli);
    let info = RunInfo {
        run_id: run_id.clone(),
        targets: targets.clone(),
        voters: cli.voters,
        questions: cli.questions,
        question_duration: cli.question_duration,
        seed: cli.seed,
        shards: if cli.shard.is_some() { 1 } else { workers },
        machine: match (cli.pin_cpus, cli.spread) {
            (false, Spread::RoundRobin) => machine(),
            (false, Spread::ByWorker) => format!("{}; each worker drives one server", machine()),
            (true, Spread::RoundRobin) => format!("{}; each worker pinned to a CPU", machine()),
            (true, Spread::ByWorker) => format!(
                "{}; each worker drives one server and shares its CPU",
                machine()
            ),
        },
        wall_secs: 0.0,
        servers: Vec::new(),
        partial: cli.shard.is_some_and(|(_, n)| n > 1),
    };
    let server_watch = loadgen::record::ServerWatch::start(&cli.server_pids);
    eprintln!(
        "[loadgen] run {run_id}: {} voters, {} questions × {} s, targets {targets:?}, report {}",
        cli.voters,
        cli.questions,
        cli.question_duration,
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
        let snaps = run_workers(&argv, workers, &run_id, &dir, &targets, secrets).await?;
        Snapshot::merge(&snaps)
    } else {
        let rec =
            loadgen::attack::run(plan, cli.goose.clone(), &dir, true, fanout_to_goose).await?;
        let snap = rec.snapshot();
        std::fs::write(dir.join("shard.json"), serde_json::to_string(&snap)?)?;
        snap
    };
    let servers = server_watch.finish();
    let info = RunInfo {
        wall_secs: started.elapsed().as_secs_f64(),
        servers,
        ..info
    };
    let verdict = report::verdict(&snap, &info, &slos);
    report::write(&dir, &snap, &verdict)?;
    print_verdict(&dir, &verdict);
    server.shutdown().await;
    Ok(verdict.violations.is_empty())
}

fn print_verdict(dir: &Path, v: &report::Verdict) {
    let s = &v.summary;
    for (name, m) in s["metrics"].as_object().into_iter().flatten() {
        eprintln!(
            "[loadgen] {name:<24} n={:<8} p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
            m["count"],
            m["p50"].as_f64().unwrap_or(0.0),
            m["p99"].as_f64().unwrap_or(0.0),
            m["max"].as_f64().unwrap_or(0.0)
        );
    }
    for q in s["questions"].as_array().into_iter().flatten() {
        eprintln!(
            "[loadgen] {}: accepted {} final totalVotes {} {}",
            q["questionId"].as_str().unwrap_or(""),
            q["acceptedVotes"],
            q["finalTotalVotes"],
            if q["ok"] == true { "ok" } else { "VIOLATION" }
        );
    }
    for x in &v.violations {
        eprintln!("[loadgen] \x1b[31mviolation: {x}\x1b[0m");
    }
    eprintln!(
        "[loadgen] {} — report {}",
        if v.violations.is_empty() {
            "PASS"
        } else {
            "FAIL"
        },
        dir.join("index.html").display()
    );
}

/// The text of `path` once it exists (another shard writes it), waiting up to `wait`.
async fn wait_for_file(path: &Path, wait: Duration) -> anyhow::Result<String> {
    let until = Instant::now() + wait;
    loop {
        match std::fs::read_to_string(path) {
            // A file another process is still writing may be empty or cut short: wait for it
            // to parse.
            Ok(text) if serde_json::from_str::<serde_json::Value>(&text).is_ok() => {
                return Ok(text);
            }
            Ok(_) | Err(_) if Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(_) => anyhow::bail!("not complete JSON after {} s", wait.as_secs()),
            Err(e) => return Err(e).context(format!("not there after {} s", wait.as_secs())),
        }
    }
}

/// The conference the run created, as `created.json`.
fn created_json(c: &lcr_profile::Created) -> serde_json::Value {
    serde_json::json!({
        "conferenceId": c.conference_id, "hostUserId": c.host_user_id, "questionIds": c.question_ids,
    })
}

/// `created.json` read back.
fn created_from_json(v: &serde_json::Value) -> anyhow::Result<lcr_profile::Created> {
    Ok(lcr_profile::Created {
        conference_id: v["conferenceId"]
            .as_str()
            .context("created.json: no conferenceId")?
            .to_owned(),
        host_user_id: v["hostUserId"].as_str().unwrap_or_default().to_owned(),
        question_ids: serde_json::from_value(v["questionIds"].clone()).unwrap_or_default(),
    })
}

/// Runs the shards as child processes of this binary and collects their snapshots.
async fn run_workers(
    argv: &[String],
    workers: usize,
    run_id: &str,
    dir: &Path,
    targets: &[String],
    secrets: Option<(String, String)>,
) -> anyhow::Result<Vec<Snapshot>> {
    let exe = std::env::current_exe()?;
    // Keep the user's options but the ones the parent decides for its children.
    let skip_value = [
        "--workers",
        "--report-dir",
        "--run-id",
        "--target",
        "--shard",
        "--shards",
        "--shard-index",
        "--created",
        "--report-file",
    ];
    let mut keep = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if skip_value.contains(&a.as_str()) {
            it.next();
        } else if !skip_value.iter().any(|s| a.starts_with(&format!("{s}="))) && a != "--no-setup" {
            keep.push(a.clone());
        }
    }
    let mut children = Vec::new();
    let created = dir.join("created.json");
    for i in 0..workers {
        let shard_dir = dir.join(format!("shard-{i}"));
        let mut command = tokio::process::Command::new(&exe);
        // What the parent decides for its children, not the environment it was given.
        for var in [
            "JOB_COMPLETION_INDEX",
            "LOADGEN_SHARDS",
            "LOADGEN_REPORT_DIR",
            "LOADGEN_RUN_ID",
            "LOADGEN_CREATED",
        ] {
            command.env_remove(var);
        }
        if let Some((secret, admin)) = &secrets {
            command.env("JWT_SECRET", secret).env("ADMIN_TOKEN", admin);
        }
        if created.is_file() {
            command.arg("--created").arg(&created);
        }
        let child = command
            .args(&keep)
            .args([
                "--shard",
                &format!("{i}/{workers}"),
                "--workers",
                "1",
                "--run-id",
                run_id,
                "--no-setup",
            ])
            .arg("--report-dir")
            .arg(&shard_dir)
            .args(
                targets
                    .iter()
                    .flat_map(|t| ["--target".to_owned(), t.clone()]),
            )
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting worker {i}"))?;
        children.push((i, shard_dir, child));
    }
    let mut snaps = Vec::new();
    for (i, shard_dir, mut child) in children {
        let status = child.wait().await?;
        eprintln!("[loadgen] worker {i} exited with {status}");
        let mut snap: Snapshot = match std::fs::read_to_string(shard_dir.join("shard.json")) {
            Ok(text) => serde_json::from_str(&text)?,
            Err(_) => Snapshot {
                problems: vec![format!("worker {i} wrote no shard.json")],
                ..Snapshot::default()
            },
        };
        // Exit 1 is a worker's own verdict, already in its snapshot; anything else is a failure
        // the snapshot cannot tell.
        if !matches!(status.code(), Some(0 | 1)) {
            snap.problems
                .push(format!("worker {i} exited with {status}"));
        }
        snaps.push(snap);
    }
    Ok(snaps)
}

async fn merge(cli: MergeCli) -> anyhow::Result<bool> {
    let slos = slos(&cli.slos)?;
    let mut snaps: Vec<Snapshot> = Vec::new();
    let mut info: Option<RunInfo> = None;
    for d in &cli.dirs {
        let text = std::fs::read_to_string(d.join("shard.json"))
            .with_context(|| format!("{}: no shard.json", d.display()))?;
        snaps.push(serde_json::from_str(&text)?);
        if info.is_none()
            && let Ok(s) = std::fs::read_to_string(d.join("summary.json"))
        {
            let v: serde_json::Value = serde_json::from_str(&s)?;
            info = serde_json::from_value::<RunInfo>(v["run"].clone()).ok();
        }
    }
    let snap = Snapshot::merge(&snaps);
    let info = RunInfo {
        shards: cli.dirs.len(),
        partial: false,
        ..info.context("no summary.json in the shard directories")?
    };
    let verdict = report::verdict(&snap, &info, &slos);
    report::write(&cli.report_dir, &snap, &verdict)?;
    print_verdict(&cli.report_dir, &verdict);
    Ok(verdict.violations.is_empty())
}
