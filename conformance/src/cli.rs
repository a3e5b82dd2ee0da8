//! `conformance`'s command line: the suite's own options ([`Suite`]) and cucumber's, as the
//! binary parses them ([`command`], [`parse`]). Public so that other crates can check against
//! the real flags (`lcr-deploy`'s compose test reads them through [`clap::CommandFactory`]).
//!
//! ```
//! let cmd = conformance::cli::command();
//! let longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
//! assert!(longs.contains(&"target") && longs.contains(&"tags") && longs.contains(&"retry"));
//! ```

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches};
use cucumber::cli::{Compose, Empty, Opts};
use cucumber::{parser, runner, writer};

/// Options of the suite itself (cucumber's own options come alongside).
#[derive(clap::Args, Debug, Clone)]
pub struct Suite {
    /// The target profile (TOML): where the server is or how to start it, how its users get
    /// tokens, how a conference is created, what it claims (docs/profiles.md). The flags below
    /// override it.
    #[arg(long, env = "CONFORMANCE_PROFILE")]
    pub profile: Option<PathBuf>,
    /// `http://host:port` of the server under test; repeat (or comma-separate) for the nodes of
    /// one server (D25): node 1 serves the host and the Control API, the audience is spread
    /// over the others and `@cluster` scenarios run. Without it the reference server runs in
    /// process on a free port (or as `--nodes` processes).
    #[arg(long = "target", env = "CONFORMANCE_TARGET", value_delimiter = ',')]
    pub targets: Vec<String>,
    /// Start this many reference-server nodes on `--redis-url` (and `--mongo-url`) as child
    /// processes and test them as one server; `@cluster` failover scenarios kill and restart
    /// node 1. The binary is `$LCR_SERVER_BIN` or the `reference-server` next to this one;
    /// each node logs to `node-N.log` in the report folder, at `$LCR_NODE_LOG` (default
    /// `warn`).
    #[arg(long, conflicts_with = "targets", requires = "redis_url")]
    pub nodes: Option<usize>,
    /// The server's MongoDB: enables the `@mongo` scenarios (and is given to in-process or
    /// `--nodes` servers).
    #[arg(long, env = "MONGO_URL")]
    pub mongo_url: Option<String>,
    /// Shell command killing node `{node}` (1-based) of an external target, e.g.
    /// `docker compose kill server-{node}`; enables the failover scenarios with --node-up-cmd.
    #[arg(long, requires = "node_up_cmd")]
    pub node_down_cmd: Option<String>,
    /// Shell command starting node `{node}` again and returning once it is ready.
    #[arg(long, requires = "node_down_cmd")]
    pub node_up_cmd: Option<String>,
    /// Shell command stopping node `{node}` gracefully (SIGTERM) and returning once it has
    /// exited, e.g. `docker compose stop server-{node}`; enables the `@handover` scenario
    /// (with --node-down-cmd and --node-up-cmd).
    #[arg(long, requires_all = ["node_down_cmd", "node_up_cmd"])]
    pub node_stop_cmd: Option<String>,
    /// Shell command making the server's MongoDB unreachable (e.g. `docker compose pause
    /// mongo`); enables the MongoDB outage scenario with --mongo-up-cmd.
    #[arg(long, requires = "mongo_up_cmd")]
    pub mongo_down_cmd: Option<String>,
    /// Shell command bringing MongoDB back (e.g. `docker compose unpause mongo`).
    #[arg(long, requires = "mongo_down_cmd")]
    pub mongo_up_cmd: Option<String>,
    /// HS256 secret the target verifies client tokens with (D2); overrides the profile's auth.
    #[arg(long, env = "JWT_SECRET")]
    pub jwt_secret: Option<String>,
    /// Bearer token of the target's Control API (D8); overrides the profile's.
    #[arg(long, env = "ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// The target's Redis: enables the `@redis` scenarios (and, without `--target`, puts the
    /// in-process reference server on it).
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Write the JUnit XML here instead of `junit.xml` in the report folder (for CI).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Where the HTML and JSON reports go.
    #[arg(long, default_value = "reports/conformance")]
    pub report_dir: PathBuf,
    /// The feature files.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../features"))]
    pub features: PathBuf,
    /// Seconds a step waits for an event that must come.
    #[arg(long, default_value_t = 10)]
    pub wait_secs: u64,
}

/// All of `conformance`'s options: cucumber's (of the parser, runner and writers the binary
/// uses: `parser::Basic`, `runner::Basic`, and `writer::Basic` teed into `writer::Json`) and
/// the suite's, [`Suite`] (`opts.custom`).
pub type Options =
    Opts<parser::basic::Cli, runner::basic::Cli, Compose<writer::basic::Cli, Empty>, Suite>;

/// `conformance matrix`: the suite against several servers, one profile each, on one page.
#[derive(clap::Parser, Debug, Clone)]
#[command(
    name = "conformance matrix",
    about = "Runs the suite against every profile and writes one page comparing them:              scenarios by protocol section × implementations, graded outcomes, links to each              server's own report"
)]
pub struct Matrix {
    /// The profiles, one per implementation.
    #[arg(required = true)]
    pub profiles: Vec<PathBuf>,
    /// Where the matrix (`index.html`, `index.json`) and each server's report go.
    #[arg(long, default_value = "reports/matrix")]
    pub report_dir: PathBuf,
    /// Profiles run at once.
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Passed to every run (e.g. `--tags 'not @slow'`), after `--`.
    #[arg(last = true)]
    pub suite_args: Vec<String>,
}

/// The command `conformance` parses: [`Options`] under this program's name and purpose.
pub fn command() -> clap::Command {
    Options::command()
        .name("conformance")
        .bin_name("conformance")
        .about(
            "Plays the live-conference feature suite against a server (described by a profile, \
             by URL, or the reference server in process) and writes terminal, HTML, JSON and \
             JUnit reports; `conformance matrix PROFILE...` compares several servers",
        )
        .long_about(None)
}

/// The process's arguments, parsed by [`command`]; exits with clap's message when they do not
/// parse (or on `--help`).
pub fn parse() -> Options {
    Options::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}
