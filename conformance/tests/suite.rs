//! The whole feature suite against the reference server, every way it can be reached:
//!
//! 1. in process, on the memory store and on Redis (`@redis` on), with no profile: the README's
//!    quickstart;
//! 2. as clusters of two and of three node processes on Redis and MongoDB, every tag on
//!    (`@cluster`, `@failover`, `@handover`, `@mongo`, `@mongo-outage`);
//! 3. `conformance matrix` over every example profile in `profiles/`: HS256, RS256 and ES256
//!    tokens with the Control API; the `store` fixture and the `command` fixture (token and
//!    fixture programs) with the server's Control API off; the `http` fixture through an admin
//!    API in the existing backend's style (`support/seed_api.rs`) that assigns its own ids.
//!
//! Each run's verdict, outcome counts and report files are checked; a grading that stopped
//! grading (a profile whose not-applicable scenarios suddenly ran, or failed) fails too. On a
//! failure it prints each failed step with what the actors received, and the last lines of
//! every node's log. `harness = false`: a plain program that exits non-zero on failure.

#[path = "support/seed_api.rs"]
mod seed_api;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Instant;

use lcr_testkit::{MongoProcess, NodeProcess, RedisProcess};

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn spawn(name: &str, args: &[String], env: &[(&str, String)]) -> (Child, PathBuf) {
    let dir = tmp(&format!("conformance-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let log = std::fs::File::create(dir.with_extension("log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .arg("--report-dir")
        .arg(&dir)
        .env_remove("CONFORMANCE_TARGET")
        .env_remove("CONFORMANCE_PROFILE")
        .env_remove("REDIS_URL")
        .env_remove("MONGO_URL")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(workspace())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("conformance binary");
    (child, dir)
}

fn run(name: &str, extra: &[String]) -> (Child, PathBuf) {
    spawn(name, extra, &[])
}

/// The failed steps of a run's log and the last lines of every node log in `dir`.
fn tail(log: &Path, dirs: &[PathBuf]) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out = conformance::report::failed_steps(&text, 12);
    if out.is_empty() {
        let lines: Vec<&str> = text.lines().collect();
        out = lines[lines.len().saturating_sub(20)..].join("\n");
    }
    for dir in dirs {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("node-") && n.ends_with(".log"))
            })
            .collect();
        logs.sort();
        for node_log in logs {
            if let Ok(text) = std::fs::read_to_string(&node_log) {
                let lines: Vec<&str> = text.lines().collect();
                let last = &lines[lines.len().saturating_sub(15)..];
                out.push_str(&format!("\n--- last lines of {}:\n", node_log.display()));
                out.push_str(&last.join("\n"));
            }
        }
    }
    out
}

/// What a run must show: at least `passed` passed, none failed, exactly these counts of not
/// claimed and not applicable (the grading is part of what is tested).
#[derive(Clone, Copy)]
struct Expect {
    passed: u64,
    not_claimed: u64,
    not_applicable: u64,
}

