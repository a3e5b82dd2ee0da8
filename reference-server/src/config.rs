//! How a server is configured: the command line (clap, with environment fallbacks) and the two
//! required secrets, the [`ServerConfig`] they make for [`crate::server::start`], and the
//! [`Settings`] (tunables) of a node.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Reference Live Conference Runtime server: Socket.IO v5 and the Control API on one port.
///
/// JWT_SECRET (HS256 secret of the clients' tokens) and ADMIN_TOKEN (bearer token of the
/// Control API) are read from the environment and are required.
#[derive(Debug, Clone, Parser)]
#[command(name = "reference-server", version)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// Redis 7 URL (redis://host:port). Without it the server runs on the in-memory store.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// MongoDB URL (mongodb://host:port). With it, conferences and questions are read from and
    /// written to MongoDB and final results go to `conferencequestionanalytics` (D23).
    #[arg(long, env = "MONGO_URL")]
    pub mongo_url: Option<String>,
    /// MongoDB database name.
    #[arg(long, env = "MONGO_DB", default_value = "livepoll")]
    pub mongo_db: String,
    /// Origins allowed by CORS, comma-separated (`*` allows any).
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',', default_value = "*")]
    pub cors_origins: Vec<String>,
    /// Connections in the Redis pool.
    #[arg(long, env = "REDIS_POOL_SIZE", default_value_t = 8)]
    pub redis_pool_size: usize,
    /// At most one vote:result per question per this many milliseconds (D20).
    #[arg(long, env = "RESULT_INTERVAL_MS", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub result_interval_ms: u64,
    /// JSON Lines file receiving final results (D23).
    #[arg(long, env = "RESULTS_FILE", default_value = "results.jsonl")]
    pub results_file: PathBuf,
    /// Events a socket may send per rate-limit window (D24).
    #[arg(long, env = "RATE_LIMIT_EVENTS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_events: u32,
    /// The rate-limit window in seconds (D24).
    #[arg(long, env = "RATE_LIMIT_WINDOW_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_window_secs: u64,
    /// How long a node's hold on a question's countdown lasts unless renewed (renewed every
    /// third of it). When a node dies, another takes its countdowns over within this (D16: keep
    /// it ≤ 1500 for a close by expiresAt + 2 s); longer survives heavier overload.
    #[arg(long, env = "TIMER_LEASE_MS", default_value_t = 1500, value_parser = clap::value_parser!(u64).range(300..=60_000))]
    pub timer_lease_ms: u64,
    /// This node's name in logs, metrics and timer leases; must differ between the nodes of one
    /// Redis (default: the host name and the port).
    #[arg(long, env = "NODE_ID")]
    pub node_id: Option<String>,
    /// Threads of the async runtime (default: one per core). Several nodes sharing a few cores
    /// (a load run on one machine) do better with 1 each: no work stealing between them.
    #[arg(long, env = "WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// A required secret is missing from the environment.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The variable is unset or empty.
    #[error("{name} is not set: export {name}=<{what}> before starting the server")]
    MissingSecret {
        /// The variable.
        name: &'static str,
        /// What it is.
        what: &'static str,
    },
}

/// The machine's host name (a container's id under Docker), or `node`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into())
}

fn secret(name: &'static str, what: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError::MissingSecret { name, what })
}

impl Cli {
    /// The server configuration, with the secrets read from the environment.
    pub fn into_config(self) -> Result<ServerConfig, ConfigError> {
        let jwt_secret = secret("JWT_SECRET", "the HS256 secret that signs client tokens")?;
        let admin_token = secret("ADMIN_TOKEN", "the bearer token of the Control API")?;
        let store = match self.redis_url {
            Some(url) => StoreConfig::Redis {
                url,
                pool_size: self.redis_pool_size,
            },
            None => StoreConfig::Memory,
        };
        let settings = Settings {
            result_interval: Duration::from_millis(self.result_interval_ms),
            rate_limit_events: self.rate_limit_events,
            rate_limit_window: Duration::from_secs(self.rate_limit_window_secs),
            timer_lease: Duration::from_millis(self.timer_lease_ms),
            node_id: self
                .node_id
                .unwrap_or_else(|| format!("{}-{}", host_name(), self.bind.port())),
            ..Settings::default()
        };
        Ok(ServerConfig {
            bind: self.bind,
            store,
            results_file: self.results_file,
            settings,
            jwt_secret,
            admin_token,
            ping: (Duration::from_secs(25), Duration::from_secs(20)),
            mongo: self.mongo_url.map(|url| MongoConfig {
                url,
                database: self.mongo_db,
            }),
            cors_origins: self.cors_origins,
        })
    }
}

