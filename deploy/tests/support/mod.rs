//! What `tests/kubernetes.rs` and `tests/kubernetes_shards.rs` share: loadgen's options as a
//! shard or merge pod would give them, and a container of the manifests run as a local
//! process, as the kubelet would start it in its pod.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{CommandFactory, FromArgMatches};
use lcr_deploy::k8s::{
    LoadgenJobs, Manifests, Object, PodFacts, claim_mounts, command_line, container_env,
    container_name, expand, loadgen_call, relocate,
};
use serde_yaml::Value;

/// Where the loadgen image has its binaries: the Dockerfile copies loadgen there.
pub const IMAGE_BIN: &str = "/usr/local/bin";
/// The loadgen image's PATH: debian's, which the Dockerfile's `loadgen` stage keeps.
pub const IMAGE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The shard count: the shard Job's `spec.completions`.
pub fn completions(jobs: &LoadgenJobs) -> Result<usize, String> {
    jobs.shards
        .int("spec.completions")
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("{}, spec.completions: missing or below 1", jobs.shards.at()))
}

/// A container's environment in the pod of `job` (the completion index `index` for the
/// Indexed Job's pods), with `overrides`.
pub fn env_of(
    manifests: &Manifests,
    job: &Object,
    container: &Value,
    index: Option<usize>,
    overrides: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    container_env(
        manifests,
        &job.at(),
        container,
        &PodFacts {
            completion_index: index,
        },
        overrides,
    )
}

/// loadgen's own arguments in a container (after `merge` for the merge), `$(VAR)` expanded from
/// its environment.
pub fn loadgen_args(container: &Value, env: &[(String, String)]) -> Vec<String> {
    let call = loadgen_call(container).unwrap_or_else(|| {
        panic!(
            "container `{}` does not run loadgen",
            container_name(container)
        )
    });
    call.args
        .iter()
        .map(|a| {
            expand(a, |n| {
                env.iter()
                    .rev()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
            })
        })
        .collect()
}

/// The `--long` names among `args` (`--flag` and `--flag=value`).
pub fn flags_in(args: &[String]) -> Vec<String> {
    args.iter()
        .filter(|a| a.starts_with("--"))
        .map(|a| a.split('=').next().unwrap_or(a).to_owned())
        .collect()
}

