//! What the generator's end-to-end tests share: a directory of their own, the binary run with
//! the environment it would otherwise read cleared, and the summary it wrote.

// Each test file uses a part of this.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `name` under the target's test directory, emptied and left absent (loadgen creates its report
/// directory).
pub fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// [`dir`], created: for the profiles and workloads a test writes before the run.
pub fn fresh_dir(name: &str) -> PathBuf {
    let d = dir(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs loadgen with `args`, without the targets, profile and Redis of the environment; its exit
/// code and everything it printed.
pub fn loadgen(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env_remove("LOADGEN_TARGET")
        .env_remove("LOADGEN_PROFILE")
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), log)
}

/// The `summary.json` of the report in `d`.
pub fn summary(d: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(d.join("summary.json")).unwrap()).unwrap()
}

/// Runs loadgen on `profile` and `workload` with its report in `d/run`, and fails the test
/// unless it passed (its violations and log in the message); its summary.
pub fn run_passing(d: &Path, profile: &Path, workload: &Path) -> Value {
    let (code, log) = loadgen(&[
        "--profile",
        profile.to_str().unwrap(),
        "--workload",
        workload.to_str().unwrap(),
        "--report-dir",
        d.join("run").to_str().unwrap(),
    ]);
    let s = summary(&d.join("run"));
    assert_eq!(code, 0, "{}\n{log}", s["violations"]);
    s
}
