//! How a server is configured: the command line (clap, with environment fallbacks) and the
//! secrets, the [`ServerConfig`] they make for [`crate::server::start`], and the [`Settings`]
//! (tunables) of a node.
//!
//! Client tokens (D2) are checked with one [`Verifier`]: HS256 with the secret `JWT_SECRET`, or
//! RS256 / ES256 with the public key of `--jwt-public-key` ([`ClientTokens`]). The Control API
//! (D8) is served with the bearer token `ADMIN_TOKEN`, or not at all (`--control-api off`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use lcr_protocol::token::{KeyError, SigningAlgorithm, Verifier};

/// Reference Live Conference Runtime server: Socket.IO v5 and the Control API on one port.
///
/// Client tokens are verified with JWT_SECRET (the HS256 secret, read from the environment) or
/// with --jwt-public-key (an RS256 / ES256 public key): exactly one of the two. ADMIN_TOKEN
/// (bearer token of the Control API, from the environment) is required unless
/// --control-api off.
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
    /// PEM public key that verifies client tokens instead of JWT_SECRET: an RSA key means
    /// RS256, an EC P-256 key ES256. Give this or JWT_SECRET, not both.
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE", value_name = "FILE")]
    pub jwt_public_key: Option<PathBuf>,
    /// Packets a socket may have queued for it (per socket, allocated as used). A broadcast or
    /// emit that finds a socket's queue full disconnects the socket (a client that stopped
    /// reading): the node's memory stays bounded. See docs/reference-server.md for the default.
    #[arg(long, env = "SOCKET_QUEUE", default_value_t = DEFAULT_SOCKET_QUEUE, value_parser = clap::value_parser!(u32).range(16..=1_048_576))]
    pub socket_queue: u32,
    /// SO_SNDBUF of every accepted connection, in bytes (default: the kernel's autotuning, up
    /// to net.ipv4.tcp_wmem's maximum, 4 MiB on Linux). Bounds what a client that stops
    /// reading holds in the kernel before its queue starts to fill.
    #[arg(long, env = "SOCKET_SEND_BUFFER", value_name = "BYTES", value_parser = clap::value_parser!(u32).range(4096..))]
    pub socket_send_buffer: Option<u32>,
    /// Serve the Control API (/admin/..., D8). `off` for a server whose conferences are
    /// written into MongoDB and Redis by another backend: no /admin route (404) and no
    /// ADMIN_TOKEN needed.
    #[arg(long, env = "CONTROL_API", value_enum, default_value = "on")]
    pub control_api: ControlApi,
}

/// Packets a socket may have queued by default: 8,192 `audience:joined` are 6.5 s of a
/// 1,250-joins-a-second ramp for a host whose writer the node could not run (see
/// docs/reference-server.md).
pub const DEFAULT_SOCKET_QUEUE: u32 = 8192;

/// Whether the Control API (D8) is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ControlApi {
    /// Served, with the bearer token ADMIN_TOKEN.
    On,
    /// Not served: /admin/... answers 404.
    Off,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// The configuration cannot make a server: a secret is missing, the ways of verifying tokens