/// Tunables of a node (all have the decisions' defaults).
#[derive(Debug, Clone)]
pub struct Settings {
    /// D20: at most one `vote:result` per question per interval (default 100 ms).
    pub result_interval: Duration,
    /// D11: at most one change-driven `audience:count` per conference per interval (1 s).
    pub count_interval: Duration,
    /// D11: periodic `audience:count` while the conference has members (5 s).
    pub count_period: Duration,
    /// D24: events per socket per window (100).
    pub rate_limit_events: u32,
    /// D24: the window (60 s).
    pub rate_limit_window: Duration,
    /// This node's name in logs, metrics and timer leases (unique per node, D25).
    pub node_id: String,
    /// How long a node's hold on a countdown lasts unless renewed (D16: another node takes over
    /// within this after the node dies). Renewed every third of it.
    pub timer_lease: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            result_interval: Duration::from_millis(100),
            count_interval: Duration::from_secs(1),
            count_period: Duration::from_secs(5),
            rate_limit_events: 100,
            rate_limit_window: Duration::from_secs(60),
            node_id: "node-1".into(),
            timer_lease: Duration::from_millis(1500),
        }
    }
}

/// Which runtime store to use.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// In process, one node (the embedded default).
    Memory,
    /// Redis 7 at `url`, with a pool of `pool_size` connections.
    Redis {
        /// `redis://host:port[/db]`.
        url: String,
        /// Connections in the pool.
        pool_size: usize,
    },
}

/// Everything [`start`](crate::server::start) needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free one).
    pub bind: SocketAddr,
    /// Runtime store.
    pub store: StoreConfig,
    /// JSON Lines file for final results (D23, no MongoDB).
    pub results_file: PathBuf,
    /// The node's tunables.
    pub settings: Settings,
    /// HS256 secret of the handshake tokens (D2).
    pub jwt_secret: String,
    /// Bearer token of the Control API (D8).
    pub admin_token: String,
    /// Engine.IO heartbeat: how often the server pings, and how long it waits for the pong.
    pub ping: (Duration, Duration),
    /// MongoDB for the catalog and final results (D23); `None`: the catalog lives in Redis
    /// (or in process) and results go to [`ServerConfig::results_file`].
    pub mongo: Option<MongoConfig>,
    /// Origins CORS allows (`*` for any).
    pub cors_origins: Vec<String>,
}

/// Where MongoDB is.
#[derive(Debug, Clone)]
pub struct MongoConfig {
    /// `mongodb://host:port[/?options]`.
    pub url: String,
    /// The database holding `conferences`, `conferencequestions`, `conferencequestionanalytics`.
    pub database: String,
}

impl ServerConfig {
    /// In-memory store, a free port on 127.0.0.1, results in a temporary file.
    pub fn embedded(jwt_secret: &str, admin_token: &str) -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: StoreConfig::Memory,
            results_file: std::env::temp_dir()
                .join(format!("lcr-results-{}.jsonl", std::process::id())),
            settings: Settings::default(),
            jwt_secret: jwt_secret.to_owned(),
            admin_token: admin_token.to_owned(),
            ping: (Duration::from_secs(25), Duration::from_secs(20)),
            mongo: None,
            cors_origins: vec!["*".into()],
        }
    }
}

impl ServerConfig {
    /// The same configuration on Redis at `url` (pool of 8), or unchanged for `None`.
    ///
    /// ```
    /// use reference_server::{ServerConfig, StoreConfig};
    /// let c = ServerConfig::embedded("s", "a").on_redis(Some("redis://127.0.0.1:6379"));
    /// assert!(matches!(c.store, StoreConfig::Redis { .. }));
    /// ```
    pub fn on_redis(mut self, url: Option<&str>) -> Self {
        if let Some(url) = url {
            self.store = StoreConfig::Redis {
                url: url.to_owned(),
                pool_size: 8,
            };
        }
        self
    }

    /// The same configuration with MongoDB at `url` (database `livepoll`), or unchanged for
    /// `None`.
    ///
    /// ```
    /// use reference_server::ServerConfig;
    /// let c = ServerConfig::embedded("s", "a").on_mongo(Some("mongodb://127.0.0.1:27017"));
    /// assert_eq!(c.mongo.unwrap().database, "livepoll");
    /// ```
    pub fn on_mongo(mut self, url: Option<&str>) -> Self {
        if let Some(url) = url {
            self.mongo = Some(MongoConfig {
                url: url.to_owned(),
                database: "livepoll".into(),
            });
        }
        self
    }
}
