//! One run of the suite: choose the server under test (a profile, `--target`, `--nodes`, or the
//! reference server in process), grade every scenario against what the profile claims, play
//! those that can run, and write the reports.

use std::fs::File;
use std::path::Path;

use anyhow::Context;
use cucumber::tag::Ext as _;
use cucumber::{World as _, WriterExt as _, writer};
use lcr_profile::{Controls as ProfileControls, Overrides, Profile, ServerUnderTest};

use crate::cli::{Options, Suite};
use crate::environment::{Controls, MongoControl, NodeControl};
use crate::grading::{self, Grade, Unrun};
use crate::report::{self, ActorReport, FeatureIndex, Received, Report, Transcript};
use crate::{LiveWorld, Target};

/// The secrets of a reference server the suite starts itself.
const SECRET: &str = "conformance-secret";
const ADMIN: &str = "conformance-admin";

/// What the suite started and must stop: the server under test, or `--nodes` processes.
struct Started {
    server: Option<ServerUnderTest>,
    node_logs: Vec<String>,
}

/// `--nodes N`: reference-server processes on `--redis-url` (and `--mongo-url`), logging into the
/// report folder, driven by the suite for the failover scenarios.
fn start_nodes(suite: &Suite, n: usize) -> anyhow::Result<(Profile, Controls, Vec<String>)> {
    let bin = lcr_testkit::node::server_binary().map_err(anyhow::Error::msg)?;
    let mut env = vec![
        ("JWT_SECRET", SECRET.to_owned()),
        ("ADMIN_TOKEN", ADMIN.to_owned()),
        ("REDIS_URL", suite.redis_url.clone().unwrap_or_default()),
    ];
    if let Some(m) = &suite.mongo_url {
        env.push(("MONGO_URL", m.clone()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut nodes = Vec::new();
    let mut logs = Vec::new();
    for i in 1..=n.max(1) {
        let name = format!("node-{i}.log");
        let log = suite.report_dir.join(&name);
        let _ = std::fs::remove_file(&log);
        logs.push(name);
        nodes.push(
            lcr_testkit::NodeProcess::start_logging_to(&bin, &format!("node-{i}"), &env, log)
                .map_err(anyhow::Error::msg)?,
        );
    }
    let mut profile = Profile::reference(nodes.iter().map(|n| n.url()).collect(), SECRET, ADMIN);
    profile.name = format!("reference server ({n} nodes)");
    profile.target.redis_url = suite.redis_url.clone();
    profile.target.mongo_url = suite.mongo_url.clone();
    profile.capabilities.parts = profile.implied_parts();
    let controls = Controls {
        nodes: NodeControl::Owned(std::sync::Mutex::new(nodes)),
        mongo: None,
    };
    Ok((profile, controls, logs))
}

/// What the command line lays over a profile (with a profile, only flags given on the command
/// line: see [`Overrides::given_on`]).
fn overrides(suite: &Suite) -> Overrides {
    let o = all_overrides(suite);
    match suite.profile {
        Some(_) => o.given_on(&std::env::args().collect::<Vec<_>>()),
        None => o,
    }
}

fn all_overrides(suite: &Suite) -> Overrides {
    Overrides {
        nodes: suite
            .targets
            .iter()
            .map(|t| t.trim_end_matches('/').to_owned())
            .collect(),
        jwt_secret: suite.jwt_secret.clone(),
        admin_token: suite.admin_token.clone(),
        redis_url: suite.redis_url.clone(),
        mongo_url: suite.mongo_url.clone(),
        controls: ProfileControls {
            node_down: suite.node_down_cmd.clone(),
            node_up: suite.node_up_cmd.clone(),
            node_stop: suite.node_stop_cmd.clone(),
            mongo_down: suite.mongo_down_cmd.clone(),
            mongo_up: suite.mongo_up_cmd.clone(),
        },
    }
}

/// The environment controls a profile's `[controls]` give.
fn command_controls(c: &ProfileControls) -> (Option<NodeControl>, Option<MongoControl>) {
    let nodes = match (&c.node_down, &c.node_up) {
        (Some(down), Some(up)) => Some(NodeControl::Commands {
            down: down.clone(),
            up: up.clone(),
            stop: c.node_stop.clone(),
        }),
        _ => None,
    };
    let mongo = match (&c.mongo_down, &c.mongo_up) {
        (Some(down), Some(up)) => Some(MongoControl {
            down: down.clone(),
            up: up.clone(),
        }),
        _ => None,
    };
    (nodes, mongo)
}

/// Chooses the server under test and builds the target.
async fn target(suite: &Suite) -> anyhow::Result<(Target, Started)> {
    std::fs::create_dir_all(&suite.report_dir)
        .with_context(|| format!("creating {}", suite.report_dir.display()))?;
    if let Some(n) = suite.nodes {
        let (profile, mut controls, logs) = start_nodes(suite, n)?;
        let (_, mongo) = command_controls(&overrides(suite).controls);
        controls.mongo = mongo;
        let target = Target::new(profile, controls).await?;
        return Ok((
            target,
            Started {
                server: None,
                node_logs: logs,
            },
        ));
    }
    let profile = suite
        .profile
        .as_deref()
        .map(Profile::load)
        .transpose()
        .context("reading the profile")?;
    let mut server = ServerUnderTest::choose(profile, overrides(suite), &suite.report_dir, || {
        reference_server::ServerConfig::embedded(SECRET, ADMIN)
            .on_redis(suite.redis_url.as_deref())
            .on_mongo(suite.mongo_url.as_deref())
    })
    .await?;
    let (commands, mongo) = command_controls(&server.profile.controls);
    let mut node_logs = Vec::new();
    // Processes the suite started are its to kill and restart; otherwise the profile's
    // commands, if it has them.
    let nodes = match server.take_launched() {
        Some(launched) => {
            node_logs = launched
                .logs()
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            NodeControl::Launched(std::sync::Mutex::new(launched))
        }
        None => commands.unwrap_or(NodeControl::None),
    };
    let target = Target::new(server.profile.clone(), Controls { nodes, mongo }).await?;
    Ok((
        target,
        Started {
            server: Some(server),
            node_logs,
        },
    ))
}

/// What an actor received, for the report.
fn transcript(w: &LiveWorld) -> Vec<ActorReport> {
    let start = w
        .actors
        .values()
        .flat_map(|a| a.inbox.received().into_iter().map(|(at, _, _)| at))
        .min()
        .unwrap_or(0);
    w.actors
        .values()
        .map(|a| ActorReport {
            name: a.name.clone(),
            user_id: a.user_id.clone(),
            connect_error: a.connect_error(),
            received: a
                .inbox
                .received()
                .into_iter()
                .map(|(at, event, data)| Received {
                    at_ms: at - start,
                    event,
                    data,
                })
                .collect(),
        })
        .collect()
}

/// Runs the suite with `opts` and writes its reports; the process's exit code follows: 0 when
/// nothing failed, 1 otherwise.
pub async fn suite(mut opts: Options) -> anyhow::Result<bool> {
    let suite = opts.custom.clone();
    let (mut target, started) = target(&suite).await?;
    target.wait = std::time::Duration::from_secs(suite.wait_secs);
    let profile_name = target.profile.name.clone();
    let url = target.url().to_owned();
    Target::install(target)?;
    let target = Target::get();
    // The target lives in a static, never dropped: stop the nodes the suite started on every
    // way out.
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
        "conformance: {profile_name} at {url}, {} node(s), fixture {}",
        target.nodes.len(),
        target.fixture.kind()
    );

    // The user's --tags and --name choose among the scenarios; the grading then decides which
    // of those can run. cucumber would let the user's filter replace ours: apply both here.
    let user_tags = opts.tags_filter.take();
    let user_name = opts.re_filter.take();
    let json_path = suite.report_dir.join("cucumber.json");
    let json_file =
        File::create(&json_path).with_context(|| format!("creating {}", json_path.display()))?;
    let graded = target.clone();
    LiveWorld::cucumber()
        .with_writer(
            writer::Basic::raw(std::io::stdout(), writer::Coloring::Auto, 0)
                .summarized()
                .tee::<LiveWorld, _>(writer::Json::for_tee(json_file))
                .normalized(),
        )
        .after(|feature, _, scenario, _, world| {
            let (feature, line) = (feature.name.clone(), scenario.position.line);
            Box::pin(async move {
                let Some(w) = world else { return };
                report::record_transcript(Transcript {
                    feature,
                    line,
                    actors: transcript(w),
                });
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
            })
        })
        .with_cli(opts)
        .filter_run(&suite.features, move |feature, rule, scenario| {
            let tags = || feature.tags.iter().chain(rule.iter().flat_map(|r| &r.tags));
            let chosen = user_tags
                .as_ref()
                .is_none_or(|t| t.eval(tags().chain(&scenario.tags)))
                && user_name
                    .as_ref()
                    .is_none_or(|re| re.is_match(&scenario.name));
            if !chosen {
                return false;
            }
            match grading::grade(feature, scenario, &graded) {
                Grade::Run => true,
                grade => {
                    grading::record(Unrun {
                        feature: feature.name.clone(),
                        uri: feature_uri(feature),
                        name: scenario.name.clone(),
                        line: scenario.position.line,
                        tags: tags()
                            .chain(&scenario.tags)
                            .map(|t| format!("@{t}"))
                            .collect(),
                        steps: scenario
                            .steps
                            .iter()
                            .map(|s| format!("{}{}", s.keyword, s.value))
                            .collect(),
                        grade,
                    });
                    false
                }
            }
        })
        .await;

    let cucumber_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path)?)
            .context("reading cucumber's JSON output")?;
    let index = FeatureIndex::read(&suite.features);
    let mut report = Report::build_with(
        &cucumber_json,
        &grading::unrun(),
        &index,
        &profile_name,
        &url,
    );
    report.node_logs = started.node_logs;
    report
        .write(&suite.report_dir, suite.junit.as_deref())
        .with_context(|| format!("writing the reports into {}", suite.report_dir.display()))?;
    let s = &report.summary;
    eprintln!(
        "conformance: {} passed, {} failed, {} not claimed, {} not applicable; report {}",
        s.passed,
        s.failed,
        s.not_claimed,
        s.not_applicable,
        suite.report_dir.join("index.html").display()
    );
    if let Some(server) = started.server {
        server.shutdown().await;
    }
    drop(stop_nodes);
    Ok(report.summary.failed == 0)
}

/// A feature's file as cucumber's JSON names it: `features/<file>`.
fn feature_uri(feature: &cucumber::gherkin::Feature) -> String {
    feature
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map_or_else(String::new, |n| format!("features/{}", n.to_string_lossy()))
}

/// The report folder of one profile in a matrix: its file name without `.toml`.
pub fn slug(profile: &Path) -> String {
    profile
        .file_stem()
        .map_or_else(|| "profile".into(), |s| s.to_string_lossy().into_owned())
}
