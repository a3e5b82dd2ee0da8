//! The shard Job and the merge Job of `deploy/k8s/` emulated on this machine: each pod's
//! container runs as a local process, started as the kubelet would start it, against a
//! reference server on 127.0.0.1, and the merged report must pass.
//!
//! How: the manifests are read; for each index `0..completions` the shard container's command
//! and args run with exactly the environment the pod gets — its `env` entries in order, values
//! from the ConfigMap and the Secret of the manifests, `JOB_COMPLETION_INDEX` appended by the Job
//! controller, `$(VAR)` expanded as the kubelet does — and nothing of the test's own
//! environment but the image's PATH. All shards start at once, with the merge Job's init
//! container (the wait); the merge container starts when the wait has ended, as in its pod.
//!
//! What differs from a cluster (`support::Local`), and only that:
//! - the persistent volume is a temp folder: every path under the mount path (`/data`) in a
//!   container's command, args and env names it instead;
//! - `LOADGEN_TARGET` is the reference server this test starts (the `reference-server` binary of
//!   this workspace on a free port, with the Secret's JWT_SECRET and ADMIN_TOKEN; stopped by
//!   PID), and the run is small: `LOADGEN_VOTERS` 30 a shard, `LOADGEN_QUESTIONS` 1,
//!   `LOADGEN_QUESTION_DURATION` 4 s, in place of the ConfigMap's values;
//! - the image's /usr/local/bin is a folder holding the built `loadgen`;
//! - the working folder is a temp folder, not the image's /app, and the runtime's own variables
//!   (HOSTNAME, HOME, KUBERNETES_*) are not set.
//!
//! Checked: every shard and the merge exit 0; the wait ended only once every shard's report was
//! there; shard 0 wrote `created.json`; the merged report has `summary.json` and `index.html`,
//! says the invariants hold for all voters of all shards, and counts `completions` shards.
//! Bounded: 240 s for the run, every process killed when the test ends.
//!
//! The binaries: `loadgen` and `reference-server` as built for this test (built first when
//! missing or older than their sources; `LCR_LOADGEN_BIN` / `LCR_SERVER_BIN` name others).
//! Run: `cargo test -p lcr-deploy --test kubernetes_shards`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lcr_deploy::k8s::{Manifests, claim_mounts, container_name, relocate};
use lcr_deploy::workspace::built_binaries;
use lcr_testkit::NodeProcess;
use support::{Local, completions, env_of, fresh_dir, merge_cli, shard_cli};

/// Voters each shard drives here.
const VOTERS_PER_SHARD: usize = 30;
/// The one question's seconds.
const QUESTION_SECS: u32 = 4;
/// Shards this test runs at most (it runs every one on this machine).
const MAX_SHARDS: usize = 16;
/// The whole run, shards and merge.
const RUN_TIMEOUT: Duration = Duration::from_secs(240);

/// A container running as a local process, killed when dropped.
struct Running {
    name: String,
    child: Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Running {
    fn start(name: String, mut prepared: support::Prepared, logs: &Path) -> Running {
        let log = logs.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = prepared
            .command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {:?}: {e}", prepared.argv));
        Running {
            name,
            child,
            log,
            exited: None,
        }
    }

    /// Whether it has exited (and how), without waiting.
    fn poll(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().expect("try_wait");
        }
        self.exited
    }

