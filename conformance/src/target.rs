//! The server under test as the steps reach it: its nodes, its profile's tokens and fixture
//! (the only way steps create, activate and end conferences), the Control API when the profile
//! has it, and, optionally, the server's Redis and MongoDB to look into.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fred::prelude::*;
use lcr_profile::{Fixture, FixtureSpec, Profile, Tokens, Transport};
use serde_json::Value;

/// Everything the steps need to reach the server under test.
pub struct Target {
    /// The profile, nodes filled in.
    pub profile: Profile,
    /// Every node's URL, node 1 first.
    pub nodes: Vec<String>,
    /// Tokens made the profile's way.
    pub tokens: Arc<Tokens>,
    /// How conferences are created, activated and ended.
    pub fixture: Fixture,
    /// Killing and restarting nodes, taking MongoDB away.
    pub controls: crate::environment::Controls,
    /// The server's MongoDB, for `@mongo` scenarios.
    pub mongo: Option<reference_server::mongo::MongoDb>,
    /// The server's Redis, for `@redis` scenarios.
    pub redis: Option<Client>,
    /// How long a step waits for an event that must come.
    pub wait: Duration,
    /// How long a step listens to be sure an event does not come.
    pub quiet: Duration,
    http: reqwest::Client,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("profile", &self.profile.name)
            .field("nodes", &self.nodes)
            .field("fixture", &self.fixture)
            .field("redis", &self.redis.is_some())
            .field("mongo", &self.mongo.is_some())
            .finish()
    }
}

static TARGET: OnceLock<Arc<Target>> = OnceLock::new();

/// The target could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Redis unreachable.
    #[error("redis {url}: {source}")]
    Redis {
        /// The URL.
        url: String,
        /// Why.
        source: fred::error::Error,
    },
    /// MongoDB unreachable or its URL invalid.
    #[error("mongodb {url}: {reason}")]
    Mongo {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Tokens cannot be made.
    #[error("{0}")]
    Tokens(#[from] lcr_profile::TokenError),
    /// The fixture cannot be set up.
    #[error("{0}")]
    Fixture(#[from] lcr_profile::FixtureError),
    /// `install` was called twice.
    #[error("the target is already set")]
    AlreadySet,
}

impl Target {
    /// The target of `profile` (its nodes known), with its tokens, its fixture and the
    /// connections to its Redis and MongoDB when the profile names them.
    ///
    /// # Errors
    ///
    /// When a key, Redis or MongoDB cannot be used.
    pub async fn new(
        profile: Profile,
        controls: crate::environment::Controls,
    ) -> Result<Target, TargetError> {
        let tokens = Arc::new(Tokens::new(&profile.auth)?);
        let fixture = Fixture::new(&profile.fixtures, &profile.target, tokens.clone()).await?;
        let redis = match &profile.target.redis_url {
            Some(u) => {
                let err = |source| TargetError::Redis {
                    url: u.clone(),
                    source,
                };
                let client = Builder::from_config(Config::from_url(u).map_err(err)?)
                    .build()
                    .map_err(err)?;
                client.init().await.map_err(err)?;
                Some(client)
            }
            None => None,
        };
        let mongo = match &profile.target.mongo_url {
            Some(u) => {
                let calls = Arc::new(reference_server::metrics::Histogram::default());
                Some(
                    reference_server::mongo::MongoDb::connect(u, &profile.target.mongo_db, calls)
                        .await
                        .map_err(|e| TargetError::Mongo {
                            url: u.clone(),
                            reason: e.to_string(),
                        })?,
                )
            }
            None => None,
        };
        Ok(Target {
            nodes: profile.target.nodes.clone(),
            profile,
            tokens,
            fixture,
            controls,
            mongo,
            redis,
            wait: Duration::from_secs(10),
            quiet: Duration::from_millis(700),
            http: reqwest::Client::new(),
        })
    }

    /// Makes `target` the one every scenario's world uses.
    ///
    /// # Errors
    ///
    /// When one is installed already.
    pub fn install(target: Target) -> Result<(), TargetError> {
        TARGET
            .set(Arc::new(target))
            .map_err(|_| TargetError::AlreadySet)
    }

    /// The installed target, if any.
    pub fn installed() -> Option<Arc<Target>> {
        TARGET.get().cloned()
    }

    /// The installed target.
    ///
    /// # Panics
    ///
    /// Before [`Target::install`].
    pub fn get() -> Arc<Target> {
        TARGET
            .get()
            .cloned()
            .expect("conformance::Target::install runs before the suite")
    }

    /// Node 1's URL.
    pub fn url(&self) -> &str {
        &self.nodes[0]
    }

    /// The Socket.IO path.
    pub fn path(&self) -> &str {
        &self.profile.target.path
    }

    /// Whether the server offers the polling transport.
    pub fn polls(&self) -> bool {
        self.profile.target.transports.contains(&Transport::Polling)
    }

    /// The Control API's base URL and admin token, when the profile's fixture is it.
    pub fn control_api(&self) -> Option<(&str, &str)> {
        match &self.profile.fixtures {
            FixtureSpec::ControlApi {
                admin_token,
                base_url,
            } => Some((base_url.as_deref().unwrap_or(self.url()), admin_token)),
            _ => None,
        }
    }

    /// A call to the Control API (D8). `token: None` sends no Authorization header. Answers
    /// the status and the body (JSON when it parses).
    ///
    /// # Errors
    ///
    /// When the profile has no Control API, or it does not answer.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Result<(u16, Value), String> {
        let (base, _) = self
            .control_api()
            .ok_or("the profile's server has no Control API")?;
        let mut req = self
            .http
            .request(method, format!("{}{path}", base.trim_end_matches('/')));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req
            .timeout(self.wait)
            .send()
            .await
            .map_err(|e| format!("Control API unreachable: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// The Control API's admin token, when the profile has one.
    pub fn admin_token(&self) -> Option<&str> {
        self.control_api().map(|(_, t)| t)
    }
}
