//! The Kubernetes manifests of `deploy/k8s/` (its README.md tells how to use them): the Indexed
//! Job of loadgen shards, the merge Job, the run's ConfigMap, the target's Secret, the shared
//! volume claim and the report reader. No cluster is needed: the files are validated and
//! compared, and the shell scripts of the merge pod run against a stand-in loadgen
//! (`tests/kubernetes_shards.rs` runs the real thing).
//!
//! What is checked (each failure names the file, the object and the field):
//! - every document of every manifest against the Kubernetes JSON schemas of Kubernetes 1.33
//!   (the first release where every Job feature used is GA) and 1.37, strict (unknown fields
//!   fail), with `kubernetes-validate` from `.venv` at the version scripts/test pins (it
//!   installs it; the test fails, saying so, when it is missing); a document the tool has no
//!   schema for fails too;
//! - the shard Job: Indexed, `parallelism` = `completions` (the host waits for every voter),
//!   `LOADGEN_SHARDS` = `completions`; every flag given to loadgen is one of
//!   `loadgen::cli::Cli`, and each pod's options (args and the environment loadgen reads) parse
//!   with it to shard `i` of `completions` of one run id, a report folder of its own on the
//!   shared claim, `--created` = shard 0's `created.json`, a target and its secrets; at most
//!   15,000 voters a shard; `activeDeadlineSeconds` above loadgen's own deadline; every env
//!   variable is read by loadgen or by the command;
//! - the merge Job: its flags are `loadgen::cli::MergeCli`'s and parse; its script hands loadgen
//!   merge exactly the `completions` shard folders, in order (run with a stand-in loadgen); its
//!   wait fails while one shard report is missing and ends once all are there; it waits longer
//!   than the shards may run and stops by itself after that; same run id and shard count;
//! - every pod: each claim is a PersistentVolumeClaim of the manifests (ReadWriteMany when
//!   several pods share it), each mount a volume of the pod, each ConfigMap / Secret key it
//!   reads is defined; the image is the compose file's loadgen image (the Dockerfile's `loadgen`
//!   stage, which puts loadgen in /usr/local/bin) run as the Dockerfile's APP_UID; Jobs use
//!   `restartPolicy: Never`, stop by themselves (`activeDeadlineSeconds`), limit retries, and
//!   their pod failure policies name their containers;
//! - the kubelet's `$(VAR)` expansion and environment order (the emulation relies on them).
//!
//! `LCR_K8S_DIR` checks another folder of manifests; `LCR_KUBERNETES_VALIDATE` names another
//! kubernetes-validate. Run: `cargo test -p lcr-deploy --test kubernetes`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::CommandFactory;
use lcr_deploy::assert_no_failures;
use lcr_deploy::compose::Compose;
use lcr_deploy::dockerfile::dockerfile_stages;
use lcr_deploy::flags::{env_flags, long_flags};
use lcr_deploy::k8s::{
    COMPLETION_INDEX_ENV, Manifests, Object, PodFacts, claim_mounts, container_env, container_name,
    expand, image_repository, loadgen_call, relocate, scalar_text,
};
use serde_yaml::Value;
use support::{Local, completions, env_of, flags_in, fresh_dir, merge_cli, shard_cli};

/// Kubernetes versions the manifests are validated against: 1.33 is the first where
/// `backoffLimitPerIndex` (and so every Job feature they use) is GA; 1.37 is the newest the
/// pinned kubernetes-validate carries.
const KUBERNETES_VERSIONS: &[&str] = &["1.33.0", "1.37.0"];
/// Voters one shard may drive: one socket each, and one process holds about 20,000 files.
const MAX_VOTERS_PER_SHARD: usize = 15_000;
/// Seconds the shard pods may take to be scheduled and started, on top of loadgen's own time.
const POD_START_SECS: u64 = 60;
/// The variable of the merge Job's wait that bounds it.
const WAIT_VAR: &str = "SHARD_WAIT_SECONDS";

fn none() -> BTreeMap<String, String> {
    BTreeMap::new()
}

// --- schemas -------------------------------------------------------------------------------

