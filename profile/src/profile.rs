//! A checked target profile: the file read ([`crate::file`]), `${VAR}` taken from the
//! environment, relative paths made absolute, defaults filled in, every value checked, and the
//! command line's flags laid over it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::capabilities::{Capabilities, Part};

/// Why a profile cannot be used. Every message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// `--target` was given without the JWT secret.
    #[error("--jwt-secret (or JWT_SECRET) is required with --target")]
    MissingJwtSecret,
    /// `--target` was given without the Control API token.
    #[error("--admin-token (or ADMIN_TOKEN) is required with --target")]
    MissingAdminToken,
    /// The in-process reference server did not start.
    #[error("starting the in-process reference server")]
    Start(#[source] reference_server::ServerError),
    /// The in-process configuration is one a run cannot drive: it takes tokens the run cannot
    /// mint (no HS256 secret), or it serves no Control API.
    #[error("the in-process reference server must {0}")]
    UnusableEmbedded(String),
    /// The file cannot be read.
    #[error("profile {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a profile (an unknown key, a wrong type).
    #[error("profile {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, with the line.
        message: String,
    },
    /// A value is missing or not allowed.
    #[error("profile {source_name}: {key}: {reason}")]
    Invalid {
        /// The file, or `command line`.
        source_name: String,
        /// The key, dotted (`auth.private_key`).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A server of the profile did not start.
    #[error("profile server {node}: {reason}")]
    Launch {
        /// Its node number, 1-based.
        node: usize,
        /// What happened.
        reason: String,
    },
}

/// A transport the server offers (D1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Transport {
    /// WebSocket.
    Websocket,
    /// HTTP long-polling.
    Polling,
}

/// Where the server is.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `http://host:port` of each node, node 1 first; never empty once resolved.
    pub nodes: Vec<String>,
    /// The Socket.IO path, with leading and trailing `/`.
    pub path: String,
    /// The transports it offers.
    pub transports: Vec<Transport>,
    /// The server's Redis (spec keys, `@redis`).
    pub redis_url: Option<String>,
    /// The server's MongoDB (`@mongo`, the `store` fixture).
    pub mongo_url: Option<String>,
    /// Its database.
    pub mongo_db: String,
}

/// How tokens are made.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSource {
    /// HS256 with a shared secret.
    Hs256 {
        /// The secret.
        secret: String,
    },
    /// RS256 with a private key (PEM).
    Rs256 {
        /// The key file.
        private_key: PathBuf,
    },
    /// ES256 with a private key (PEM).
    Es256 {
        /// The key file.
        private_key: PathBuf,
    },
    /// A program that prints a token for `{user}`.
    Command {
        /// The command, run with `sh -c`.
        command: String,
        /// Its working directory: the profile's folder.
        dir: PathBuf,
    },
}

/// Where a token travels at the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// In the Socket.IO auth payload, `{ <auth_field>: token }`.
    Auth,
    /// In a query parameter of the handshake URL.
    Query,
    /// In `Authorization: Bearer <token>`.
    Header,
}

/// How the server's users get tokens, and where they send them.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    /// How tokens are made.
    pub source: TokenSource,
    /// The claims the server reads the user id from; tokens put it in the first.
    pub user_claims: Vec<String>,
    /// More claims in every token.
    pub claims: serde_json::Map<String, Value>,
    /// How long a token lives.
    pub lifetime: Duration,
    /// Where tokens travel; clients use the first, the server accepts every one.
    pub carriers: Vec<Carrier>,
    /// The auth payload field.
    pub auth_field: String,
    /// The query parameter.
    pub query_param: String,
}

/// One request of an `http` fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestTemplate {
    /// The method.
    pub method: String,
    /// The path, with placeholders.
    pub path: String,
    /// Headers, with placeholders.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, with placeholders.
    pub body: Option<Value>,
    /// The success status (`None`: any 2xx).
    pub status: Option<u16>,
    /// Where the created thing's id is in the answer (a JSON pointer).
    pub id: Option<String>,
}

/// The request templates of an `http` fixture.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpFixture {
    /// Where the API is (`None`: node 1).
    pub base_url: Option<String>,
    /// Headers of every request.
    pub headers: BTreeMap<String, String>,
    /// Creates the conference.
    pub create: RequestTemplate,
    /// Adds one question.
    pub add_question: Option<RequestTemplate>,
    /// Activates.
    pub activate: Option<RequestTemplate>,
    /// Ends.
    pub end: Option<RequestTemplate>,
}