/// loadgen's options as the shard pod `index` gives them: its args, and the environment
/// variables loadgen reads (each as its flag, unless the args give the flag), parsed by
/// `loadgen::cli::Cli` itself with the shard settled (`Cli::settle_shard`). The test process's
/// own environment is not read.
pub fn shard_cli(
    manifests: &Manifests,
    jobs: &LoadgenJobs,
    index: usize,
    overrides: &BTreeMap<String, String>,
) -> Result<loadgen::cli::Cli, String> {
    let at = format!(
        "{}, container `{}` (index {index})",
        jobs.shards.at(),
        container_name(jobs.shard)
    );
    let env = env_of(manifests, jobs.shards, jobs.shard, Some(index), overrides)?;
    let mut argv = vec!["loadgen".to_owned()];
    argv.extend(loadgen_args(jobs.shard, &env));
    let command = loadgen::cli::Cli::command();
    let given = flags_in(&argv);
    for (var, long) in lcr_deploy::flags::env_flags(&command) {
        if let Some((_, value)) = env.iter().rev().find(|(k, _)| *k == var)
            && !given.contains(&format!("--{long}"))
        {
            argv.push(format!("--{long}={value}"));
        }
    }
    // Only what the pod gives: no variable of the test process.
    let command = command.mut_args(|a| a.env(None::<&'static str>));
    let matches = command
        .try_get_matches_from(&argv)
        .map_err(|e| format!("{at}: loadgen rejects {argv:?}: {}", first_line(&e)))?;
    let mut cli = loadgen::cli::Cli::from_arg_matches(&matches)
        .map_err(|e| format!("{at}: {}", first_line(&e)))?;
    cli.settle_shard().map_err(|e| format!("{at}: {e}"))?;
    Ok(cli)
}

/// `loadgen merge`'s options from `dirs` and the merge container's args, parsed by
/// `loadgen::cli::MergeCli`.
pub fn merge_cli(
    manifests: &Manifests,
    jobs: &LoadgenJobs,
    dirs: &[String],
    overrides: &BTreeMap<String, String>,
) -> Result<loadgen::cli::MergeCli, String> {
    let at = format!(
        "{}, container `{}`",
        jobs.merge_job.at(),
        container_name(jobs.merge)
    );
    let env = env_of(manifests, jobs.merge_job, jobs.merge, None, overrides)?;
    let mut argv = vec!["merge".to_owned()];
    argv.extend(dirs.iter().cloned());
    argv.extend(loadgen_args(jobs.merge, &env));
    let command = loadgen::cli::MergeCli::command().mut_args(|a| a.env(None::<&'static str>));
    let matches = command
        .try_get_matches_from(&argv)
        .map_err(|e| format!("{at}: loadgen merge rejects {argv:?}: {}", first_line(&e)))?;
    loadgen::cli::MergeCli::from_arg_matches(&matches)
        .map_err(|e| format!("{at}: {}", first_line(&e)))
}

fn first_line(e: &clap::Error) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// Runs containers of the manifests as local processes, as the kubelet would start them: the
/// command and args with `$(VAR)` expanded, exactly the container's environment (from the
/// ConfigMaps and Secrets of the manifests, with the completion index of an Indexed Job's pod)
/// and the image's PATH, and nothing of the test process's environment. What differs from a
/// pod, and only that:
///
/// - the persistent volume claim is a local folder (`data`): every path under the container's
///   mount path (`/data`) in its command, args and env names that folder instead;
/// - the variables in `overrides` take these values where the container defines them (the
///   target URL, the run's size);
/// - the image's `/usr/local/bin` (where the Dockerfile puts loadgen) is the folder `bin`;
/// - the working folder is `work`, not the image's `/app`, and the variables a runtime adds
///   (`HOSTNAME`, `HOME`, the `KUBERNETES_*` of the API server) are not set: loadgen reads none.
pub struct Local<'a> {
    pub manifests: &'a Manifests,
    pub overrides: BTreeMap<String, String>,
    pub data: PathBuf,
    pub bin: PathBuf,
    pub work: PathBuf,
}

/// One container ready to start: the command and the environment it gets.
pub struct Prepared {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub command: Command,
}

impl Local<'_> {
    /// `container` of `job`'s pod (completion index `index`), ready to start.
    pub fn prepare(
        &self,
        job: &Object,
        container: &Value,
        index: Option<usize>,
    ) -> Result<Prepared, String> {
        let at = format!("{}, container `{}`", job.at(), container_name(container));
        let pod_spec = job
            .pod_spec()
            .ok_or_else(|| format!("{}: no pod spec", job.at()))?;
        let mounts = claim_mounts(pod_spec, container);
        let env = env_of(self.manifests, job, container, index, &self.overrides)?;
        let mut argv = command_line(container, &env);
        if argv.is_empty() {
            return Err(format!(
                "{at}: no command (the image's own command is not emulated)"
            ));
        }
        let localize = |s: &str| {
            mounts
                .iter()
                .fold(s.to_owned(), |s, (path, _)| relocate(&s, path, &self.data))
        };
        argv = argv.iter().map(|a| localize(a)).collect();
        let env: Vec<(String, String)> =
            env.iter().map(|(k, v)| (k.clone(), localize(v))).collect();
        let program = match argv[0].strip_prefix(&format!("{IMAGE_BIN}/")) {
            Some(name) => self.bin.join(name),
            None => PathBuf::from(&argv[0]),
        };
        let path = IMAGE_PATH.replace(IMAGE_BIN, &self.bin.to_string_lossy());
        let mut command = Command::new(program);
        command
            .args(&argv[1..])
            .env_clear()
            .env("PATH", path)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.work);
        Ok(Prepared { argv, env, command })
    }
}

/// A fresh, empty folder under the test's target tmp folder.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}
