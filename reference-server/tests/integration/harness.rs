//! Test harness: real Redis processes, in-process servers, Control API calls and socket actors.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lcr_client::{ClientConfig, ConnectError, Events, Received, connect};
use lcr_protocol::admin::QuestionSpec;
use lcr_protocol::{ConferenceStatus, event};
use lcr_testkit::conference;
use reference_server::config::Settings;
use reference_server::server::{RunningServer, ServerConfig, StoreConfig, start};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const JWT_SECRET: &str = "test-jwt-secret";
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// How long a test waits for an event that must come.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a test listens to be sure an event does not come.
pub const QUIET: Duration = Duration::from_millis(600);

pub use lcr_testkit::{RedisProcess, free_port};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    Redis,
    /// Redis with an append-only file fsynced as named (`always`, `everysec`): a restart keeps
    /// the data.
    RedisAof(&'static str),
}

/// A server under test, its Redis (if any) and a unique-id factory.
pub struct Env {
    pub server: Option<RunningServer>,
    pub redis: Option<RedisProcess>,
    /// MongoDB (catalog and results), when the test asked for it.
    pub mongo: Option<lcr_testkit::MongoProcess>,
    pub addr: SocketAddr,
    pub results_file: PathBuf,
    prefix: String,
}

static ENV_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Env {
    pub async fn start(store: Store) -> Env {
        Env::start_with(store, |_| {}).await
    }

    pub async fn start_with(store: Store, tune: impl FnOnce(&mut Settings)) -> Env {
        Env::start_full(store, false, tune).await
    }

    /// A server on `store`, with MongoDB as catalog and results sink when `mongo`.
    pub async fn start_full(store: Store, mongo: bool, tune: impl FnOnce(&mut Settings)) -> Env {
        Env::start_configured(store, mongo, |mut config| {
            tune(&mut config.settings);
            config
        })
        .await
    }

    /// A server on `store` (and MongoDB when `mongo`) whose configuration `configure` changes
    /// last (how tokens are verified, the Control API, tunables).
    pub async fn start_configured(
        store: Store,
        mongo: bool,
        configure: impl FnOnce(ServerConfig) -> ServerConfig,
    ) -> Env {
        let redis = match store {
            Store::Memory => None,
            Store::Redis => Some(RedisProcess::start()),
            Store::RedisAof(fsync) => {
                let dir = std::env::temp_dir().join(format!(
                    "lcr-aof-{}-{}",
                    std::process::id(),
                    ENV_COUNTER.load(Ordering::Relaxed)
                ));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).expect("a directory for the append-only file");
                Some(RedisProcess::start_with_aof(&dir, fsync))
            }
        };
        let mongo = mongo.then(lcr_testkit::MongoProcess::start);
        let n = ENV_COUNTER.fetch_add(1, Ordering::Relaxed);
        let results_file = std::env::temp_dir().join(format!(
            "lcr-test-{}-{n}-{}.jsonl",
            std::process::id(),
            lcr_protocol::now_millis()
        ));
        let mut config = ServerConfig::embedded(JWT_SECRET, ADMIN_TOKEN);
        config.results_file = results_file.clone();
        if let Some(r) = &redis {
            config.store = StoreConfig::Redis {
                url: r.url(),
                pool_size: 4,
            };
        }
        let config = configure(config.on_mongo(mongo.as_ref().map(|m| m.url()).as_deref()));
        let server = start(config).await.expect("server starts");
        Env {
            addr: server.local_addr,
            server: Some(server),
            redis,
            mongo,
            results_file,
            prefix: format!("t{n}x{}", lcr_protocol::now_millis() % 1_000_000),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A fresh identifier, unique across tests.
    pub fn id(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// A Control API call; returns the status and the JSON body.
    pub async fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        http(self.addr, method, path, token, body.map(|b| b.to_string())).await
    }

    /// Creates an ACTIVE conference hosted by `host` with the standard questions.
    pub async fn active_conference(&self, host: &str) -> String {
        let cid = self.conference(host, ConferenceStatus::Draft).await;
        self.activate(&cid).await;
        cid
    }

    /// Like [`Env::active_conference`] with other question ids.
    pub async fn active_conference_with(&self, host: &str, questions: &[(&str, &str)]) -> String {
        let cid = self
            .conference_with(host, ConferenceStatus::Draft, questions)
            .await;
        self.activate(&cid).await;
        cid
    }

    /// Creates a conference with the standard questions q1 (A right), q2 (B), q3 (C), in `status`.
    pub async fn conference(&self, host: &str, status: ConferenceStatus) -> String {
        self.conference_with(host, status, &conference::QUESTIONS)
            .await
    }

    /// Creates a conference with the given (questionId, correct option) questions.
    /// Question ids are global (spec §2 keys), so each conference of a test needs its own.
    pub async fn conference_with(
        &self,
        host: &str,
        status: ConferenceStatus,
        questions: &[(&str, &str)],
    ) -> String {
        let cid = self.id(&format!(
            "conf{}",
            ENV_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let spec = conference::spec(
            host,
            Some(status),
            questions.iter().map(|(q, c)| question(q, c)).collect(),
        );
        let (code, body) = self
            .http(
                "PUT",
                &lcr_protocol::admin::conference_path(&cid),
                Some(ADMIN_TOKEN),
                Some(serde_json::to_value(&spec).unwrap()),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        cid
    }

    pub async fn activate(&self, cid: &str) {
        let (code, body) = self
            .http(
                "POST",
                &lcr_protocol::admin::activate_path(cid),
                Some(ADMIN_TOKEN),
                None,
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }

    pub async fn end(&self, cid: &str) {
        let (code, body) = self
            .http(
                "POST",
                &lcr_protocol::admin::end_path(cid),
                Some(ADMIN_TOKEN),
                None,
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }

    /// Another node on the same Redis (and MongoDB), D25.
    pub async fn another_node(&self, node_id: &str) -> RunningServer {
        let redis = self.redis.as_ref().expect("several nodes need Redis");
        let mut config = ServerConfig::embedded(JWT_SECRET, ADMIN_TOKEN)
            .on_redis(Some(&redis.url()))
            .on_mongo(self.mongo.as_ref().map(|m| m.url()).as_deref());
        config.results_file = self.results_file.clone();
        config.settings.node_id = node_id.to_owned();
        start(config).await.expect("second node starts")
    }

    /// Connects `user` with a valid token to the node at `url`.
    pub async fn actor_at(&self, url: &str, user: &str) -> Actor {
        actor_at(url, user).await
    }

    /// Connects `user` with a valid token.
    pub async fn actor(&self, user: &str) -> Actor {
        let token = lcr_protocol::token::mint(JWT_SECRET, user, 3600).unwrap();
        self.actor_with(
            user,
            ClientConfig::new(self.url()).auth(json!({ "token": token })),
        )
        .await
        .expect("connects")
    }

    pub async fn actor_with(&self, user: &str, cfg: ClientConfig) -> Result<Actor, ConnectError> {
        let (client, events) = connect(&cfg).await?;
        Ok(Actor {
            user: user.to_owned(),
            client,
            events,
        })
    }

    /// Connects `user` and joins `cid`, returning the actor and the `conference:joined` payload.
    pub async fn joined(&self, user: &str, cid: &str) -> (Actor, Value) {
        let mut a = self.actor(user).await;
        let joined = a.join(cid).await;
        (a, joined)
    }

    /// The final results written so far (D23 JSON Lines).
    pub fn results(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.results_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.results_file);
    }
}

/// Connects `user` with a valid token to the server at `url`.
pub async fn actor_at(url: &str, user: &str) -> Actor {
    let token = lcr_protocol::token::mint(JWT_SECRET, user, 3600).unwrap();
    let cfg = ClientConfig::new(url.to_owned()).auth(json!({ "token": token }));
    let (client, events) = connect(&cfg).await.expect("connects");
    Actor {
        user: user.to_owned(),
        client,
        events,
    }
}

/// A standard question (options A–D, see [`lcr_testkit::conference`]), text "Question {id}?",
/// `correct` right.
pub fn question(id: &str, correct: &str) -> QuestionSpec {
    conference::question(id, conference::question_text(id), correct)
}

/// One connected user.
pub struct Actor {
    pub user: String,
    pub client: lcr_client::Client,
    pub events: Events,
}

impl Actor {
    pub fn emit(&self, event: &str, data: Value) {
        self.client.emit(event, &data).expect("socket open");
    }

    /// The next `event` within [`WAIT`]; panics with what came instead.
    pub async fn expect(&mut self, event: &str) -> Value {
        match self.events.expect(event, WAIT).await {
            Some(r) => r.data,
            None => {
                let got: Vec<String> = self
                    .events
                    .drain_for(Duration::ZERO)
                    .await
                    .into_iter()
                    .map(|r| format!("{} {}", r.name, r.data))
                    .collect();
                panic!(
                    "{} expected {event} within {WAIT:?}; closed: {:?}; received instead: {got:?}",
                    self.user,
                    self.events.closed_reason()
                )
            }
        }
    }

    /// The next `event`, as received (with its arrival time).
    pub async fn expect_received(&mut self, event: &str) -> Received {
        self.events
            .expect(event, WAIT)
            .await
            .unwrap_or_else(|| panic!("{} expected {event}", self.user))
    }

    /// Asserts no `event` arrives within [`QUIET`] (other events are kept).
    pub async fn expect_none(&mut self, event: &str) {
        if let Some(r) = self.events.expect(event, QUIET).await {
            panic!("{} must not receive {event}, got {}", self.user, r.data);
        }
    }

    /// The next `error` event; asserts its code.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let e = self.expect(event::ERROR).await;
        assert_eq!(e["code"], code, "{} got {e}", self.user);
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        assert!(e["timestamp"].as_i64().is_some(), "{e}");
        assert!(e["context"]["event"].as_str().is_some(), "{e}");
        e
    }

    /// The next `vote:rejected`; asserts its reason.
    pub async fn expect_rejected(&mut self, reason: &str) -> Value {
        let r = self.expect(event::VOTE_REJECTED).await;
        assert_eq!(r["reason"], reason, "{} got {r}", self.user);
        r
    }

    pub async fn join(&mut self, cid: &str) -> Value {
        self.emit(event::CONFERENCE_JOIN, json!({ "conferenceId": cid }));
        self.expect(event::CONFERENCE_JOINED).await
    }

    pub fn push(&self, cid: &str, qid: &str, duration: Option<u32>) {
        let mut p = json!({ "conferenceId": cid, "questionId": qid });
        if let Some(d) = duration {
            p["duration"] = json!(d);
        }
        self.emit(event::QUESTION_PUSH_LIVE, p);
    }

    pub fn vote(&self, cid: &str, qid: &str, option: &str) {
        self.emit(
            event::VOTE_SUBMIT,
            json!({ "conferenceId": cid, "questionId": qid, "selectedOption": option }),
        );
    }

    pub fn close_question(&self, cid: &str, qid: &str) {
        self.emit(
            event::QUESTION_CLOSE,
            json!({ "conferenceId": cid, "questionId": qid }),
        );
    }

    /// Everything received in the next `within`.
    pub async fn drain(&mut self, within: Duration) -> Vec<Received> {
        self.events.drain_for(within).await
    }
}

/// A bare HTTP/1.1 request (no client library needed for the Control API).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let payload = text.split("\r\n\r\n").nth(1).unwrap_or("");
    (
        status,
        serde_json::from_str(payload).unwrap_or(Value::String(payload.to_owned())),
    )
}

/// Runs the same async test on both stores.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),+ $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::harness::Store::Memory).await }) +
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::harness::Store::Redis).await }) +
        }
    };
}