/// How a conference is created, activated and ended.
#[derive(Debug, Clone, PartialEq)]
pub enum FixtureSpec {
    /// The Control API of D8.
    ControlApi {
        /// `/admin`'s bearer token.
        admin_token: String,
        /// Where the API is (`None`: node 1).
        base_url: Option<String>,
    },
    /// A deployment's own HTTP API, by request templates.
    Http(Box<HttpFixture>),
    /// Shell commands, the conference as JSON on standard input.
    Command {
        /// Creates.
        create: String,
        /// Activates.
        activate: Option<String>,
        /// Ends.
        end: Option<String>,
        /// Their working directory: the profile's folder.
        dir: PathBuf,
    },
    /// The existing backend's MongoDB collections and the spec's Redis keys, written directly.
    Store {
        /// Redis.
        redis_url: String,
        /// MongoDB.
        mongo_url: String,
        /// Its database.
        mongo_db: String,
    },
}

/// A process that is one node.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    /// With `{port}` and `{reference-server}` still in it.
    pub command: String,
    /// Its environment.
    pub env: BTreeMap<String, String>,
    /// Its URL, with `{port}` still in it.
    pub url: String,
    /// The readiness path (`None`: the Engine.IO handshake).
    pub ready: Option<String>,
    /// How long to wait for it.
    pub ready_timeout: Duration,
    /// Its working directory: the profile's folder, so relative paths in the command work.
    pub dir: PathBuf,
}

/// Shell commands taking parts of the environment away and back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Controls {
    /// Kills node `{node}`.
    pub node_down: Option<String>,
    /// Starts node `{node}` again.
    pub node_up: Option<String>,
    /// Stops node `{node}` gracefully.
    pub node_stop: Option<String>,
    /// Makes MongoDB unreachable.
    pub mongo_down: Option<String>,
    /// Brings it back.
    pub mongo_up: Option<String>,
}

/// Everything the suite and the load generator know about a server under test.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Shown in reports.
    pub name: String,
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// Processes to start, one per node.
    pub servers: Vec<ServerSpec>,
    /// Where the server is.
    pub target: Target,
    /// Tokens.
    pub auth: Auth,
    /// Conferences.
    pub fixtures: FixtureSpec,
    /// What it claims.
    pub capabilities: Capabilities,
    /// Environment controls.
    pub controls: Controls,
}

/// What the command line lays over a profile.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--target` (replaces the nodes).
    pub nodes: Vec<String>,
    /// `--jwt-secret` (HS256 tokens with this secret).
    pub jwt_secret: Option<String>,
    /// `--admin-token` (the Control API's token).
    pub admin_token: Option<String>,
    /// `--redis-url`.
    pub redis_url: Option<String>,
    /// `--mongo-url`.
    pub mongo_url: Option<String>,
    /// `--node-down-cmd` and friends.
    pub controls: Controls,
}

impl Overrides {
    /// Keeps only the values whose flag is on the command line `args` (`--target`,
    /// `--jwt-secret`, `--admin-token`, `--redis-url`, `--mongo-url`): with a profile, a
    /// `JWT_SECRET` or `REDIS_URL` that happens to be in the environment must not change what the
    /// profile says (a profile takes what it needs from the environment with `${VAR}`).
    ///
    /// ```
    /// use lcr_profile::Overrides;
    /// let o = Overrides { jwt_secret: Some("from-env".into()), redis_url: Some("redis://r".into()), ..Default::default() };
    /// let args = ["conformance".to_owned(), "--redis-url=redis://r".to_owned()];
    /// let kept = o.given_on(&args);
    /// assert_eq!((kept.jwt_secret, kept.redis_url.as_deref()), (None, Some("redis://r")));
    /// ```
    pub fn given_on(self, args: &[String]) -> Overrides {
        let given = |flag: &str| {
            args.iter()
                .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
        };
        let keep = |flag: &str, v: Option<String>| v.filter(|_| given(flag));
        Overrides {
            nodes: if given("--target") {
                self.nodes
            } else {
                Vec::new()
            },
            jwt_secret: keep("--jwt-secret", self.jwt_secret),
            admin_token: keep("--admin-token", self.admin_token),
            redis_url: keep("--redis-url", self.redis_url),
            mongo_url: keep("--mongo-url", self.mongo_url),
            controls: self.controls,
        }
    }
}

/// The default Socket.IO path (D1).
pub const DEFAULT_PATH: &str = "/socket.io/";
/// The default MongoDB database.
pub const DEFAULT_MONGO_DB: &str = "livepoll";