    /// The end of its output.
    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How a process ended, for messages.
fn ended(status: Option<ExitStatus>) -> String {
    status.map_or_else(|| "still running".to_owned(), |s| s.to_string())
}

fn env_value(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

#[test]
fn shard_and_merge_jobs_run_as_the_kubelet_would_start_them() {
    let manifests = Manifests::load();
    let jobs = manifests.loadgen_jobs().unwrap_or_else(|e| panic!("{e}"));
    let n = completions(&jobs).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        n <= MAX_SHARDS,
        "{}, spec.completions: {n}; this test runs every shard on one machine, at most \
         {MAX_SHARDS}: keep the committed manifests' shard count small",
        jobs.shards.at()
    );
    let bins = built_binaries(&[
        ("loadgen", "loadgen", "LCR_LOADGEN_BIN"),
        ("reference-server", "reference-server", "LCR_SERVER_BIN"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let (loadgen_bin, server_bin) = (&bins[0], &bins[1]);

    // The server under test, with the secrets the shard pods get from the Secret.
    let pod_env = env_of(
        &manifests,
        jobs.shards,
        jobs.shard,
        Some(0),
        &BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let secret = |name: &str| {
        env_value(&pod_env, name).unwrap_or_else(|| {
            panic!(
                "{}, container `{}`: no {name} in its env (the Secret)",
                jobs.shards.at(),
                container_name(jobs.shard)
            )
        })
    };
    let (jwt_secret, admin_token) = (secret("JWT_SECRET"), secret("ADMIN_TOKEN"));
    let server = NodeProcess::start(
        server_bin,
        "k8s-emulation",
        &[("JWT_SECRET", &jwt_secret), ("ADMIN_TOKEN", &admin_token)],
    )
    .unwrap_or_else(|e| panic!("reference-server: {e}"));

    let voters = VOTERS_PER_SHARD * n;
    let overrides: BTreeMap<String, String> = [
        ("LOADGEN_TARGET", server.url()),
        ("LOADGEN_VOTERS", voters.to_string()),
        ("LOADGEN_QUESTIONS", "1".to_owned()),
        ("LOADGEN_QUESTION_DURATION", QUESTION_SECS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let clis: Vec<loadgen::cli::Cli> = (0..n)
        .map(|i| shard_cli(&manifests, &jobs, i, &overrides).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let cli = &clis[0];
    let workload = cli.workload().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        workload.voters() == voters
            && workload.questions.count == 1
            && workload.duration(0) == QUESTION_SECS
            && cli.targets == [server.url()],
        "{}: this test sets the run's size and target through LOADGEN_VOTERS, LOADGEN_QUESTIONS, \
         LOADGEN_QUESTION_DURATION and LOADGEN_TARGET, but loadgen would run {} voters, {} \
         questions of {} s against {:?}: take --voters, --questions and --question-duration \
         from these variables",
        jobs.shards.at(),
        workload.voters(),
        workload.questions.count,
        workload.duration(0),
        cli.targets
    );

    let tmp = fresh_dir("k8s-emulation");
    let (data, bin, work, logs) = (
        tmp.join("data"),
        tmp.join("bin"),
        tmp.join("work"),
        tmp.join("logs"),
    );
    for d in [&data, &bin, &work, &logs] {
        std::fs::create_dir_all(d).expect("temp folders");
    }
    std::os::unix::fs::symlink(loadgen_bin, bin.join("loadgen")).expect("bin/loadgen");
    let mounts = jobs
        .shards
        .pod_spec()
        .map(|s| claim_mounts(s, jobs.shard))
        .unwrap_or_default();
    let local_path = |p: &Path| {
        PathBuf::from(
            mounts
                .iter()
                .fold(p.display().to_string(), |s, (m, _)| relocate(&s, m, &data)),
        )
    };
    let shard_dirs: Vec<PathBuf> = clis
        .iter()
        .map(|c| {
            local_path(
                c.report_dir
                    .as_deref()
                    .expect("--report-dir (tests/kubernetes.rs)"),
            )
        })
        .collect();
    let local = Local {
        manifests: &manifests,
        overrides: overrides.clone(),
        data: data.clone(),
        bin,
        work,
    };

    // Every shard pod and the merge pod's wait, at once.
    let started = Instant::now();
    let mut shards: Vec<Running> = (0..n)
        .map(|i| {
            let prepared = local
                .prepare(jobs.shards, jobs.shard, Some(i))
                .unwrap_or_else(|e| panic!("{e}"));
            Running::start(format!("shard-{i}"), prepared, &logs)
        })
        .collect();
    let wait_container = jobs.wait.unwrap_or_else(|| {
        panic!(
            "{}: no init container waits for the shards",
            jobs.merge_job.at()
        )
    });
    let mut wait = Running::start(
        "merge-wait".into(),
        local
            .prepare(jobs.merge_job, wait_container, None)
            .unwrap_or_else(|e| panic!("{e}")),
        &logs,
    );
    let reports_there = || {
        shard_dirs
            .iter()
            .all(|d| d.join("shard.json").is_file() && d.join("summary.json").is_file())
    };
    let mut wait_saw_every_report = None;
    let mut merge: Option<Running> = None;
    loop {
        let shards_done = shards.iter_mut().all(|s| s.poll().is_some());
        if wait_saw_every_report.is_none() && wait.poll().is_some() {
            wait_saw_every_report = Some(reports_there());
            // The kubelet starts the merge container once the init container succeeded.
            if wait.poll().is_some_and(|s| s.success()) {
                merge = Some(Running::start(
                    "merge".into(),
                    local
                        .prepare(jobs.merge_job, jobs.merge, None)
                        .unwrap_or_else(|e| panic!("{e}")),
                    &logs,
                ));
            }
        }
        let merge_done = match (&mut merge, wait.poll()) {
            (Some(m), _) => m.poll().is_some(),
            (None, Some(_)) => true,
            (None, None) => false,
        };
        if shards_done && merge_done {
            break;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let mut all: Vec<&Running> = shards.iter().collect();
            all.push(&wait);
            all.extend(merge.as_ref());
            let state: Vec<String> = all
                .iter()
                .map(|r| format!("{}: {}\n{}", r.name, ended(r.exited), r.tail()))
                .collect();
            panic!(
                "the emulated Jobs did not finish in {} s:\n{}",
                RUN_TIMEOUT.as_secs(),
                state.join("\n---\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = started.elapsed();

    let mut failures = Vec::new();
    for s in &shards {
        if !s.exited.is_some_and(|e| e.success()) {
            failures.push(format!(
                "{} (a pod of {}) ended with {}:\n{}",
                s.name,
                jobs.shards.at(),
                ended(s.exited),
                s.tail()
            ));
        }
    }
    if !wait.exited.is_some_and(|e| e.success()) {
        failures.push(format!(
            "the merge's wait ({}) ended with {}:\n{}",
            jobs.merge_job.at(),
            ended(wait.exited),
            wait.tail()
        ));
    }
    if wait_saw_every_report == Some(false) {
        failures.push(format!(
            "the merge's wait ({}) ended before every shard had written shard.json and summary.json",
            jobs.merge_job.at()
        ));
    }
    match &merge {
        Some(m) if !m.exited.is_some_and(|e| e.success()) => failures.push(format!(
            "the merge ({}) ended with {}:\n{}",
            jobs.merge_job.at(),
            ended(m.exited),
            m.tail()
        )),
        _ => {}
    }
    if !shard_dirs[0].join("created.json").is_file() {
        failures.push(format!(
            "shard 0 wrote no created.json in {}",
            shard_dirs[0].display()
        ));
    }
    lcr_deploy::assert_no_failures("the emulated shard and merge Jobs", failures);

    // The merged report.
    let dirs: Vec<String> = clis
        .iter()
        .map(|c| {
            c.report_dir
                .as_ref()
                .expect("report dir")
                .display()
                .to_string()
        })
        .collect();
    let merged = merge_cli(&manifests, &jobs, &dirs, &overrides)
        .unwrap_or_else(|e| panic!("{e}"))
        .report_dir;
    let merged = local_path(&merged);
    for file in ["summary.json", "index.html"] {
        assert!(
            merged.join(file).is_file(),
            "the merged report has no {file} in {}",
            merged.display()
        );
    }
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(merged.join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json is JSON");
    assert_eq!(
        summary["invariantsOk"], true,
        "merged summary.json: invariants violated: {}",
        summary["violations"]
    );
    assert_eq!(summary["voters"], voters, "merged summary.json: voters");
    assert_eq!(
        summary["run"]["shards"], n,
        "merged summary.json: run.shards"
    );
    let questions = summary["questions"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        questions.len(),
        1,
        "merged summary.json: questions {questions:?}"
    );
    for q in &questions {
        assert_eq!(q["acceptedVotes"], voters, "{q}");
        assert_eq!(q["finalTotalVotes"], voters, "{q}");
    }
    eprintln!(
        "{n} shards of {VOTERS_PER_SHARD} voters and the merge ran in {:.1} s; merged report {}",
        elapsed.as_secs_f64(),
        merged.display()
    );
    drop(server);
}