/// The kubernetes-validate version scripts/test installs (`KUBERNETES_VALIDATE_VERSION=`).
fn pinned_validator_version() -> String {
    let script = lcr_deploy::workspace_root().join("scripts").join("test");
    lcr_deploy::read(&script)
        .lines()
        .find_map(|l| l.strip_prefix("KUBERNETES_VALIDATE_VERSION="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .unwrap_or_else(|| panic!("{}: no KUBERNETES_VALIDATE_VERSION= line", script.display()))
}

#[test]
fn manifests_match_the_kubernetes_schemas() {
    let manifests = Manifests::load();
    let pinned = pinned_validator_version();
    let tool = std::env::var_os("LCR_KUBERNETES_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| lcr_deploy::workspace_root().join(".venv/bin/kubernetes-validate"));
    let install = format!(
        "scripts/test installs it; by hand: python3 -m venv .venv && \
         .venv/bin/pip install kubernetes-validate=={pinned}"
    );
    assert!(
        tool.is_file(),
        "kubernetes-validate is not installed (no {}): {install}",
        tool.display()
    );
    let version = Command::new(&tool)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}; {install}", tool.display()));
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    assert_eq!(
        version,
        pinned,
        "{} is kubernetes-validate {version:?}, scripts/test pins {pinned}: {install}",
        tool.display()
    );
    let mut failures = Vec::new();
    for k8s in KUBERNETES_VERSIONS {
        let out = Command::new(&tool)
            .args(["--strict", "--kubernetes-version", k8s])
            .args(&manifests.files)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", tool.display()));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // ERROR: a schema violation; WARN: no schema for the kind (exit 0 all the same);
        // FATAL: a Kubernetes version the tool does not carry.
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if !line.starts_with("INFO ") {
                failures.push(format!("Kubernetes {k8s}: {line}"));
            }
        }
        for object in &manifests.objects {
            let passed = format!(
                "INFO {} passed for resource {}/{} against version",
                object.file.display(),
                object.kind().to_lowercase(),
                object.name()
            );
            if !text.lines().any(|l| l.starts_with(&passed)) {
                failures.push(format!(
                    "{}: not validated against Kubernetes {k8s}",
                    object.at()
                ));
            }
        }
        if !out.status.success() && failures.is_empty() {
            failures.push(format!(
                "kubernetes-validate -k {k8s} exited with {}:\n{text}",
                out.status
            ));
        }
    }
    assert_no_failures("deploy/k8s: kubernetes-validate --strict", failures);
}

// --- the shard Job -------------------------------------------------------------------------

/// Every variable name a shell script or a `$(VAR)` argument refers to.
fn referenced_vars(texts: &[String]) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    for text in texts {
        let bytes: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == '$' && i + 1 < bytes.len() {
                let (start, close) = match bytes[i + 1] {
                    '(' => (i + 2, Some(')')),
                    '{' => (i + 2, Some('}')),
                    _ => (i + 1, None),
                };
                let mut end = start;
                while end < bytes.len() && (bytes[end].is_alphanumeric() || bytes[end] == '_') {
                    end += 1;
                }
                if end > start && close.is_none_or(|c| bytes.get(end) == Some(&c)) {
                    vars.insert(bytes[start..end].iter().collect());
                }
                i = end.max(i + 1);
            } else {
                i += 1;
            }
        }
    }
    vars
}

/// The command, args and env values of a container as text (for the variables they use).
fn container_texts(container: &Value) -> Vec<String> {
    let mut texts = Vec::new();
    for key in ["command", "args"] {
        texts.extend(
            container
                .get(key)
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(scalar_text),
        );
    }
    texts.extend(
        container
            .get("env")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("value").and_then(scalar_text)),
    );
    texts
}

