//! Checks the deployment files — `Dockerfile`, `docker-compose.yml`, `deploy/nginx.conf` and
//! `.dockerignore` — against the binaries' real flags and the workspace they are built from.
//! Docker is not needed: the files are read and compared, nothing is built or started.
//!
//! The checks are the tests of this crate (`tests/compose.rs`, `tests/image.rs`:
//! `cargo test -p lcr-deploy`);
//! this library holds what they read the files with. More deployment checks will be added here.
//!
//! - [`compose`]: the compose file, its services, environments, commands, ports and
//!   dependencies, with compose's `${VAR:-default}` interpolation resolved for an empty
//!   environment (`LCR_COMPOSE_FILE` checks another compose file).
//! - [`nginx`]: the load balancer's upstreams, `listen` ports and `proxy_pass` targets.
//! - [`dockerfile`]: a Dockerfile's stages and instructions; `.dockerignore` as Docker applies
//!   it ([`dockerfile::DockerIgnore`]).
//! - [`flags`]: the `--long` flags and environment variables of a clap command (the binaries'
//!   own `clap::CommandFactory`, imported, never parsed from text).
//! - [`workspace`]: the workspace's members and the files a build needs from each.

use std::path::{Path, PathBuf};

pub mod compose;
pub mod dockerfile;
pub mod flags;
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
