//! The `Dockerfile` and its build context against the compose file and the workspace. Docker is
//! not needed: the files are read and compared, nothing is built.
//!
//! What is checked (each failure names the stage, the service or the file):
//! - the Dockerfile has a stage for every compose `build.target`, the builder builds the three
//!   packages, the `server` stage EXPOSEs the BIND port, the `loadgen` stage copies `features/`;
//! - the build context keeps what the workspace needs: `.dockerignore` (applied as Docker does)
//!   excludes nothing of `vendor/`, `features/` and `Cargo.lock`, nor of any workspace member's
//!   `Cargo.toml` and library/binary sources (cargo resolves the whole workspace, so a member
//!   missing from the context fails the image build).
//!
//! Run: `cargo test -p lcr-deploy --test image`.

use std::collections::BTreeSet;
use std::path::Path;

use lcr_deploy::assert_no_failures;
use lcr_deploy::compose::{Compose, build_target, environment, port_of};
use lcr_deploy::dockerfile::{DockerIgnore, dockerfile_stages, features_copy};
use lcr_deploy::workspace::{files_under, members};

#[test]
fn dockerfile_targets_match_compose() {
    let compose = Compose::load();
    let mut failures = Vec::new();
    let (path, text) = compose.dockerfile("server-1");
    let stages = dockerfile_stages(&text);
    for (name, svc) in compose.services() {
        if svc.get("build").is_none() {
            continue;
        }
        match build_target(svc) {
            Some(t) if stages.contains_key(&t) => {}
            t => failures.push(format!(
                "service `{name}`, key `build.target`: {t:?} is not a stage of {} (stages: {:?})",
                path.display(),
                stages.keys().collect::<Vec<_>>()
            )),
        }
    }
    let all: Vec<&String> = stages.values().flatten().collect();
    let cargo_build = all.iter().find(|i| i.contains("cargo build"));
    for package in ["reference-server", "loadgen", "conformance"] {
        if !cargo_build.is_some_and(|b| b.contains(&format!("-p {package}"))) {
            failures.push(format!(
                "Dockerfile: the builder's `cargo build` does not build `-p {package}`"
            ));
        }
    }
    if !cargo_build.is_some_and(|b| b.contains("--locked") && b.contains("--release")) {
        failures.push("Dockerfile: the builder's `cargo build` must use --release --locked".into());
    }
    if let Some(server) = stages.get("server") {
        let bind = compose
            .server_nodes()
            .values()
            .find_map(|s| environment(s).get("BIND").cloned().flatten());
        if let Some(port) = bind.as_deref().and_then(port_of)
            && !server
                .iter()
                .any(|i| i.starts_with("EXPOSE") && i.contains(&port.to_string()))
        {
            failures.push(format!(
                    "Dockerfile stage `server`: does not EXPOSE the BIND port {port} of the compose nodes"
                ));
        }
        if !server
            .iter()
            .any(|i| i.starts_with("USER") && !i.contains("root"))
        {
            failures.push("Dockerfile stage `server`: no non-root USER".into());
        }
    }
    if let Some(loadgen) = stages.get("loadgen") {
        if features_copy(loadgen).is_none() {
            failures.push("Dockerfile stage `loadgen`: does not COPY features/".into());
        }
        if !loadgen
            .iter()
            .any(|i| i.starts_with("USER") && !i.contains("root"))
        {
            failures.push("Dockerfile stage `loadgen`: no non-root USER".into());
        }
    }
    // The build context must keep what the workspace needs: Cargo.lock, the feature files, the
    // vendored crates ([patch.crates-io]).
    let (context, _) = compose.build_context("server-1");
    let ignore = DockerIgnore::of_context(&context);
    let root = lcr_deploy::workspace_root();
    let vendored: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("vendor"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|d| d.join("Cargo.toml").is_file())
        .flat_map(|d| {
            let mut files = vec![d.join("Cargo.toml")];
            files.extend(files_under(&d.join("src")));
            files
        })
        .collect();
    for (needed, files) in [
        ("vendor", vendored),
        ("features", files_under(&root.join("features"))),
        ("Cargo.lock", vec![root.join("Cargo.lock")]),
    ] {
        if files.is_empty() {
            failures.push(format!("{needed}: nothing found in {}", root.display()));
        }
        if let Some(problem) = files
            .iter()
            .find_map(|f| out_of_context(&context, &ignore, f))
        {
            failures.push(format!(
                ".dockerignore: excludes `{needed}`, which the build needs ({problem})"
            ));
        }
    }
    assert_no_failures("Dockerfile", failures);
}

/// Why `file` does not reach the build context `context`, if it does not.
fn out_of_context(context: &Path, ignore: &DockerIgnore, file: &Path) -> Option<String> {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let file = canonical(file);
    let Ok(relative) = file.strip_prefix(canonical(context)) else {
        return Some(format!(
            "{} is outside the build context {}",
            file.display(),
            context.display()
        ));
    };
    let relative = relative.to_string_lossy().replace('\\', "/");
    ignore
        .excluded_by(&relative)
        .map(|line| format!("`{line}` excludes {relative}"))
}

#[test]
fn every_workspace_member_reaches_the_build_context() {
    // The builder copies the context and runs cargo, which loads every member of the workspace:
    // each one's Cargo.toml and library/binary sources must be in the context.
    let compose = Compose::load();
    let (context, _) = compose.build_context("server-1");
    let ignore = DockerIgnore::of_context(&context);
    let members = members(&lcr_deploy::workspace_root());
    let names: BTreeSet<&str> = members.iter().map(|m| m.name.as_str()).collect();
    for expected in [
        "reference-server",
        "loadgen",
        "conformance",
        "lcr-profile",
        "lcr-deploy",
    ] {
        assert!(
            names.contains(expected),
            "cargo metadata lists no member {expected}: {names:?}"
        );
    }
    let mut failures = Vec::new();
    for member in &members {
        assert!(
            member.build_files.contains(&member.manifest) && member.build_files.len() > 1,
            "{}: no sources found: {:?}",
            member.name,
            member.build_files
        );
        for file in &member.build_files {
            if let Some(problem) = out_of_context(&context, &ignore, file) {
                failures.push(format!(
                    "workspace member `{}`: {problem}; cargo in the Dockerfile's builder needs it \
                     (re-include it with a `!` line in .dockerignore)",
                    member.name
                ));
            }
        }
    }
    assert_no_failures("Dockerfile", failures);
}
