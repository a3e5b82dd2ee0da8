//! `conformance`: runs the feature suite against a server by URL, or against the reference
//! server started in process when no `--target` is given.
//!
//! ```text
//! conformance --target http://host:3000 --jwt-secret S --admin-token T [--redis-url URL]
//!             [--junit FILE] [--report-dir DIR] [cucumber options: --tags, --name, --concurrency, --retry, …]
//! ```

use std::fs::File;
use std::path::PathBuf;

use anyhow::Context;
use conformance::report::{Report, html};
use conformance::{LiveWorld, Target};
use cucumber::writer::Stats as _;
use cucumber::{World as _, WriterExt as _, cli, writer};

/// Options of the suite itself (cucumber's own options come alongside).
#[derive(clap::Args, Debug, Clone)]
struct Suite {
    /// `http://host:port` of the server under test; without it the reference server runs in
    /// process on a free port.
    #[arg(long, env = "CONFORMANCE_TARGET")]
    target: Option<String>,
    /// HS256 secret the target verifies client tokens with (D2).
    #[arg(long, env = "JWT_SECRET")]
    jwt_secret: Option<String>,
    /// Bearer token of the target's Control API (D8).
    #[arg(long, env = "ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// The target's Redis: enables the `@redis` scenarios (and, without `--target`, puts the
    /// in-process reference server on it).
    #[arg(long, env = "REDIS_URL")]
    redis_url: Option<String>,
    /// Also write JUnit XML here (for CI).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Where the HTML and JSON reports go.
    #[arg(long, default_value = "reports/conformance")]
    report_dir: PathBuf,
    /// The feature files.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../features"))]
    features: PathBuf,
    /// Seconds a step waits for an event that must come.
    #[arg(long, default_value_t = 10)]
    wait_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let opts = cli::Opts::<_, _, _, Suite>::parsed();
    let suite = opts.custom.clone();

    let embedded = match &suite.target {
        Some(_) => None,
        None => {
            let config =
                reference_server::ServerConfig::embedded("conformance-secret", "conformance-admin")
                    .on_redis(suite.redis_url.as_deref());
            Some(
                reference_server::start(config)
                    .await
                    .context("starting the in-process reference server")?,
            )
        }
    };
    let (url, secret, admin) = match (&embedded, &suite.target) {
        (Some(server), _) => (
            server.url(),
            "conformance-secret".to_owned(),
            "conformance-admin".to_owned(),
        ),
        (None, Some(url)) => (
            url.clone(),
            suite
                .jwt_secret
                .clone()
                .context("--jwt-secret (or JWT_SECRET) is required with --target")?,
            suite
                .admin_token
                .clone()
                .context("--admin-token (or ADMIN_TOKEN) is required with --target")?,
        ),
        (None, None) => unreachable!("either embedded or a target"),
    };
    let mut target = Target::new(url.clone(), secret, admin, suite.redis_url.clone()).await?;
    target.wait = std::time::Duration::from_secs(suite.wait_secs);
    let redis = target.redis.is_some();
    Target::install(target)?;
    eprintln!(
        "conformance: target {url}{}{}",
        if embedded.is_some() {
            " (in-process reference server)"
        } else {
            ""
        },
        if redis {
            ", @redis enabled"
        } else {
            ", @redis scenarios filtered out (no --redis-url)"
        }
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
                    if let Err(e) = verdict {
                        panic!("{e}");
                    }
                }
            })
        })
        .with_cli(opts)
        .filter_run(&suite.features, move |feature, _, sc| {
            redis || !feature.tags.iter().chain(&sc.tags).any(|t| t == "redis")
        })
        .await;
    let failed = writer.execution_has_failed();

    let cucumber_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path)?)
            .context("reading cucumber's JSON output")?;
    let report = Report::from_cucumber_json(&cucumber_json, &url);
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
    if let Some(server) = embedded {
        server.shutdown().await;
    }
    if failed || report.summary.failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