fn check_report(name: &str, dir: &Path, want: Expect) -> Result<String, String> {
    for file in ["index.html", "report.json", "junit.xml", "cucumber.json"] {
        if !dir.join(file).is_file() {
            return Err(format!(
                "{name}: report file {file} missing in {}",
                dir.display()
            ));
        }
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let s = &report["summary"];
    let n = |k: &str| s[k].as_u64().unwrap_or(u64::MAX);
    let (passed, failed, not_claimed, not_applicable) = (
        n("passed"),
        n("failed"),
        n("notClaimed"),
        n("notApplicable"),
    );
    if failed != 0
        || passed < want.passed
        || not_claimed != want.not_claimed
        || not_applicable != want.not_applicable
    {
        return Err(format!(
            "{name}: {passed} passed, {failed} failed, {not_claimed} not claimed, \
             {not_applicable} not applicable (need ≥ {} passed, none failed, {} not claimed, \
             {} not applicable)",
            want.passed, want.not_claimed, want.not_applicable
        ));
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default();
    let skipped = junit.matches("<skipped message=").count() as u64;
    if !junit.contains("<testsuites")
        || junit.contains("<failure")
        || skipped != not_claimed + not_applicable
    {
        return Err(format!(
            "{name}: junit.xml is not a passing JUnit report with {} skipped test cases",
            not_claimed + not_applicable
        ));
    }
    Ok(format!(
        "{name}: {passed} passed, {not_claimed} not claimed, {not_applicable} not applicable"
    ))
}

fn verdict(name: &str, mut child: Child, dir: &Path, want: Expect) -> Result<String, String> {
    let status = child.wait().map_err(|e| e.to_string())?;
    let log = dir.with_extension("log");
    if !status.success() {
        return Err(format!(
            "{name}: suite failed ({status}); log {}:\n{}",
            log.display(),
            tail(&log, &[dir.to_owned()])
        ));
    }
    check_report(name, dir, want)
}

/// Every scenario of the features, with the counts each kind of run leaves out.
const ALL: u64 = 149;
const CLUSTER: u64 = 8;
const REDIS_KEYS: u64 = 6;
const MONGO: u64 = 4;
const CONTROL_API: u64 = 11;
/// Scenarios a fixture that cannot activate or end leaves out (conference:status_changed and
/// the end's effects): conference_status.feature (3), close.feature (1), redis_keys.feature (1).
const STATUS_CHANGES: u64 = 4;
/// Bad tokens that need chosen claims (expired, no user, invalid user) and the `sub` claim.
const CHOSEN_CLAIMS: u64 = 4;

fn main() {
    let started = Instant::now();
    let mut results = Vec::new();

    // 1. In process, no profile.
    let redis = RedisProcess::start();
    let (memory, memory_dir) = run("memory", &[]);
    let (on_redis, redis_dir) = run("redis", &["--redis-url".into(), redis.url()]);
    let not_in_process = CLUSTER + MONGO;
    results.push(verdict(
        "memory store",
        memory,
        &memory_dir,
        Expect {
            passed: ALL - not_in_process - REDIS_KEYS,
            not_claimed: not_in_process + REDIS_KEYS,
            not_applicable: 0,
        },
    ));
    results.push(verdict(
        "redis store, @redis enabled",
        on_redis,
        &redis_dir,
        Expect {
            passed: ALL - not_in_process,
            not_claimed: not_in_process,
            not_applicable: 0,
        },
    ));
    drop(redis);

    // 2. Clusters: nodes are reference-server processes (the binary next to this test's).
    let clusters: Vec<(usize, RedisProcess, MongoProcess)> = [2, 3]
        .into_iter()
        .map(|n| (n, RedisProcess::start(), MongoProcess::start()))
        .collect();
    let runs: Vec<_> = clusters
        .iter()
        .map(|(n, redis, mongo)| {
            let pid = mongo.pid().expect("mongo runs");
            let (child, dir) = run(
                &format!("cluster-{n}"),
                &[
                    "--nodes".into(),
                    n.to_string(),
                    "--redis-url".into(),
                    redis.url(),
                    "--mongo-url".into(),
                    mongo.url(),
                    // SIGSTOP: MongoDB stops answering (connections hang) until SIGCONT.
                    "--mongo-down-cmd".into(),
                    format!("kill -STOP {pid}"),
                    "--mongo-up-cmd".into(),
                    format!("kill -CONT {pid}"),
                ],
            );
            (*n, child, dir)
        })
        .collect();
    for (n, child, dir) in runs {
        results.push(verdict(
            &format!("{n} nodes on redis and mongodb, every tag enabled"),
            child,
            &dir,
            Expect {
                passed: ALL,
                not_claimed: 0,
                not_applicable: 0,
            },
        ));
    }
    drop(clusters);

    // 3. Every example profile, side by side.
    results.extend(matrix());

    let mut failed = 0;
    for r in &results {
        match r {
            Ok(line) => println!("ok: {line}"),
            Err(e) => {
                failed += 1;
                println!("FAILED: {e}");
            }
        }
    }
    println!(
        "conformance suite in process, on clusters and under every example profile in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}

/// `conformance matrix` over `profiles/*.toml`, with the stores, programs and admin API they
/// need; then each column's counts and the matrix page.
fn matrix() -> Vec<Result<String, String>> {
    let redis = RedisProcess::start();
    let mongo = MongoProcess::start();
    // The http profile's server: a reference-server node whose Control API only the seed-style
    // admin API calls, with its own admin token.
    let bin = lcr_testkit::node::server_binary().expect("reference-server built");
    let node = NodeProcess::start(
        &bin,
        "http-profile-node",
        &[
            ("JWT_SECRET", "dev-secret"),
            ("ADMIN_TOKEN", "seed-api-admin"),
        ],
    )
    .expect("the http profile's node");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let api = seed_api::start(&runtime, &node.url(), "seed-api-admin", "dev-secret");
    let python = workspace().join(".venv/bin/python");
    let profiles = [
        "reference",
        "reference-rs256",
        "reference-es256",
        "store",
        "command",
        "http",
    ];
    let mut args: Vec<String> = vec!["matrix".into(), "--jobs".into(), "2".into()];
    args.extend(profiles.iter().map(|p| format!("profiles/{p}.toml")));
    let (mut child, dir) = spawn(
        "matrix",
        &args,
        &[
            ("REDIS_URL", redis.url()),
            ("MONGO_URL", mongo.url()),
            ("LCR_PYTHON", python.display().to_string()),
            ("TARGET_URL", node.url()),
            ("ADMIN_API_URL", api.url.clone()),
            ("JWT_SECRET", "dev-secret".into()),
        ],
    );
    let status = child.wait().expect("matrix ran");
    let log = dir.with_extension("log");
    let columns: Vec<PathBuf> = profiles.iter().map(|p| dir.join(p)).collect();
    if !status.success() {
        return vec![Err(format!(
            "matrix: failed ({status}); log {}:\n{}",
            log.display(),
            columns
                .iter()
                .map(|c| tail(&c.with_extension("log"), std::slice::from_ref(c)))
                .collect::<Vec<_>>()
                .join("\n")
        ))];
    }
    // With the Control API: everything but what needs Redis, MongoDB or several nodes.
    let control_api = Expect {
        passed: ALL - CLUSTER - MONGO - REDIS_KEYS,
        not_claimed: CLUSTER + MONGO + REDIS_KEYS,
        not_applicable: 0,
    };
    // No Control API: its own scenarios are not claimed; the status changes and the outage
    // cannot be driven; Redis and MongoDB are there.
    let without_api = |not_applicable: u64| Expect {
        passed: ALL - CLUSTER - CONTROL_API - not_applicable,
        not_claimed: CLUSTER + CONTROL_API,
        not_applicable,
    };
    let expectations = [
        control_api,
        control_api,
        control_api,
        without_api(STATUS_CHANGES + 1 + 1),
        without_api(STATUS_CHANGES + 1 + 1 + CHOSEN_CLAIMS),
        // The seed-style API: no Control API of its own to judge, no stores to look into.
        Expect {
            passed: ALL - CLUSTER - MONGO - REDIS_KEYS - CONTROL_API,
            not_claimed: CLUSTER + MONGO + REDIS_KEYS + CONTROL_API,
            not_applicable: 0,
        },
    ];
    let mut results: Vec<Result<String, String>> = profiles
        .iter()
        .zip(expectations)
        .map(|(p, want)| check_report(&format!("profile {p}"), &dir.join(p), want))
        .collect();
    // The http run used the server's own ids: the conferences and questions it saw are the
    // ones the seed-style API assigned.
    let issued = api.issued.lock().unwrap().clone();
    let report = std::fs::read_to_string(dir.join("http/report.json")).unwrap_or_default();
    let used = issued
        .iter()
        .filter(|id| report.contains(id.as_str()))
        .count();
    results.push(if issued.len() > 100 && used > 50 {
        Ok(format!(
            "http fixture: the API assigned {} ids and the suite's report shows {used} of them",
            issued.len()
        ))
    } else {
        Err(format!(
            "http fixture: the API assigned {} ids, the report shows {used}",
            issued.len()
        ))
    });
    let index: serde_json::Value = std::fs::read_to_string(dir.join("index.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap_or_default();
    results.push(
        if index["columns"].as_array().map(Vec::len) == Some(profiles.len())
            && index["rows"].as_array().map(Vec::len) == Some(ALL as usize)
            && profiles
                .iter()
                .all(|p| html.contains(&format!("href=\"{p}/index.html")))
        {
            Ok(format!(
                "matrix: {} implementations × {ALL} scenarios in {}",
                profiles.len(),
                dir.join("index.html").display()
            ))
        } else {
            Err(format!(
                "matrix: index.json or index.html incomplete in {}",
                dir.display()
            ))
        },
    );
    drop(node);
    results
}
