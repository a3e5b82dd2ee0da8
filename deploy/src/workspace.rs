//! The workspace's members (as `cargo metadata` reports them) and the files a build of the
//! workspace needs from each: its `Cargo.toml` and the sources of its library, binaries and
//! build script. Tests, examples and benches are not needed to build the binaries. Also the
//! workspace's binaries as built for a test ([`built_binaries`]).

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
    /// The workspace members it depends on to build (normal and build dependencies by path,
    /// not dev-dependencies).
    pub path_deps: Vec<String>,
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
            let path_deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["path"].is_string() && d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .collect();
            Member {
                name: p["name"].as_str().unwrap_or_default().to_owned(),
                manifest,
                build_files,
                path_deps,
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

/// The workspace's binaries `bins` (package, binary) as built for the running test: each from
/// its variable (`LCR_LOADGEN_BIN`, `LCR_SERVER_BIN`… as given in `bins`) when set, else
/// `target/<profile>/<binary>` beside the test executable. Those in the target folder are built
/// first, with one `cargo build --locked -p PACKAGE…` (`$CARGO`, `--release` for a release
/// test), when one is missing or older than a file a build reads (a member's sources, a
/// vendored crate, `Cargo.toml`, `Cargo.lock`): `cargo test -p lcr-deploy` builds no other
/// package's binaries, and `cargo test --workspace` has built them already.
///
/// # Errors
///
/// When the build fails (its output is in the message) or a binary is still not there.
pub fn built_binaries(bins: &[(&str, &str, &str)]) -> Result<Vec<PathBuf>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the test executable: {e}"))?;
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("no target folder above {}", exe.display()))?
        .to_path_buf();
    let root = crate::workspace_root();
    let mut paths = Vec::new();
    let mut to_build = Vec::new();
    let packages: Vec<&str> = bins.iter().map(|(p, _, _)| *p).collect();
    let newest_source = newest_build_input(&root, &packages);
    for (package, bin, var) in bins {
        if let Some(p) = std::env::var_os(var) {
            paths.push(PathBuf::from(p));
            continue;
        }
        let path = profile_dir.join(bin);
        let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if built.is_none_or(|b| newest_source.is_some_and(|s| s > b)) {
            to_build.push(*package);
        }
        paths.push(path);
    }
    if !to_build.is_empty() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(&cargo);
        command
            .arg("build")
            .arg("--locked")
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"));
        if profile_dir.file_name().and_then(|n| n.to_str()) == Some("release") {
            command.arg("--release");
        }
        for package in &to_build {
            command.args(["-p", package]);
        }
        eprintln!(
            "building {} (missing or older than the sources): {command:?}",
            to_build.join(", ")
        );
        let out = command
            .output()
            .map_err(|e| format!("running {}: {e}", cargo.to_string_lossy()))?;
        if !out.status.success() {
            return Err(format!(
                "cargo build -p {} failed:\n{}",
                to_build.join(" -p "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    for (path, (_, bin, var)) in paths.iter().zip(bins) {
        if !path.is_file() {
            return Err(format!(
                "no {bin} binary at {}: build it, or set {var} to one",
                path.display()
            ));
        }
    }
    Ok(paths)
}

/// When the newest file a build of `packages` reads was last changed: their sources and those
/// of the members they depend on, the vendored crates, `Cargo.toml` and `Cargo.lock`.
fn newest_build_input(root: &Path, packages: &[&str]) -> Option<std::time::SystemTime> {
    let members = members(root);
    let mut needed: Vec<String> = packages.iter().map(|p| (*p).to_owned()).collect();
    let mut i = 0;
    while let Some(name) = needed.get(i).cloned() {
        if let Some(m) = members.iter().find(|m| m.name == name) {
            for dep in &m.path_deps {
                if !needed.contains(dep) {
                    needed.push(dep.clone());
                }
            }
        }
        i += 1;
    }
    let mut inputs: Vec<PathBuf> = members
        .into_iter()
        .filter(|m| needed.contains(&m.name))
        .flat_map(|m| m.build_files)
        .collect();
    inputs.extend(files_under(&root.join("vendor")));
    inputs.push(root.join("Cargo.toml"));
    inputs.push(root.join("Cargo.lock"));
    inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
}
