//! Runs the whole feature suite against the reference server on both stores (in-memory, and
//! Redis with `@redis` enabled), then as clusters of two and of three nodes on Redis and
//! MongoDB (`@cluster`, `@failover`, `@handover`, `@mongo`, `@mongo-outage` enabled too), and
//! checks the verdicts and the reports. On a failure it prints the failed steps with what each
//! actor had received, and the last lines of every node's log (`node-N.log` in the report
//! folder).
//! `harness = false`: this is a plain program that exits non-zero on failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Instant;

use lcr_testkit::{MongoProcess, RedisProcess};

fn run(name: &str, extra: &[String]) -> (Child, PathBuf) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("conformance-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let log = std::fs::File::create(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("conformance-{name}.log")),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--report-dir")
        .arg(&dir)
        .args(extra)
        .env_remove("CONFORMANCE_TARGET")
        .env_remove("REDIS_URL")
        .env_remove("MONGO_URL")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("conformance binary");
    (child, dir)
}

fn verdict(name: &str, mut child: Child, dir: &Path, min_scenarios: u64) -> Result<String, String> {
    let status = child.wait().map_err(|e| e.to_string())?;
    let log = dir.with_extension("log");
    let tail = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let mut out = conformance::report::failed_steps(&text, 12);
        // Nodes the suite started log next to its report (warn and above), `node-N.log`, even
        // when the run stopped before its report: their last lines.
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
        out
    };
    if !status.success() {
        return Err(format!(
            "{name}: suite failed ({status}); log {}:\n{}",
            log.display(),
            tail()
        ));
    }
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
    let (passed, failed, skipped) = (
        s["passed"].as_u64().unwrap_or(0),
        s["failed"].as_u64().unwrap_or(1),
        s["skipped"].as_u64().unwrap_or(1),
    );
    if failed != 0 || skipped != 0 || passed < min_scenarios {
        return Err(format!(
            "{name}: {passed} passed, {failed} failed, {skipped} skipped (need ≥ {min_scenarios} passed)"
        ));
    }
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default();
    if !junit.contains("<testsuites") || junit.contains("<failure") {
        return Err(format!("{name}: junit.xml is not a passing JUnit report"));
    }
    Ok(format!("{name}: {passed} scenarios passed"))
}

fn main() {
    let started = Instant::now();
    let redis = RedisProcess::start();
    let (memory, memory_dir) = run("memory", &[]);
    let (on_redis, redis_dir) = run("redis", &["--redis-url".into(), redis.url()]);
    let mut results = vec![
        verdict("memory store", memory, &memory_dir, 134),
        verdict("redis store, @redis enabled", on_redis, &redis_dir, 140),
    ];
    drop(redis);
    // Clusters: nodes are reference-server processes (the binary next to this test's).
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
            152,
        ));
    }
    drop(clusters);
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
        "conformance suite on both stores and two clusters in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
