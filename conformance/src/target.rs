//! The server under test: its Socket.IO URL, secrets, Control API (D8) and, optionally, Redis.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fred::prelude::*;
use serde_json::Value;

/// Everything the steps need to reach the server under test.
pub struct Target {
    /// `http://host:port` of Socket.IO and the Control API (node 1).
    pub url: String,
    /// Every node's URL, node 1 first (one entry for a single server).
    pub nodes: Vec<String>,
    /// Killing and restarting nodes, taking MongoDB away.
    pub controls: crate::environment::Controls,
    /// The server's MongoDB, for `@mongo` scenarios.
    pub mongo: Option<reference_server::mongo::MongoDb>,
    /// HS256 secret the server verifies tokens with (D2).
    pub jwt_secret: String,
    /// Bearer token of the Control API (D8).
    pub admin_token: String,
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
            .field("url", &self.url)
            .field("nodes", &self.nodes)
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
    /// `install` was called twice.
    #[error("the target is already set")]
    AlreadySet,
}

impl Target {
    /// A target; connects to `redis_url` if given.
    pub async fn new(
        url: String,
        jwt_secret: String,
        admin_token: String,
        redis_url: Option<String>,
    ) -> Result<Target, TargetError> {
        let redis = match redis_url {
            Some(u) => {
                let err = |source| TargetError::Redis {
                    url: u.clone(),
                    source,
                };
                let client = Builder::from_config(Config::from_url(&u).map_err(err)?)
                    .build()
                    .map_err(err)?;
                client.init().await.map_err(err)?;
                Some(client)
            }
            None => None,
        };
        let url = url.trim_end_matches('/').to_owned();
        Ok(Target {
            nodes: vec![url.clone()],
            controls: crate::environment::Controls {
                nodes: crate::environment::NodeControl::None,
                mongo: None,
            },
            mongo: None,
            url,
            jwt_secret,
            admin_token,
            redis,
            wait: Duration::from_secs(10),
            quiet: Duration::from_millis(700),
            http: reqwest::Client::new(),
        })
    }

    /// Makes `target` the one every scenario's world uses.
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
    pub fn get() -> Arc<Target> {
        TARGET
            .get()
            .cloned()
            .expect("conformance::Target::install runs before the suite")
    }

    /// A Control API call. `token: None` sends no Authorization header.
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Result<(u16, Value), String> {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
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
}