/// The declared env names of a container (its `env` entries).
fn declared_env(container: &Value) -> Vec<String> {
    container
        .get("env")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Whether `path` lies under one of the mount paths of a claim in `mounts`.
fn on_claim(path: &Path, mounts: &[(String, String)]) -> bool {
    mounts.iter().any(|(m, _)| path.starts_with(m))
}

#[test]
fn shard_job_gives_each_pod_its_own_slice_of_one_run() {
    let manifests = Manifests::load();
    let jobs = manifests.loadgen_jobs().unwrap_or_else(|e| panic!("{e}"));
    let n = completions(&jobs).unwrap_or_else(|e| panic!("{e}"));
    let at = format!(
        "{}, container `{}`",
        jobs.shards.at(),
        container_name(jobs.shard)
    );
    let mut failures = Vec::new();
    match jobs.shards.int("spec.parallelism") {
        Some(p) if usize::try_from(p) == Ok(n) => {}
        p => failures.push(format!(
            "{}, spec.parallelism: {p:?}, must equal spec.completions {n}: the host (shard 0) \
             pushes the first question once the voters of every shard have joined, so all \
             shards run at once",
            jobs.shards.at()
        )),
    }
    // Flags: loadgen's own.
    let cli_command = loadgen::cli::Cli::command();
    let flags = long_flags(&cli_command);
    assert!(
        flags.contains("--report-dir") && flags.contains("--created"),
        "loadgen::cli::Cli has no --report-dir/--created: {flags:?}"
    );
    let call = loadgen_call(jobs.shard).expect("the shard container runs loadgen");
    for flag in flags_in(&call.args) {
        if !flags.contains(&flag) {
            failures.push(format!(
                "{at}, args: `{flag}` is not a flag of loadgen (loadgen::cli::Cli)"
            ));
        }
        if flag == "--shard" || flag == "--shard-index" {
            failures.push(format!(
                "{at}, args: `{flag}` gives every pod the same slice; the index comes from \
                 {COMPLETION_INDEX_ENV}"
            ));
        }
    }
    // LOADGEN_SHARDS = completions.
    match env_of(&manifests, jobs.shards, jobs.shard, Some(0), &none()) {
        Err(e) => failures.push(e),
        Ok(env) => {
            let shards = env.iter().find(|(k, _)| k == "LOADGEN_SHARDS");
            if shards.and_then(|(_, v)| v.trim().parse::<usize>().ok()) != Some(n) {
                failures.push(format!(
                    "{at}, env LOADGEN_SHARDS: {:?}, but spec.completions is {n}: they must be \
                     equal (pod i runs slice i of LOADGEN_SHARDS)",
                    shards.map(|(_, v)| v)
                ));
            }
        }
    }
    // Every variable the container declares is read by loadgen or used by its command.
    let read_by_loadgen = env_flags(&cli_command);
    let used = referenced_vars(&container_texts(jobs.shard));
    for name in declared_env(jobs.shard) {
        if !read_by_loadgen.contains_key(&name) && !used.contains(&name) {
            failures.push(format!(
                "{at}, env `{name}`: neither loadgen (loadgen::cli::Cli reads {}) nor the \
                 command uses it",
                read_by_loadgen
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    // Each pod's options, parsed by loadgen itself.
    let mounts = jobs
        .shards
        .pod_spec()
        .map(|s| claim_mounts(s, jobs.shard))
        .unwrap_or_default();
    let mut clis = Vec::new();
    for i in 0..n {
        match shard_cli(&manifests, &jobs, i, &none()) {
            Ok(cli) => clis.push(cli),
            Err(e) => failures.push(e),
        }
    }
    if clis.len() == n {
        let dirs: Vec<Option<PathBuf>> = clis.iter().map(|c| c.report_dir.clone()).collect();
        for (i, cli) in clis.iter().enumerate() {
            let pod = format!("{at} (pod {i})");
            if cli.shard != Some((i, n)) {
                failures.push(format!(
                    "{pod}: loadgen runs shard {:?}, not {i}/{n}",
                    cli.shard
                ));
            }
            if cli.run_id.is_none() || cli.run_id != clis[0].run_id {
                failures.push(format!(
                    "{pod}: run id {:?}, pod 0's is {:?}: every shard needs the same one \
                     (LOADGEN_RUN_ID or --run-id)",
                    cli.run_id, clis[0].run_id
                ));
            }
            match &cli.report_dir {
                None => failures.push(format!(
                    "{pod}: no --report-dir (or LOADGEN_REPORT_DIR): the report would stay in the pod"
                )),
                Some(dir) => {
                    if dirs.iter().filter(|d| d.as_ref() == Some(dir)).count() > 1 {
                        failures.push(format!(
                            "{pod}, --report-dir {}: another pod writes there too (use $({COMPLETION_INDEX_ENV}))",
                            dir.display()
                        ));
                    }
                    if !on_claim(dir, &mounts) {
                        failures.push(format!(
                            "{pod}, --report-dir {}: not on the persistent volume claim (mounts: {mounts:?}): the merge would not see it",
                            dir.display()
                        ));
                    }
                }
            }
            let created = dirs[0].as_ref().map(|d| d.join("created.json"));
            if cli.created.is_none() || cli.created != created {
                failures.push(format!(
                    "{pod}, --created: {:?}, must be shard 0's {:?} (shard 0 creates the \
                     conference and writes it there; the others join it)",
                    cli.created, created
                ));
            }
            if cli.profile.is_none() {
                if cli.targets.is_empty() {
                    failures.push(format!(
                        "{pod}: no target (LOADGEN_TARGET, --target or a profile): loadgen would \
                         test a server in its own process"
                    ));
                }
                if cli.jwt_secret.is_none() || cli.admin_token.is_none() {
                    failures.push(format!(
                        "{pod}: JWT_SECRET and ADMIN_TOKEN must be set (the Secret), or a profile"
                    ));
                }
            }
        }
        let cli = &clis[0];
        let workload = match cli.workload() {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{at}: {e}"));
                return assert_no_failures("deploy/k8s: the shard Job", failures);
            }
        };
        let voters = workload.voters();
        let per_shard = voters.div_ceil(n);
        if per_shard > MAX_VOTERS_PER_SHARD {
            failures.push(format!(
                "{at}: {} voters over {n} shards is {per_shard} a shard, above \
                 {MAX_VOTERS_PER_SHARD} (one socket per voter, about 20,000 files per \
                 process): use more shards",
                voters
            ));
        }
        // loadgen's own deadline, after waiting for created.json.
        let run_secs = workload.deadline().as_secs();
        let needed = cli.created_wait + run_secs + POD_START_SECS;
        match jobs.shards.int("spec.activeDeadlineSeconds") {
            Some(d) if u64::try_from(d).is_ok_and(|d| d >= needed) => {}
            d => failures.push(format!(
                "{}, spec.activeDeadlineSeconds: {d:?}, below {needed} s (--created-wait {} + \
                 loadgen's run deadline {run_secs} + {POD_START_SECS} to start the pods): the \
                 Job would stop the run",
                jobs.shards.at(),
                cli.created_wait
            )),
        }
    }
    assert_no_failures("deploy/k8s: the shard Job", failures);
}

// --- the merge Job -------------------------------------------------------------------------

/// The env value `name` of a container, resolved.
fn env_value(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

#[test]
fn merge_job_waits_for_every_shard_and_merges_them() {
    let manifests = Manifests::load();
    let jobs = manifests.loadgen_jobs().unwrap_or_else(|e| panic!("{e}"));
    let n = completions(&jobs).unwrap_or_else(|e| panic!("{e}"));
    let at = format!(
        "{}, container `{}`",
        jobs.merge_job.at(),
        container_name(jobs.merge)
    );
    let mut failures = Vec::new();
    let shard_clis: Vec<loadgen::cli::Cli> = (0..n)
        .map(|i| shard_cli(&manifests, &jobs, i, &none()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let shard_dirs: Vec<String> = shard_clis
        .iter()
        .map(|c| {
            c.report_dir
                .as_ref()
                .expect("the shard Job's test checks --report-dir")
                .display()
                .to_string()
        })
        .collect();
    // Flags: `loadgen merge`'s own, parsing with the shard folders.
    let merge_flags = long_flags(&loadgen::cli::MergeCli::command());
    let call = loadgen_call(jobs.merge).expect("the merge container runs loadgen merge");
    for flag in flags_in(&call.args) {
        if !merge_flags.contains(&flag) {
            failures.push(format!(
                "{at}, args: `{flag}` is not a flag of loadgen merge (loadgen::cli::MergeCli)"
            ));
        }
    }
    match merge_cli(&manifests, &jobs, &shard_dirs, &none()) {
        Err(e) => failures.push(e),
        Ok(cli) => {
            if shard_dirs.iter().any(|d| cli.report_dir.starts_with(d)) {
                failures.push(format!(
                    "{at}, --report-dir {}: inside a shard's report folder",
                    cli.report_dir.display()
                ));
            }
            let mounts = jobs
                .merge_job
                .pod_spec()
                .map(|s| claim_mounts(s, jobs.merge))
                .unwrap_or_default();
            if !on_claim(&cli.report_dir, &mounts) {
                failures.push(format!(
                    "{at}, --report-dir {}: not on the persistent volume claim (mounts: {mounts:?})",
                    cli.report_dir.display()
                ));
            }
        }
    }
    // The same run and shard count as the shards.
    let Some(wait) = jobs.wait else {
        failures.push(format!(
            "{}: no init container waits for the shards' reports",
            jobs.merge_job.at()
        ));
        return assert_no_failures("deploy/k8s: the merge Job", failures);
    };
    for container in [jobs.merge, wait] {
        let here = format!(
            "{}, container `{}`",
            jobs.merge_job.at(),
            container_name(container)
        );
        match env_of(&manifests, jobs.merge_job, container, None, &none()) {
            Err(e) => failures.push(e),
            Ok(env) => {
                if env_value(&env, "LOADGEN_SHARDS").and_then(|v| v.trim().parse().ok()) != Some(n)
                {
                    failures.push(format!(
                        "{here}, env LOADGEN_SHARDS: {:?}, but the shard Job's completions is {n}",
                        env_value(&env, "LOADGEN_SHARDS")
                    ));
                }
                if env_value(&env, "LOADGEN_RUN_ID") != shard_clis[0].run_id {
                    failures.push(format!(
                        "{here}, env LOADGEN_RUN_ID: {:?}, the shards' run id is {:?}",
                        env_value(&env, "LOADGEN_RUN_ID"),
                        shard_clis[0].run_id
                    ));
                }
            }
        }
    }
    // Bounded, and long enough.
    let shard_deadline = jobs.shards.int("spec.activeDeadlineSeconds");
    let waits = env_of(&manifests, jobs.merge_job, wait, None, &none())
        .ok()
        .and_then(|env| env_value(&env, WAIT_VAR))
        .and_then(|v| v.trim().parse::<i64>().ok());
    match (waits, shard_deadline) {
        (Some(w), Some(d)) if w >= d => {}
        (w, d) => failures.push(format!(
            "{}, container `{}`, env {WAIT_VAR}: {w:?}, must be at least the shard Job's \
             activeDeadlineSeconds {d:?} (by then every shard has finished)",
            jobs.merge_job.at(),
            container_name(wait)
        )),
    }
    match (jobs.merge_job.int("spec.activeDeadlineSeconds"), waits) {
        (Some(d), Some(w)) if d > w + 60 => {}
        (d, w) => failures.push(format!(
            "{}, spec.activeDeadlineSeconds: {d:?}, must exceed the wait {w:?} by more than \
             60 s (the merge itself)",
            jobs.merge_job.at()
        )),
    }

    // The scripts, run as the pod would run them, with a stand-in loadgen that records its
    // arguments.
    let tmp = fresh_dir("k8s-merge-scripts");
    let (data, bin, work) = (tmp.join("data"), tmp.join("bin"), tmp.join("work"));
    for d in [&data, &bin, &work] {
        std::fs::create_dir_all(d).expect("temp folders");
    }
    let recorded = tmp.join("argv");
    let stub = bin.join("loadgen");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            recorded.display()
        ),
    )
    .expect("stand-in loadgen");
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(&stub)
        .status()
        .expect("chmod");
    let local = Local {
        manifests: &manifests,
        overrides: BTreeMap::from([(WAIT_VAR.to_owned(), "0".to_owned())]),
        data: data.clone(),
        bin,
        work,
    };
    let shard_mount = jobs
        .shards
        .pod_spec()
        .map(|s| claim_mounts(s, jobs.shard))
        .unwrap_or_default();
    let local_path = |p: &str| {
        shard_mount
            .iter()
            .fold(p.to_owned(), |s, (m, _)| relocate(&s, m, &data))
    };
    let local_dirs: Vec<String> = shard_dirs.iter().map(|d| local_path(d)).collect();

    // The merge gets shard-0 … shard-(n-1), then its args.
    let mut merge = local
        .prepare(jobs.merge_job, jobs.merge, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = merge.command.output().expect("running the merge script");
    if !out.status.success() {
        failures.push(format!(
            "{at}: the script failed ({}) with a stand-in loadgen: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    } else {
        let got: Vec<String> = std::fs::read_to_string(&recorded)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        let env = env_of(&manifests, jobs.merge_job, jobs.merge, None, &none()).unwrap_or_default();
        let mut expected = vec!["merge".to_owned()];
        expected.extend(local_dirs.iter().cloned());
        expected.extend(
            support::loadgen_args(jobs.merge, &env)
                .iter()
                .map(|a| local_path(a)),
        );
        if got != expected {
            failures.push(format!(
                "{at}: the script runs loadgen with {got:?}, expected {expected:?} (loadgen \
                 merge, the {n} shard folders in order, the args)"
            ));
        }
    }

    // The wait: fails while one shard's report is missing (an earlier run's extra shard does
    // not count), ends once every one is there.
    let write_report = |dir: &str| {
        std::fs::create_dir_all(dir).expect("shard folder");
        for f in ["shard.json", "summary.json"] {
            std::fs::write(Path::new(dir).join(f), "{}").expect("shard file");
        }
    };
    let wait_at = format!(
        "{}, container `{}`",
        jobs.merge_job.at(),
        container_name(wait)
    );
    for dir in &local_dirs[..n - 1] {
        write_report(dir);
    }
    let last = &local_dirs[n - 1];
    if let Some(extra) = last.strip_suffix(&(n - 1).to_string()) {
        write_report(&format!("{extra}{n}"));
    }
    let mut prepared = local
        .prepare(jobs.merge_job, wait, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = prepared.command.output().expect("running the wait script");
    let missing_name = Path::new(last)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    if out.status.success() {
        failures.push(format!(
            "{wait_at}: ended with {missing_name} missing ({WAIT_VAR}=0)"
        ));
    } else if !String::from_utf8_lossy(&out.stderr).contains(&missing_name) {
        failures.push(format!(
            "{wait_at}: gave up without naming {missing_name}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    write_report(last);
    let mut prepared = local
        .prepare(jobs.merge_job, wait, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let out = prepared.command.output().expect("running the wait script");
    if !out.status.success() {
        failures.push(format!(
            "{wait_at}: failed ({}) though every shard's report is there: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    assert_no_failures("deploy/k8s: the merge Job", failures);
}

// --- every pod -----------------------------------------------------------------------------

/// `ARG NAME=value` of the Dockerfile.
fn dockerfile_arg(text: &str, name: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("ARG {name}=")))
        .map(|v| v.trim().to_owned())
}

#[test]
fn claims_configs_images_and_failure_policies_hold_together() {
    let manifests = Manifests::load();
    let mut failures = Vec::new();
    let root = lcr_deploy::workspace_root();
    let dockerfile = lcr_deploy::read(&root.join("Dockerfile"));
    let stages = dockerfile_stages(&dockerfile);
    match stages.get("loadgen") {
        None => failures.push("Dockerfile: no stage `loadgen` (the manifests' image)".into()),
        Some(stage) => {
            let copies_loadgen = stage.iter().any(|i| {
                let words: Vec<&str> = i.split_whitespace().collect();
                words.first() == Some(&"COPY")
                    && words
                        .last()
                        .is_some_and(|d| d.trim_end_matches('/') == support::IMAGE_BIN)
                    && words.iter().any(|w| w.ends_with("/loadgen"))
            });
            if !copies_loadgen {
                failures.push(format!(
                    "Dockerfile stage `loadgen`: does not COPY loadgen into {} (the manifests run `loadgen` from the PATH)",
                    support::IMAGE_BIN
                ));
            }
        }
    }
    let uid = dockerfile_arg(&dockerfile, "APP_UID");
    let compose = Compose::load();
    let image = compose
        .service("loadgen")
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let image_name = image_repository(&image)
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        !image_name.is_empty(),
        "docker-compose.yml: service `loadgen` has no image"
    );

    let claims: BTreeMap<&str, &Object> = manifests
        .of_kind("PersistentVolumeClaim")
        .map(|c| (c.name(), c))
        .collect();
    let mut claim_users: BTreeMap<String, usize> = BTreeMap::new();
    for object in &manifests.objects {
        let Some(spec) = object.pod_spec() else {
            continue;
        };
        let at = object.at();
        let volumes: BTreeMap<&str, &Value> = spec
            .get("volumes")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|v| Some((v.get("name")?.as_str()?, v)))
            .collect();
        let pods = if object.kind() == "Job" {
            object.int("spec.parallelism").unwrap_or(1).max(1) as usize
        } else {
            1
        };
        for (name, volume) in &volumes {
            if let Some(claim) = volume
                .get("persistentVolumeClaim")
                .and_then(|c| c.get("claimName"))
                .and_then(Value::as_str)
            {
                if claims.contains_key(claim) {
                    *claim_users.entry(claim.to_owned()).or_default() += pods;
                } else {
                    failures.push(format!(
                        "{at}, volume `{name}`: claimName `{claim}` is no PersistentVolumeClaim of the manifests ({:?})",
                        claims.keys().collect::<Vec<_>>()
                    ));
                }
            }
        }
        if let Some(expected) = &uid {
            let run_as = spec
                .get("securityContext")
                .and_then(|s| s.get("runAsUser"))
                .and_then(Value::as_i64);
            if run_as.is_some_and(|u| u.to_string() != *expected) {
                failures.push(format!(
                    "{at}, spec.securityContext.runAsUser: {run_as:?}, the image's user is APP_UID {expected} (Dockerfile)"
                ));
            }
        }
        let names: Vec<&str> = object
            .containers()
            .iter()
            .map(|(_, c)| container_name(c))
            .collect();
        for (_, container) in object.containers() {
            let here = format!("{at}, container `{}`", container_name(container));
            let image = container.get("image").and_then(Value::as_str).unwrap_or("");
            let repo = image_repository(image);
            if repo.rsplit('/').next() != Some(image_name.as_str()) {
                failures.push(format!(
                    "{here}, image: `{image}` is not the loadgen image (`{image_name}`, the \
                     Dockerfile's target loadgen, as docker-compose.yml's service loadgen)"
                ));
            }
            for mount in container
                .get("volumeMounts")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let name = mount.get("name").and_then(Value::as_str).unwrap_or("");
                if !volumes.contains_key(name) {
                    failures.push(format!(
                        "{here}, volumeMounts: `{name}` is not a volume of the pod"
                    ));
                }
            }
            let index = object.is_indexed_job().then_some(0);
            if let Err(e) = container_env(
                &manifests,
                &at,
                container,
                &PodFacts {
                    completion_index: index,
                },
                &none(),
            ) {
                failures.push(e);
            }
        }
        if object.kind() == "Job" {
            let restart = spec.get("restartPolicy").and_then(Value::as_str);
            if restart != Some("Never") {
                failures.push(format!(
                    "{at}, spec.template.spec.restartPolicy: {restart:?}, must be Never (a \
                     restarted loadgen would run its voters again in the same run)"
                ));
            }
            if object.int("spec.activeDeadlineSeconds").is_none() {
                failures.push(format!(
                    "{at}, spec.activeDeadlineSeconds: missing; the Job must stop by itself"
                ));
            }
            if object.int("spec.backoffLimit").is_none()
                && object.int("spec.backoffLimitPerIndex").is_none()
            {
                failures.push(format!(
                    "{at}, spec.backoffLimit: missing (the default retries 6 times)"
                ));
            }
            for rule in object
                .get("spec.podFailurePolicy.rules")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(name) = rule
                    .get("onExitCodes")
                    .and_then(|c| c.get("containerName"))
                    .and_then(Value::as_str)
                    && !names.contains(&name)
                {
                    failures.push(format!(
                        "{at}, spec.podFailurePolicy: containerName `{name}` is not a container of the pod ({names:?})"
                    ));
                }
            }
        }
    }
    for (name, users) in &claim_users {
        let modes = strings_at(claims[name.as_str()], "spec.accessModes");
        if *users > 1 && !modes.iter().any(|m| m == "ReadWriteMany") {
            failures.push(format!(
                "{}, spec.accessModes: {modes:?}, but {users} pods mount it at once: ReadWriteMany",
                claims[name.as_str()].at()
            ));
        }
    }
    if claim_users.is_empty() {
        failures.push("deploy/k8s: no pod mounts a PersistentVolumeClaim of the manifests".into());
    }
    assert_no_failures("deploy/k8s", failures);
}

fn strings_at(object: &Object, path: &str) -> Vec<String> {
    object
        .get(path)
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(scalar_text)
        .collect()
}

// --- the kubelet's rules -------------------------------------------------------------------

#[test]
fn expansion_and_environment_follow_the_kubelet() {
    // Kubernetes' own cases (third_party/forked/golang/expansion/expand_test.go).
    let vars = |n: &str| {
        match n {
            "VAR_A" => Some("A"),
            "VAR_B" => Some("B"),
            "VAR_C" => Some("C"),
            "VAR_REF" => Some("$(VAR_A)"),
            "VAR_EMPTY" => Some(""),
            _ => None,
        }
        .map(str::to_owned)
    };
    for (input, expected) in [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
        ("$(VAR_REF)", "$(VAR_A)"),
        ("foo$(VAR_EMPTY)bar", "foobar"),
        ("$(VAR_DNE)", "$(VAR_DNE)"),
        ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
        ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
        ("f000-$$VAR_A", "f000-$VAR_A"),
        ("$(VAR_A", "$(VAR_A"),
        ("$VAR_A", "$VAR_A"),
        ("$()", "$()"),
        ("$", "$"),
        ("$$", "$"),
        ("x$(VAR_A)$", "xA$"),
    ] {
        assert_eq!(expand(input, vars), expected, "expand({input:?})");
    }

    // The environment: envFrom first, then env in order, each value expanded with what came
    // before it; the completion index is appended last, so an env value cannot use it but the
    // args can.
    let yaml = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: run}
data: {RUN: r1, SHARDS: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {TOKEN: dG9rZW4=}
stringData: {OTHER: plain}
"#;
    let objects: Vec<Object> = serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Object {
            file: PathBuf::from("test.yaml"),
            doc: serde::Deserialize::deserialize(d).expect("yaml"),
        })
        .collect();
    let manifests = Manifests {
        dir: PathBuf::from("test"),
        files: vec![PathBuf::from("test.yaml")],
        objects,
    };
    let container: Value = serde_yaml::from_str(
        r#"
name: c
command: [loadgen]
args: ["--report-dir", "/data/$(RUN)/shard-$(JOB_COMPLETION_INDEX)", "$$(RUN)", "$(LATER)"]
envFrom:
  - configMapRef: {name: run}
    prefix: CM_
env:
  - {name: EARLY, value: "$(LATER)-$(CM_RUN)"}
  - {name: RUN, valueFrom: {configMapKeyRef: {name: run, key: RUN}}}
  - {name: TOKEN, valueFrom: {secretKeyRef: {name: s, key: TOKEN}}}
  - {name: OTHER, valueFrom: {secretKeyRef: {name: s, key: OTHER}}}
  - {name: DIR, value: "/data/$(RUN)/shard-$(JOB_COMPLETION_INDEX)"}
  - {name: LATER, value: late}
  - {name: MISSING, valueFrom: {configMapKeyRef: {name: run, key: NOPE, optional: true}}}
"#,
    )
    .expect("container yaml");
    let pod = PodFacts {
        completion_index: Some(2),
    };
    let env = container_env(&manifests, "test", &container, &pod, &none()).expect("env");
    let get = |n: &str| env_value(&env, n);
    assert_eq!(get("CM_RUN").as_deref(), Some("r1"));
    assert_eq!(get("CM_SHARDS").as_deref(), Some("3"));
    assert_eq!(get("EARLY").as_deref(), Some("$(LATER)-r1"));
    assert_eq!(get("TOKEN").as_deref(), Some("token"));
    assert_eq!(get("OTHER").as_deref(), Some("plain"));
    assert_eq!(
        get("DIR").as_deref(),
        Some("/data/r1/shard-$(JOB_COMPLETION_INDEX)")
    );
    assert_eq!(get("MISSING").as_deref(), Some(""));
    assert_eq!(
        env.last().map(|(k, v)| (k.as_str(), v.as_str())),
        Some(("JOB_COMPLETION_INDEX", "2"))
    );
    assert_eq!(
        lcr_deploy::k8s::command_line(&container, &env),
        [
            "loadgen",
            "--report-dir",
            "/data/r1/shard-2",
            "$(RUN)",
            "late"
        ]
    );
    // Overrides take the variable's place; a missing key fails naming the container and key.
    let overridden = container_env(
        &manifests,
        "test",
        &container,
        &pod,
        &BTreeMap::from([("RUN".to_owned(), "r2".to_owned())]),
    )
    .expect("env");
    assert_eq!(
        env_value(&overridden, "DIR").as_deref(),
        Some("/data/r2/shard-$(JOB_COMPLETION_INDEX)")
    );
    let broken: Value = serde_yaml::from_str(
        "name: c\nenv:\n  - {name: X, valueFrom: {configMapKeyRef: {name: run, key: NOPE}}}\n",
    )
    .expect("yaml");
    let err = container_env(&manifests, "f.yaml, Job `j`", &broken, &pod, &none()).unwrap_err();
    assert!(
        err.contains("f.yaml, Job `j`, container `c`, env `X`") && err.contains("NOPE"),
        "{err}"
    );
    // What a script and $(VAR) refer to.
    assert_eq!(
        referenced_vars(&["a $(A) ${B} $C $$ $(d".to_owned()]),
        BTreeSet::from(["A".to_owned(), "B".to_owned(), "C".to_owned()])
    );
}