impl Auth {
    /// The default scheme of D2: HS256 with `secret`, `userId` (then `sub`), `type: "user"`,
    /// an hour, in the auth payload's `token` (or an `Authorization: Bearer` header).
    pub fn hs256(secret: &str) -> Auth {
        Auth {
            source: TokenSource::Hs256 {
                secret: secret.to_owned(),
            },
            user_claims: vec!["userId".into(), "sub".into()],
            claims: serde_json::Map::from_iter([("type".to_owned(), Value::from("user"))]),
            lifetime: Duration::from_secs(3600),
            carriers: vec![Carrier::Auth, Carrier::Header],
            auth_field: "token".into(),
            query_param: "token".into(),
        }
    }
}

impl Profile {
    /// The reference server's profile at `nodes`: HS256 with `jwt_secret`, the Control API with
    /// `admin_token`, every decision and the parts the rest implies.
    pub fn reference(nodes: Vec<String>, jwt_secret: &str, admin_token: &str) -> Profile {
        let mut profile = Profile {
            name: "reference server".into(),
            path: None,
            servers: Vec::new(),
            target: Target {
                nodes,
                path: DEFAULT_PATH.into(),
                transports: vec![Transport::Websocket, Transport::Polling],
                redis_url: None,
                mongo_url: None,
                mongo_db: DEFAULT_MONGO_DB.into(),
            },
            auth: Auth::hs256(jwt_secret),
            fixtures: FixtureSpec::ControlApi {
                admin_token: admin_token.to_owned(),
                base_url: None,
            },
            capabilities: Capabilities::default(),
            controls: Controls::default(),
        };
        profile.capabilities = Capabilities::all_decisions(profile.implied_parts());
        profile
    }

    /// Lays the command line's flags over this profile and checks the result has somewhere to
    /// go: a node (from `[target]`, `[[server]]` or `--target`).
    ///
    /// # Errors
    ///
    /// When no node is known.
    pub fn with(mut self, o: Overrides) -> Result<Profile, ProfileError> {
        if !o.nodes.is_empty() {
            self.target.nodes = o.nodes;
            self.servers.clear();
        }
        if let Some(secret) = o.jwt_secret {
            self.auth.source = TokenSource::Hs256 { secret };
        }
        if let Some(token) = o.admin_token {
            match &mut self.fixtures {
                FixtureSpec::ControlApi { admin_token, .. } => *admin_token = token,
                _ => {
                    return Err(ProfileError::Invalid {
                        source_name: "command line".into(),
                        key: "--admin-token".into(),
                        reason: "the profile's fixtures are not the Control API".into(),
                    });
                }
            }
        }
        if o.redis_url.is_some() {
            self.target.redis_url = o.redis_url;
        }
        if o.mongo_url.is_some() {
            self.target.mongo_url = o.mongo_url;
        }
        let c = o.controls;
        for (mine, theirs) in [
            (&mut self.controls.node_down, c.node_down),
            (&mut self.controls.node_up, c.node_up),
            (&mut self.controls.node_stop, c.node_stop),
            (&mut self.controls.mongo_down, c.mongo_down),
            (&mut self.controls.mongo_up, c.mongo_up),
        ] {
            if theirs.is_some() {
                *mine = theirs;
            }
        }
        if self.target.nodes.is_empty() && self.servers.is_empty() {
            return Err(ProfileError::Invalid {
                source_name: self.source_name(),
                key: "target.nodes".into(),
                reason: "no node: give [target] nodes, a [[server]] to start, or --target".into(),
            });
        }
        if self.capabilities.parts_implied {
            self.capabilities.parts = self.implied_parts();
        }
        Ok(self)
    }

    /// The file, or `command line`, for messages.
    pub fn source_name(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "command line".into(), |p| p.display().to_string())
    }

    /// The parts the rest of the profile implies when `[capabilities] parts` does not say:
    /// the Control API and its metrics with the `control-api` fixture, polling when offered,
    /// several nodes when there are, MongoDB and the spec's Redis keys when their URLs are
    /// given.
    pub fn implied_parts(&self) -> std::collections::BTreeSet<Part> {
        let mut parts = std::collections::BTreeSet::new();
        if matches!(self.fixtures, FixtureSpec::ControlApi { .. }) {
            parts.extend([Part::ControlApi, Part::Metrics]);
        }
        if self.target.transports.contains(&Transport::Polling) {
            parts.insert(Part::Polling);
        }
        if self.target.nodes.len().max(self.servers.len()) > 1 {
            parts.insert(Part::Cluster);
        }
        if self.target.mongo_url.is_some() {
            parts.insert(Part::Mongo);
        }
        if self.target.redis_url.is_some() {
            parts.insert(Part::RedisKeys);
        }
        parts
    }
}