/// conflict, or the public key cannot be used. The binary exits with code 2 on any of them.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The variable is unset or empty.
    #[error("{name} is not set: export {name}=<{what}> before starting the server, or {instead}")]
    MissingSecret {
        /// The variable.
        name: &'static str,
        /// What it is.
        what: &'static str,
        /// The other way to start.
        instead: &'static str,
    },
    /// Neither `JWT_SECRET` nor `--jwt-public-key`.
    #[error(
        "JWT_SECRET is not set and no --jwt-public-key is given: export JWT_SECRET=<the HS256 \
         secret that signs client tokens>, or give --jwt-public-key FILE (or JWT_PUBLIC_KEY_FILE) \
         with the PEM public key of RS256 / ES256 client tokens"
    )]
    NoTokenVerification,
    /// Both `JWT_SECRET` and `--jwt-public-key`.
    #[error(
        "both JWT_SECRET and --jwt-public-key {} are given, but tokens are verified one way: \
         unset JWT_SECRET to verify RS256 / ES256 tokens with the public key, or drop \
         --jwt-public-key (and JWT_PUBLIC_KEY_FILE) to verify HS256 tokens with the secret",
        .0.display()
    )]
    BothTokenVerifications(PathBuf),
    /// The public key file cannot be read.
    #[error("--jwt-public-key {}: cannot read the file: {error}", path.display())]
    KeyFileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why (in the message, so not a `source`).
        error: std::io::Error,
    },
    /// The public key file holds no key the server can verify tokens with.
    #[error("--jwt-public-key {}: {reason}", path.display())]
    UnusableKey {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
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

/// The variable's value, unless it is unset or blank.
fn env_secret(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Bytes 3 to 23 of the DER of every P-256 public key (a SubjectPublicKeyInfo), in base64:
/// its algorithm, id-ecPublicKey, and its curve, prime256v1. Bytes 0 to 2 (the first four
/// base64 characters) hold a length, which differs between compressed and uncompressed points.
const P256_SPKI_ALGORITHM: &str = "EwYHKoZIzj0CAQYIKoZIzj0DAQcD";

/// The verifier of the PEM public key `pem` (the contents of `path`): RS256 for an RSA key,
/// ES256 for an EC P-256 key.
///
/// [`Verifier::from_public_key_pem`] alone would also take an RSA *private* key (and then refuse
/// every token) and an EC key on another curve (taken for ES256), so both are refused here with
/// what to do instead.
///
/// # Errors
///
/// [`ConfigError::UnusableKey`], naming `path` and what is wrong.
///
/// ```
/// use reference_server::config::public_key_verifier;
/// use lcr_protocol::token::SigningAlgorithm;
/// let pem = std::fs::read("../profiles/keys/es256-public.pem").unwrap();
/// let v = public_key_verifier("es256-public.pem".as_ref(), &pem).unwrap();
/// assert_eq!(v.algorithm(), SigningAlgorithm::Es256);
/// let err = public_key_verifier("notes.txt".as_ref(), b"hello").unwrap_err();
/// assert!(err.to_string().starts_with("--jwt-public-key notes.txt: "));
/// ```
pub fn public_key_verifier(path: &Path, pem: &[u8]) -> Result<Verifier, ConfigError> {
    let unusable = |reason: String| ConfigError::UnusableKey {
        path: path.to_owned(),
        reason,
    };
    let text = String::from_utf8_lossy(pem);
    if text.contains("PRIVATE KEY-----") {
        return Err(unusable(format!(
            "this is a private key; the server needs only the public key (make it with \
             `openssl pkey -in {} -pubout -out public.pem`)",
            path.display()
        )));
    }
    let verifier = Verifier::from_public_key_pem(pem).map_err(|e: KeyError| {
        unusable(format!(
            "no RSA or EC P-256 public key in it ({e}); see profiles/keys/README.md"
        ))
    })?;
    if verifier.algorithm() == SigningAlgorithm::Es256 {
        let first_line = text
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN PUBLIC KEY-----"))
            .nth(1)
            .unwrap_or_default();
        if first_line.get(4..32) != Some(P256_SPKI_ALGORITHM) {
            return Err(unusable(
                "an EC public key on another curve than P-256 (ES256 is ECDSA on P-256)".into(),
            ));
        }
    }
    Ok(verifier)
}

impl Cli {
    /// How client tokens are verified: `JWT_SECRET` (HS256) or `--jwt-public-key`
    /// (RS256 / ES256), exactly one of them.
    ///
    /// # Errors
    ///
    /// Neither or both given, or a key file that cannot be read or used.
    pub fn client_tokens(&self) -> Result<ClientTokens, ConfigError> {
        match (env_secret("JWT_SECRET"), &self.jwt_public_key) {
            (None, None) => Err(ConfigError::NoTokenVerification),
            (Some(_), Some(path)) => Err(ConfigError::BothTokenVerifications(path.clone())),
            (Some(secret), None) => Ok(ClientTokens::Secret(secret)),
            (None, Some(path)) => {
                let pem = std::fs::read(path).map_err(|error| ConfigError::KeyFileUnreadable {
                    path: path.clone(),
                    error,
                })?;
                public_key_verifier(path, &pem).map(ClientTokens::Verifier)
            }
        }
    }

    /// The server configuration, with the secrets read from the environment.
    ///
    /// # Errors
    ///
    /// See [`Cli::client_tokens`]; and `ADMIN_TOKEN` unset while the Control API is on.
    pub fn into_config(self) -> Result<ServerConfig, ConfigError> {
        let tokens = self.client_tokens()?;
        let admin_token = match self.control_api {
            ControlApi::On => {
                Some(env_secret("ADMIN_TOKEN").ok_or(ConfigError::MissingSecret {
                    name: "ADMIN_TOKEN",
                    what: "the bearer token of the Control API",
                    instead: "start it with --control-api off to serve no Control API",
                })?)
            }
            ControlApi::Off => None,
        };
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
            tokens,
            admin_token,
            ping: (Duration::from_secs(25), Duration::from_secs(20)),
            socket_queue: self.socket_queue as usize,
            socket_send_buffer: self.socket_send_buffer.map(|b| b as usize),
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
    /// How the handshake tokens are verified (D2).
    pub tokens: ClientTokens,
    /// Bearer token of the Control API (D8); `None`: the Control API is not served, every
    /// `/admin/...` path answers 404 (`--control-api off`).
    pub admin_token: Option<String>,
    /// Engine.IO heartbeat: how often the server pings, and how long it waits for the pong.
    pub ping: (Duration, Duration),
    /// Packets a socket may have queued; a socket found with a full queue is disconnected.
    pub socket_queue: usize,
    /// `SO_SNDBUF` of accepted connections (`None`: the kernel's autotuning).
    pub socket_send_buffer: Option<usize>,
    /// MongoDB for the catalog and final results (D23); `None`: the catalog lives in Redis
    /// (or in process) and results go to [`ServerConfig::results_file`].
    pub mongo: Option<MongoConfig>,
    /// Origins CORS allows (`*` for any).
    pub cors_origins: Vec<String>,
}

/// How a server verifies client tokens (D2): with exactly one algorithm and its key.
#[derive(Clone)]
pub enum ClientTokens {
    /// HS256 with a shared secret (`JWT_SECRET`). Whoever holds it can mint tokens, as the
    /// tests, the suite and the load generator do for a server they run in process.
    Secret(String),
    /// Any other [`Verifier`]: RS256 or ES256 with a public key (`--jwt-public-key`). Tokens are
    /// signed elsewhere, with the private key.
    Verifier(Verifier),
}

impl ClientTokens {
    /// The verifier the handshake uses.
    ///
    /// ```
    /// use reference_server::config::ClientTokens;
    /// let jwt = lcr_protocol::token::mint("s", "alex", 60).unwrap();
    /// let v = ClientTokens::Secret("s".into()).verifier();
    /// assert_eq!(v.verify(&jwt).unwrap().user_id, "alex");
    /// ```
    pub fn verifier(&self) -> Verifier {
        match self {
            ClientTokens::Secret(secret) => Verifier::hs256(secret),
            ClientTokens::Verifier(v) => v.clone(),
        }
    }

    /// The one algorithm accepted.
    pub fn algorithm(&self) -> SigningAlgorithm {
        match self {
            ClientTokens::Secret(_) => SigningAlgorithm::Hs256,
            ClientTokens::Verifier(v) => v.algorithm(),
        }
    }

    /// The HS256 secret, when tokens are verified with one (and can be minted with it).
    pub fn secret(&self) -> Option<&str> {
        match self {
            ClientTokens::Secret(secret) => Some(secret),
            ClientTokens::Verifier(_) => None,
        }
    }
}

impl std::fmt::Debug for ClientTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        match self {
            ClientTokens::Secret(_) => f.write_str("Secret(HS256)"),
            ClientTokens::Verifier(v) => f.debug_tuple("Verifier").field(v).finish(),
        }
    }
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
    /// In-memory store, a free port on 127.0.0.1, results in a temporary file; client tokens
    /// are HS256 with `jwt_secret`, the Control API is served with `admin_token`.
    pub fn embedded(jwt_secret: &str, admin_token: &str) -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            store: StoreConfig::Memory,
            results_file: std::env::temp_dir()
                .join(format!("lcr-results-{}.jsonl", std::process::id())),
            settings: Settings::default(),
            tokens: ClientTokens::Secret(jwt_secret.to_owned()),
            admin_token: Some(admin_token.to_owned()),
            ping: (Duration::from_secs(25), Duration::from_secs(20)),
            socket_queue: DEFAULT_SOCKET_QUEUE as usize,
            socket_send_buffer: None,
            mongo: None,
            cors_origins: vec!["*".into()],
        }
    }
}

