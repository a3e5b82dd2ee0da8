//! The profile file as written: TOML, every section optional, unknown keys refused (a typo must
//! not silently fall back to a default). [`crate::Profile::load`] turns it into a checked
//! [`crate::Profile`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Shown in reports and the matrix.
    pub name: Option<String>,
    /// Processes to start before the run and stop after it, one per node.
    #[serde(default)]
    pub server: Vec<ServerFile>,
    /// Where the server is.
    #[serde(default)]
    pub target: TargetFile,
    /// How its users get tokens.
    pub auth: Option<AuthFile>,
    /// How a conference is created, activated and ended.
    pub fixtures: Option<FixturesFile>,
    /// What the server claims.
    #[serde(default)]
    pub capabilities: CapabilitiesFile,
    /// How to take a node or MongoDB away and back.
    #[serde(default)]
    pub controls: ControlsFile,
}

/// `[[server]]`: a process that is one node of the server under test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    /// Run with `sh -c`; `{port}` is a free port chosen for this node, `{reference-server}` the
    /// reference server's binary.
    pub command: String,
    /// Environment of the process.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The node's URL (default `http://127.0.0.1:{port}`).
    pub url: Option<String>,
    /// A path answering 200 once the node is ready (default: the Engine.IO handshake).
    pub ready: Option<String>,
    /// How long to wait for it (default 30 s).
    pub ready_timeout_secs: Option<u64>,
}

/// `[target]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// One URL per node, node 1 first.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// The Socket.IO path (default `/socket.io/`).
    pub path: Option<String>,
    /// Transports the server offers (default both).
    pub transports: Option<Vec<String>>,
    /// The server's Redis, for the `@redis` scenarios.
    pub redis_url: Option<String>,
    /// The server's MongoDB, for the `@mongo` scenarios and the `store` fixture.
    pub mongo_url: Option<String>,
    /// Its database (default `livepoll`).
    pub mongo_db: Option<String>,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthFile {
    /// `hs256`, `rs256`, `es256` or `command`.
    pub kind: String,
    /// HS256 secret.
    pub secret: Option<String>,
    /// RS256/ES256 private key (PEM), relative to the profile.
    pub private_key: Option<String>,
    /// Prints a token for `{user}` on its standard output.
    pub command: Option<String>,
    /// The claims that carry the user id: the first is where tokens put it, the others are
    /// also read by the server (default `["userId", "sub"]`).
    pub user_claims: Option<Vec<String>>,
    /// More claims in every token (e.g. `type = "user"`).
    #[serde(default)]
    pub claims: serde_json::Map<String, Value>,
    /// Seconds a token lives (default 3600).
    pub lifetime_secs: Option<u64>,
    /// Where a token travels: the first is how clients send it, the others are also accepted
    /// (`auth`, `query`, `header`; default `["auth", "header"]`).
    pub carriers: Option<Vec<String>>,
    /// The auth payload field (default `token`).
    pub auth_field: Option<String>,
    /// The query parameter (default `token`).
    pub query_param: Option<String>,
}

/// `[fixtures]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixturesFile {
    /// `control-api`, `http`, `command` or `store`.
    pub kind: String,
    /// `[fixtures.control_api]`.
    pub control_api: Option<ControlApiFile>,
    /// `[fixtures.http]`.
    pub http: Option<HttpFile>,
    /// `[fixtures.command]`.
    pub command: Option<CommandFile>,
    /// `[fixtures.store]`.
    pub store: Option<StoreFile>,
}

/// `[fixtures.control_api]`: the Control API of D8.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlApiFile {
    /// The bearer token of `/admin`.
    pub admin_token: Option<String>,
    /// Where the API is (default node 1).
    pub base_url: Option<String>,
}

/// `[fixtures.http]`: request templates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFile {
    /// Where the API is (default node 1).
    pub base_url: Option<String>,
    /// Headers of every request (placeholders allowed).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Creates the conference.
    pub create: RequestFile,
    /// Adds one question (omit when `create` sends `{questions}`).
    pub add_question: Option<RequestFile>,
    /// Activates the conference.
    pub activate: Option<RequestFile>,
    /// Ends the conference.
    pub end: Option<RequestFile>,
}

/// One request template.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFile {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE` (default `POST`).
    pub method: Option<String>,
    /// Path after the base URL, with placeholders.
    pub path: String,
    /// More headers for this request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body, with placeholders.
    pub body: Option<toml::Value>,
    /// The status that means success (default: any 2xx).
    pub status: Option<u16>,
    /// A JSON pointer into the answer where the server's id of the created thing is.
    pub id: Option<String>,
}

/// `[fixtures.command]`: one shell command per step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandFile {
    /// Creates the conference in the status asked.
    pub create: String,
    /// Activates it.
    pub activate: Option<String>,
    /// Ends it.
    pub end: Option<String>,
}

/// `[fixtures.store]`: straight into MongoDB and Redis.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreFile {
    /// Default: the target's.
    pub redis_url: Option<String>,
    /// Default: the target's.
    pub mongo_url: Option<String>,
    /// Default: the target's, else `livepoll`.
    pub mongo_db: Option<String>,
}

/// `[capabilities]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapabilitiesFile {
    /// `"all"` (default) or a list of decision ids.
    pub decisions: Option<Decisions>,
    /// Decisions the server does not follow.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Optional parts the server has (default: what the rest of the profile implies).
    pub parts: Option<Vec<String>>,
}

/// `decisions = "all"` or `decisions = ["D1", …]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Decisions {
    /// `"all"`.
    All(String),
    /// A list.
    Some(Vec<String>),
}

/// `[controls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlsFile {
    /// Kills node `{node}` (1-based) as in a crash.
    pub node_down: Option<String>,
    /// Starts node `{node}` again, returning once it is ready.
    pub node_up: Option<String>,
    /// Stops node `{node}` gracefully, returning once it has exited.
    pub node_stop: Option<String>,
    /// Makes MongoDB unreachable.
    pub mongo_down: Option<String>,
    /// Brings it back.
    pub mongo_up: Option<String>,
}
