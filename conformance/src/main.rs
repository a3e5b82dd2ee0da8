//! `conformance`: runs the feature suite against a server by URL, or against the reference
//! server started in process when no `--target` is given.
//!
//! ```text
//! conformance --target http://host:3000 --jwt-secret S --admin-token T [--redis-url URL]
//!             [--junit FILE] [--report-dir DIR] [cucumber options: --tags, --name, --concurrency, --retry, …]
//! ```
//!
//! Its options are [`conformance::cli`]'s; the server under test is chosen by `lcr-profile`.

use std::fs::File;

use anyhow::Context;
use conformance::environment::{Controls, MongoControl, NodeControl};
use conformance::report::{Report, html};
use conformance::{LiveWorld, Target};
use cucumber::writer::Stats as _;
use cucumber::{World as _, WriterExt as _, writer};
use lcr_profile::ServerUnderTest;

/// Which tagged scenarios this run can execute.
#[derive(Debug, Clone, Copy)]
struct Enabled {
    redis: bool,
    cluster: bool,
    failover: bool,
    handover: bool,
    mongo: bool,
    mongo_outage: bool,
}

impl Enabled {
    fn allows(&self, tag: &str) -> bool {
        match tag {
            "redis" => self.redis,
            "cluster" => self.cluster,
            "failover" => self.failover,
            "handover" => self.handover,
            "mongo" => self.mongo,
            "mongo-outage" => self.mongo_outage,
            _ => true,
        }
    }

