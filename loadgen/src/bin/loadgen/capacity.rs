//! `loadgen capacity`: runs the steps of a search, each a run of this binary in a process of
//! its own (so each step starts from a clean server when the run starts one, and one step's
//! sockets, memory and threads are gone before the next), and writes `capacity.json` and
//! `capacity.html` after every step, so an interrupted search keeps what it measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use lcr_profile::Profile;
use loadgen::capacity::{
    self, CapacityReport, ServerPlacement, Settings, Step, limits, render, step_dir, thousands,
};
use loadgen::cli::{CapacityCli, Cli};
use loadgen::report::Summary;

/// Environment a step must not inherit: what the search decides for it (or, in a Kubernetes
/// Job, a shard index that would make each step one shard of a run).
const DECIDED_ENV: [&str; 5] = [
    "JOB_COMPLETION_INDEX",
    "LOADGEN_SHARDS",
    "LOADGEN_REPORT_DIR",
    "LOADGEN_RUN_ID",
    "LOADGEN_CREATED",
];

/// Runs the search `args` (after `capacity`) describe; its exit code.
pub fn capacity(args: &[String]) -> anyhow::Result<u8> {
    let cli = CapacityCli::parse_args(args.iter().cloned()).unwrap_or_else(|e| e.exit());
    let run = cli.first_run()?;
    let server = placement(&run)?;
    let run_id = cli
        .run_id
        .clone()
        .unwrap_or_else(|| format!("capacity-{}", lcr_protocol::now_millis() / 1000));
    let workload = run.workload()?.describe();
    let settings = Settings::new(
        run_id,
        (cli.from, cli.to, cli.factor),
        &cli.slos,
        cli.require,
        cli.run_options.clone(),
        server,
        workload,
    )?;
    let dir = cli
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports").join(&settings.run_id));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let warnings = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| limits::open_files(&l))
        .and_then(|limit| limits::files_warning(&settings.planned, server, limit))
        .into_iter()
        .collect();

    eprintln!(
        "[capacity] {}: steps of {} voters; one question each; server: {}",
        settings.run_id,
        settings
            .planned
            .iter()
            .map(|v| thousands(*v as u64))
            .collect::<Vec<_>>()
            .join(", "),
        server.describe()
    );
    eprintln!(
        "[capacity] SLOs: {}{}",
        settings.slos.join(", "),
        if settings.default_slos {
            " (the defaults: no --slo given)"
        } else {
            ""
        }
    );
    let mut report = CapacityReport::new(settings, warnings);
    for w in &report.warnings {
        eprintln!("[capacity] warning: {w}");
    }
    save(&report, &dir)?;
    let exe = std::env::current_exe().context("finding this program to run the steps")?;
    while let Some(voters) = report.next_step() {
        let index = report.steps.len() + 1;
        let step_folder = dir.join(step_dir(voters));
        eprintln!(
            "[capacity] step {index}/{}: {} voters… (its output: {})",
            report.settings.planned.len(),
            thousands(voters as u64),
            step_folder.join("loadgen.log").display()
        );
        let step = run_step(&exe, &report.settings, voters, &step_folder)?;
        report.record(step);
        if let Some(step) = report.steps.last() {
            eprintln!(
                "{}",
                render::step_line(step, index, report.settings.planned.len())
            );
        }
        save(&report, &dir)?;
    }
    eprintln!("[capacity] {}", report.conclusion);
    eprintln!(
        "[capacity] report {} (exit {})",
        dir.join("capacity.html").display(),
        report.exit_code
    );
    Ok(report.exit_code)
}

/// Where the steps' server runs: in each step's process (no profile, no target), started by a
/// profile's `[[server]]` for each step, or elsewhere.
fn placement(run: &Cli) -> anyhow::Result<ServerPlacement> {
    if !run.targets.is_empty() {
        return Ok(ServerPlacement::External);
    }
    let Some(path) = &run.profile else {
        return Ok(ServerPlacement::InProcess);
    };
    let profile = Profile::load(path).context("reading the profile")?;
    Ok(match profile.servers.len() {
        0 => ServerPlacement::External,
        processes => ServerPlacement::Started { processes },
    })
}

/// Writes `capacity.json` and `capacity.html`.
fn save(report: &CapacityReport, dir: &Path) -> anyhow::Result<()> {
    report.write(dir)?;
    let path = dir.join("capacity.html");
    std::fs::write(&path, render::html(report))
        .with_context(|| format!("writing {}", path.display()))
}

/// Runs the step of `voters` as a child run of this binary, its output in `folder/loadgen.log`,
/// and judges it. A step that could not be started or judged is a step in error, not an error
/// of the search: the search stops there and says why.
fn run_step(exe: &Path, settings: &Settings, voters: usize, folder: &Path) -> anyhow::Result<Step> {
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    // A summary left by an earlier search in this folder is not this step's.
    let summary_path = folder.join("summary.json");
    if summary_path.exists() {
        std::fs::remove_file(&summary_path)
            .with_context(|| format!("removing the earlier {}", summary_path.display()))?;
    }
    let log_path = folder.join("loadgen.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let run_id = format!("{}-{voters}", settings.run_id);
    let mut command = Command::new(exe);
    command
        .args(&settings.run_options)
        .args(CapacityCli::step_options(
            voters,
            folder,
            &run_id,
            &settings.slos,
        ))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    for var in DECIDED_ENV {
        command.env_remove(var);
    }
    let status = match command.status() {
        Ok(status) => status,
        Err(e) => return Ok(Step::not_started(voters, e.to_string())),
    };
    let said = std::fs::read_to_string(&log_path)
        .ok()
        .and_then(|l| capacity::error_line(&l));
    Ok(Step::judge(
        voters,
        status.code(),
        &format!("ended with {status}"),
        Summary::read(folder),
        &run_id,
        said,
    ))
}