impl ServerConfig {
    /// The same configuration verifying client tokens with `verifier` (RS256 / ES256 with a
    /// public key, or any other) instead of its HS256 secret.
    ///
    /// ```
    /// use lcr_protocol::token::{SigningAlgorithm, Verifier};
    /// use reference_server::ServerConfig;
    /// let pem = std::fs::read("../profiles/keys/rs256-public.pem").unwrap();
    /// let c = ServerConfig::embedded("unused", "a")
    ///     .with_verifier(Verifier::from_public_key_pem(&pem).unwrap());
    /// assert_eq!(c.tokens.algorithm(), SigningAlgorithm::Rs256);
    /// assert_eq!(c.tokens.secret(), None);
    /// ```
    pub fn with_verifier(mut self, verifier: Verifier) -> Self {
        self.tokens = ClientTokens::Verifier(verifier);
        self
    }

    /// The same configuration without the Control API (`--control-api off`): conferences come
    /// from MongoDB and Redis, written by another backend.
    ///
    /// ```
    /// use reference_server::ServerConfig;
    /// assert!(ServerConfig::embedded("s", "a").without_control_api().admin_token.is_none());
    /// ```
    pub fn without_control_api(mut self) -> Self {
        self.admin_token = None;
        self
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// An example key of `profiles/keys/`.
    fn key(name: &str) -> (PathBuf, Vec<u8>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../profiles/keys")
            .join(name);
        let pem = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        (path, pem)
    }

    fn refusal(path: &Path, pem: &[u8]) -> String {
        let err = public_key_verifier(path, pem).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("--jwt-public-key {}: ", path.display())),
            "{text}"
        );
        text
    }

    #[test]
    fn an_rsa_public_key_means_rs256_and_a_p256_key_es256() {
        for (name, alg) in [
            ("rs256-public.pem", SigningAlgorithm::Rs256),
            ("es256-public.pem", SigningAlgorithm::Es256),
        ] {
            let (path, pem) = key(name);
            let v = public_key_verifier(&path, &pem).unwrap();
            assert_eq!(v.algorithm(), alg, "{name}");
        }
        // The same keys in other encodings: PKCS#1 RSA, and the P-256 point compressed.
        let pkcs1 = b"-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAl4qgtZduCb5EEGz6dORYdVCDa8xtGC2OeBRymuMCUkxmnGfEIshY
hVB2pgEWOYGxTd7La69fI7cxOSBMGHfKg+hAimgY8+zXe3TJfllriwgs3pLleZVZ
V1vxcpwWDO9IaGxvIHw6GzC1BVKBL0gqTscthPm4Uref2tv+q35FmDKlJOe/UaJR
2Cl+SAKj2tjEx5uK8suhI7YX3t/w2AVUYOkiRpnXsDpKQrr1QISkNNE2/5AfzeKS
WsGteeZ7LHy1wvYjWEV1cyH9qhnKGe8gZf+85s/JiBrncICDrwAvtHFNNjAoNYeo
QLXcw09O+VOX+sIdJ1Yj3Or2DkiQQqjYYQIDAQAB
-----END RSA PUBLIC KEY-----
";
        let v = public_key_verifier(Path::new("pkcs1.pem"), pkcs1).unwrap();
        assert_eq!(v.algorithm(), SigningAlgorithm::Rs256);
        let compressed = b"-----BEGIN PUBLIC KEY-----
MDkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDIgAD3UNjPJ16ySjJFthp4ejwOzoVGZRD
SCkd2qzYg2Sk1Ps=
-----END PUBLIC KEY-----
";
        let v = public_key_verifier(Path::new("compressed.pem"), compressed).unwrap();
        assert_eq!(v.algorithm(), SigningAlgorithm::Es256);
        let (_, es256_private) = key("es256-private.pem");
        let jwt = lcr_protocol::token::Signer::from_private_key_pem(
            SigningAlgorithm::Es256,
            &es256_private,
        )
        .unwrap()
        .sign(&serde_json::json!({"userId": "alex", "exp": u64::from(u32::MAX)}))
        .unwrap();
        assert_eq!(v.verify(&jwt).unwrap().user_id, "alex");
    }

    #[test]
    fn private_keys_are_refused_with_how_to_get_the_public_one() {
        for name in ["rs256-private.pem", "es256-private.pem"] {
            let (path, pem) = key(name);
            let text = refusal(&path, &pem);
            assert!(
                text.contains("private key") && text.contains("-pubout"),
                "{text}"
            );
        }
    }

    #[test]
    fn keys_of_no_supported_kind_are_refused() {
        // P-384: an EC key, but not ES256's curve.
        let p384 = b"-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE0KkmvuJjJLM8oKSnJ+ydPcEo0IeTIsEB
sestuzMwc0G4CffG0peRBmrsxDkOtVX+HN/eyMaioFGhp4yl6B9KiCaXuMqW8spN
8gFTMsyr+WF7NAa2fkA3ry5I4c5RrkyK
-----END PUBLIC KEY-----
";
        let text = refusal(Path::new("p384.pem"), p384);
        assert!(text.contains("another curve than P-256"), "{text}");
        let ed25519 = b"-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEApQPNoG0Sgi9q13E/gdxApPllK+4/4D1E1dZHuRDM4vU=
-----END PUBLIC KEY-----
";
        let text = refusal(Path::new("ed25519.pem"), ed25519);
        assert!(text.contains("no RSA or EC P-256 public key"), "{text}");
        let text = refusal(Path::new("Cargo.toml"), b"[package]\nname = \"x\"\n");
        assert!(text.contains("no RSA or EC P-256 public key"), "{text}");
    }

    #[test]
    fn the_control_api_is_on_unless_turned_off() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("reference-server").chain(args.iter().copied()))
        };
        assert_eq!(parse(&[]).unwrap().control_api, ControlApi::On);
        assert_eq!(
            parse(&["--control-api", "off"]).unwrap().control_api,
            ControlApi::Off
        );
        assert!(parse(&["--control-api", "maybe"]).is_err());
        let with_key = parse(&["--jwt-public-key", "k.pem"]).unwrap();
        assert_eq!(with_key.jwt_public_key, Some(PathBuf::from("k.pem")));
    }

    #[test]
    fn client_tokens_keep_the_secret_out_of_debug() {
        let tokens = ClientTokens::Secret("hunter2".into());
        assert!(!format!("{tokens:?}").contains("hunter2"));
        assert_eq!(tokens.secret(), Some("hunter2"));
        assert_eq!(tokens.algorithm(), SigningAlgorithm::Hs256);
    }
}