    fn describe(&self) -> String {
        let tag = |on: bool, name: &str, why: &str| {
            if on {
                format!("@{name} on")
            } else {
                format!("@{name} off ({why})")
            }
        };
        [
            tag(self.redis, "redis", "no --redis-url"),
            tag(self.cluster, "cluster", "one node"),
            tag(
                self.failover,
                "failover",
                "one node, or no --nodes / --node-down-cmd",
            ),
            tag(
                self.handover,
                "handover",
                "one node, or no --nodes / --node-stop-cmd",
            ),
            tag(self.mongo, "mongo", "no --mongo-url"),
            tag(self.mongo_outage, "mongo-outage", "no --mongo-down-cmd"),
        ]
        .join(", ")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = conformance::cli::parse();
    let suite = opts.custom.clone();

    const SECRET: &str = "conformance-secret";
    const ADMIN: &str = "conformance-admin";
    let mut owned_nodes = Vec::new();
    // The started nodes' logs, relative to the report folder.
    let mut node_logs = Vec::new();
    let server = match suite.nodes {
        None => {
            ServerUnderTest::choose(
                &suite.targets,
                suite.jwt_secret.as_deref(),
                suite.admin_token.as_deref(),
                || {
                    reference_server::ServerConfig::embedded(SECRET, ADMIN)
                        .on_redis(suite.redis_url.as_deref())
                        .on_mongo(suite.mongo_url.as_deref())
                },
            )
            .await?
        }
        Some(n) => {
            let bin = lcr_testkit::node::server_binary().map_err(anyhow::Error::msg)?;
            let mut env = vec![
                ("JWT_SECRET", SECRET.to_owned()),
                ("ADMIN_TOKEN", ADMIN.to_owned()),
            ];
            env.push(("REDIS_URL", suite.redis_url.clone().unwrap_or_default()));
            if let Some(m) = &suite.mongo_url {
                env.push(("MONGO_URL", m.clone()));
            }
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            // Their logs go with the report, where a reviewer of a failed run looks first.
            std::fs::create_dir_all(&suite.report_dir)
                .with_context(|| format!("creating {}", suite.report_dir.display()))?;
            for i in 1..=n.max(1) {
                let name = format!("node-{i}.log");
                let log = suite.report_dir.join(&name);
                let _ = std::fs::remove_file(&log);
                node_logs.push(name);
                owned_nodes.push(
                    lcr_testkit::NodeProcess::start_logging_to(
                        &bin,
                        &format!("node-{i}"),
                        &env,
                        log,
                    )
                    .map_err(anyhow::Error::msg)?,
                );
            }
            ServerUnderTest::at(owned_nodes.iter().map(|n| n.url()).collect(), SECRET, ADMIN)
        }
    };
    let nodes = server.nodes.clone();
    let (secret, admin) = (server.jwt_secret.clone(), server.admin_token.clone());
    let url = nodes[0].clone();
    let mut target = Target::new(url.clone(), secret, admin, suite.redis_url.clone()).await?;
    target.wait = std::time::Duration::from_secs(suite.wait_secs);
    target.nodes = nodes
        .iter()
        .map(|n| n.trim_end_matches('/').to_owned())
        .collect();
    target.controls = Controls {
        nodes: match (&suite.node_down_cmd, &suite.node_up_cmd) {
            (Some(down), Some(up)) => NodeControl::Commands {
                down: down.clone(),
                up: up.clone(),
                stop: suite.node_stop_cmd.clone(),
            },
            _ if !owned_nodes.is_empty() => NodeControl::Owned(std::sync::Mutex::new(owned_nodes)),
            _ => NodeControl::None,
        },
        mongo: match (&suite.mongo_down_cmd, &suite.mongo_up_cmd) {
            (Some(down), Some(up)) => Some(MongoControl {
                down: down.clone(),
                up: up.clone(),
            }),
            _ => None,
        },
    };
    if let Some(m) = &suite.mongo_url {
        let calls = std::sync::Arc::new(reference_server::metrics::Histogram::default());
        target.mongo = Some(
            reference_server::mongo::MongoDb::connect(m, "livepoll", calls)
                .await
                .context("connecting to --mongo-url")?,
        );
    }
    let redis = target.redis.is_some();
    let enabled = Enabled {
        redis,
        cluster: target.nodes.len() > 1,
        failover: target.nodes.len() > 1 && target.controls.can_kill_nodes(),
        handover: target.nodes.len() > 1 && target.controls.can_stop_nodes(),
        mongo: target.mongo.is_some(),
        mongo_outage: target.mongo.is_some() && target.controls.mongo.is_some(),
    };
    let node_count = target.nodes.len();
    Target::install(target)?;
    // The target lives in a static, never dropped: stop the nodes we started on every way out.
    struct StopNodes;
    impl Drop for StopNodes {
        fn drop(&mut self) {
            if let Some(t) = Target::installed() {
                t.controls.stop_owned_nodes();
            }
        }
    }
    let stop_nodes = StopNodes;
    eprintln!(
        "conformance: target {url}{}, {node_count} node(s); {}",
        if server.is_embedded() {
            " (in-process reference server)"
        } else {
            ""
        },
        enabled.describe()
    );

    std::fs::create_dir_all(&suite.report_dir)
        .with_context(|| format!("creating {}", suite.report_dir.display()))?;
    let json_path = suite.report_dir.join("cucumber.json");
    let junit_path = suite
        .junit
        .clone()
        .unwrap_or_else(|| suite.report_dir.join("junit.xml"));
    let json_file =
        File::create(&json_path).with_context(|| format!("creating {}", json_path.display()))?;
    let junit_file =
        File::create(&junit_path).with_context(|| format!("creating {}", junit_path.display()))?;

    let writer = LiveWorld::cucumber()
        .with_writer(
            writer::Basic::raw(std::io::stdout(), writer::Coloring::Auto, 0)
                .summarized()
                .tee::<LiveWorld, _>(writer::JUnit::for_tee(junit_file, 0))
                .tee::<LiveWorld, _>(writer::Json::for_tee(json_file))
                .normalized(),
        )
        .after(|_, _, _, _, world| {
            Box::pin(async move {
                if let Some(w) = world {
                    let verdict = w.no_violations();
                    for a in w.actors.values() {
                        a.disconnect().await;
                    }
                    // Leave the environment as the scenario found it.
                    for n in std::mem::take(&mut w.killed_nodes) {
                        if let Err(e) = w.target.controls.node_up(n).await {
                            panic!("node {n} did not come back: {e}");
                        }
                    }
                    if w.mongo_down {
                        w.mongo_down = false;
                        if let Err(e) = w.target.controls.mongo_up().await {
                            panic!("MongoDB did not come back: {e}");
                        }
                    }
                    if let Err(e) = verdict {
                        panic!("{e}");
                    }
                }
            })
        })
        .with_cli(opts)
        .filter_run(&suite.features, move |feature, _, sc| {
            feature
                .tags
                .iter()
                .chain(&sc.tags)
                .all(|t| enabled.allows(t))
        })
        .await;
    let failed = writer.execution_has_failed();

    let cucumber_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path)?)
            .context("reading cucumber's JSON output")?;
    let mut report = Report::from_cucumber_json(&cucumber_json, &url);
    report.node_logs = node_logs;
    std::fs::write(
        suite.report_dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(suite.report_dir.join("index.html"), html(&report))?;
    eprintln!(
        "conformance: {} passed, {} failed, {} skipped; report {}",
        report.summary.passed,
        report.summary.failed,
        report.summary.skipped,
        suite.report_dir.join("index.html").display()
    );
    server.shutdown().await;
    drop(stop_nodes);
    if failed || report.summary.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
