//! Checks the deployment files — `Dockerfile`, `docker-compose.yml`, `deploy/nginx.conf`,
//! `.dockerignore` and the Kubernetes manifests of `deploy/k8s/` — against the binaries' real
//! flags and the workspace they are built from. Docker and a cluster are not needed: the files
//! are read and compared; only the Kubernetes emulation runs something (the shard and merge
//! commands, as local processes).
//!
//! The checks are the tests of this crate (`cargo test -p lcr-deploy`):
//!
//! - `tests/compose.rs`, `tests/image.rs`: the compose file and the images;
//! - `tests/kubernetes.rs`: every manifest of `deploy/k8s/` against the Kubernetes JSON schemas
//!   (`kubernetes-validate`, strict, in `.venv`: scripts/test installs it), and what a schema
//!   cannot tell — the shard Job is Indexed with `LOADGEN_SHARDS` = `completions` =
//!   `parallelism`, every flag given to loadgen is one of `loadgen::cli::Cli` (or of
//!   `MergeCli` for the merge) and parses, each shard writes its own folder and reads shard 0's
//!   `created.json`, at most 15,000 voters a shard, the merge waits for exactly `completions`
//!   shard reports and for longer than the shards may run, claim, ConfigMap, Secret and image
//!   names match the manifests and the Dockerfile;
//! - `tests/kubernetes_shards.rs`: the Jobs emulated on one machine — each shard's command as
//!   the kubelet would run it (its env from the ConfigMap and Secret, `JOB_COMPLETION_INDEX`,
//!   `$(VAR)` expanded) against a local reference server, all at once, then the merge's wait
//!   and the merge; the merged report must pass.
//!
//! This library holds what they read the files with:
//!
//! - [`compose`]: the compose file, its services, environments, commands, ports and
//!   dependencies, with compose's `${VAR:-default}` interpolation resolved for an empty
//!   environment (`LCR_COMPOSE_FILE` checks another compose file).
//! - [`nginx`]: the load balancer's upstreams, `listen` ports and `proxy_pass` targets.
//! - [`dockerfile`]: a Dockerfile's stages and instructions; `.dockerignore` as Docker applies
//!   it ([`dockerfile::DockerIgnore`]).
//! - [`k8s`]: the manifests' objects, a container's environment and command line as the kubelet
//!   builds them (the `$(VAR)` expansion included), how a container runs loadgen
//!   (`LCR_K8S_DIR` checks another folder).
//! - [`flags`]: the `--long` flags and environment variables of a clap command (the binaries'
//!   own `clap::CommandFactory`, imported, never parsed from text).
//! - [`workspace`]: the workspace's members, the files a build needs from each, and its built
//!   binaries ([`workspace::built_binaries`]).

use std::path::{Path, PathBuf};

pub mod compose;
pub mod dockerfile;
pub mod flags;
pub mod k8s;
pub mod nginx;
pub mod workspace;

/// The workspace root: the folder above this crate's (`deploy/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("deploy/ sits in the workspace")
        .to_path_buf()
}

/// The text of `path`.
///
/// # Panics
///
/// When it cannot be read (the panic names the file).
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Fails the test with every problem found in `what`, one a line.
///
/// # Panics
///
/// When `failures` is not empty.
pub fn assert_no_failures(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{what}: {} problem(s):\n  - {}",
        failures.len(),
        failures.join("\n  - ")
    );
}
