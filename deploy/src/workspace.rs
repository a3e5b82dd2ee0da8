//! The workspace's members (as `cargo metadata` reports them) and the files a build of the
//! workspace needs from each: its `Cargo.toml` and the sources of its library, binaries and
//! build script. Tests, examples and benches are not needed to build the binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// One workspace member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its package name.
    pub name: String,
    /// Its `Cargo.toml`.
    pub manifest: PathBuf,
    /// What `cargo build` reads of it: the manifest, every file under the folder of its
    /// library's and binaries' roots (their modules), its build script.
    pub build_files: Vec<PathBuf>,
}

/// The members of the workspace whose root manifest is `root/Cargo.toml`, from
/// `cargo metadata --no-deps` (`$CARGO`, else `cargo`).
///
/// # Panics
///
/// When cargo cannot be run or does not answer with the metadata.
pub fn members(root: &Path) -> Vec<Member> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .unwrap_or_else(|e| panic!("running {} metadata: {e}", cargo.to_string_lossy()));
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata's JSON");
    let ids: Vec<&Value> = meta["workspace_members"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| ids.contains(&&p["id"]))
        .map(|p| {
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
            let mut build_files = vec![manifest.clone()];
            for target in p["targets"].as_array().into_iter().flatten() {
                let kinds: Vec<&str> = target["kind"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let src = PathBuf::from(target["src_path"].as_str().unwrap_or_default());
                if kinds.contains(&"custom-build") {
                    build_files.push(src);
                } else if !kinds
                    .iter()
                    .any(|k| matches!(*k, "test" | "bench" | "example"))
                {
                    match src.parent() {
                        Some(dir) => build_files.extend(files_under(dir)),
                        None => build_files.push(src),
                    }
                }
            }
            build_files.sort();
            build_files.dedup();
            Member {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                manifest,
                build_files,
            }
        })
        .collect()
}

/// Every file under `dir`, recursively (none when it cannot be read).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
