//! The server under test, as the suite and the load generator see it: a **target profile**, one
//! TOML file that says where the server's nodes are (or how to start them), how its users get
//! tokens and where the tokens travel, how a conference with its host and questions is created,
//! activated and ended, and which decisions and optional parts the server claims. Without a
//! profile, the reference server started in process. `docs/profiles.md` is the guide.
//!
//! - [`file`]: the profile as written; [`Profile`]: checked, completed, flags laid over it.
//! - [`Tokens`]: tokens made the profile's way (HS256, RS256, ES256, or a command) and how they
//!   are presented at the handshake.
//! - [`Fixture`]: conferences created through the Control API of D8, a deployment's own HTTP
//!   API, shell commands, or straight into the stores; [`Created`] carries the server's ids.
//! - [`Capabilities`]: the decisions and parts claimed.
//! - [`launch`]: the profile's `[[server]]` processes.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use lcr_profile::{Overrides, ProfileError, ServerUnderTest};
//! use reference_server::ServerConfig;
//!
//! // Neither a profile nor --target: the reference server, in process, on a free port.
//! let logs = std::env::temp_dir();
//! let server = ServerUnderTest::choose(None, Overrides::default(), &logs, || {
//!     ServerConfig::embedded("s", "a")
//! })
//! .await
//! .unwrap();
//! assert!(server.is_embedded());
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! server.shutdown().await;
//!
//! // --target without its secrets.
//! let o = Overrides { nodes: vec!["http://lb:3000".into()], jwt_secret: Some("s".into()), ..Default::default() };
//! let missing = ServerUnderTest::choose(None, o, &logs, || unreachable!()).await;
//! assert!(matches!(missing, Err(ProfileError::MissingAdminToken)));
//! # }
//! ```

pub mod capabilities;
pub mod file;
pub mod fixture;
pub mod interpolate;
pub mod launch;
mod load;
mod profile;
mod tokens;

use std::path::Path;

use reference_server::{RunningServer, ServerConfig};

pub use capabilities::{Capabilities, LAST_DECISION, Part};
pub use fixture::{Conference, Created, Fixture, FixtureError, Step};
pub use profile::{
    Auth, Carrier, Controls, FixtureSpec, HttpFixture, Overrides, Profile, ProfileError,
    RequestTemplate, ServerSpec, Target, TokenSource, Transport,
};
pub use tokens::{Presentation, TokenError, Tokens};

/// The server a run talks to: its profile (nodes filled in) and what the run started for it.
pub struct ServerUnderTest {
    /// The profile, with the nodes' URLs known.
    pub profile: Profile,
    embedded: Option<RunningServer>,
    launched: Option<launch::Launched>,
}

impl std::fmt::Debug for ServerUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The profile holds secrets: only what is safe to log.
        f.debug_struct("ServerUnderTest")
            .field("name", &self.profile.name)
            .field("nodes", &self.profile.target.nodes)
            .field("embedded", &self.is_embedded())
            .field("launched", &self.launched.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerUnderTest {
    /// The choice both binaries make. With a `profile`: the flags laid over it, then its
    /// `[[server]]` processes started (logging into `log_dir`) unless `--target` names the
    /// nodes. Without one: with `--target`, the reference server's profile at those nodes, both
    /// secrets required (the JWT secret is checked first); with neither, the reference server
    /// started in process with the configuration `embedded` returns (called only then).
    ///
    /// # Errors
    ///
    /// A missing secret, a profile that cannot be used, a server that does not start.
    pub async fn choose(
        profile: Option<Profile>,
        overrides: Overrides,
        log_dir: &Path,
        embedded: impl FnOnce() -> ServerConfig,
    ) -> Result<ServerUnderTest, ProfileError> {
        match profile {
            Some(profile) => ServerUnderTest::launch(profile.with(overrides)?, log_dir).await,
            None if overrides.nodes.is_empty() => {
                let config = embedded();
                let mut server = ServerUnderTest::start(config).await?;
                if overrides.redis_url.is_some() || overrides.mongo_url.is_some() {
                    server.profile.target.redis_url = overrides.redis_url;
                    server.profile.target.mongo_url = overrides.mongo_url;
                    server.profile.capabilities.parts = server.profile.implied_parts();
                }
                Ok(server)
            }
            None => {
                let secret = overrides
                    .jwt_secret
                    .clone()
                    .ok_or(ProfileError::MissingJwtSecret)?;
                let admin = overrides
                    .admin_token
                    .clone()
                    .ok_or(ProfileError::MissingAdminToken)?;
                let mut profile = Profile::reference(overrides.nodes.clone(), &secret, &admin);
                profile.capabilities.parts_implied = true;
                Ok(ServerUnderTest::at(profile.with(overrides)?))
            }
        }
    }

    /// The reference server started in process with `config`, and its profile: its HS256 secret
    /// (a run mints tokens with it) and its admin token are both required.
    ///
    /// # Errors
    ///
    /// When it does not start.
    pub async fn start(config: ServerConfig) -> Result<ServerUnderTest, ProfileError> {
        let jwt_secret = config.tokens.secret().map(str::to_owned).ok_or_else(|| {
            ProfileError::UnusableEmbedded(format!(
                "verify HS256 tokens with a secret the run signs with, not {} tokens with a public key",
                config.tokens.algorithm()
            ))
        })?;
        let admin_token = config.admin_token.clone().ok_or_else(|| {
            ProfileError::UnusableEmbedded("serve the Control API (it has no admin token)".into())
        })?;
        let server = reference_server::start(config)
            .await
            .map_err(ProfileError::Start)?;
        let mut profile = Profile::reference(vec![server.url()], &jwt_secret, &admin_token);
        profile.name = "reference server (in process)".into();
        Ok(ServerUnderTest {
            profile,
            embedded: Some(server),
            launched: None,
        })
    }

    /// A server whose nodes run elsewhere, or were started by the caller.
    ///
    /// # Panics
    ///
    /// When the profile names no node.
    pub fn at(profile: Profile) -> ServerUnderTest {
        assert!(
            !profile.target.nodes.is_empty(),
            "a server under test has at least one node"
        );
        ServerUnderTest {
            profile,
            embedded: None,
            launched: None,
        }
    }

    /// Starts the profile's `[[server]]` processes when it has any and names no node itself.
    ///
    /// # Errors
    ///
    /// When a server does not start.
    pub async fn launch(
        mut profile: Profile,
        log_dir: &Path,
    ) -> Result<ServerUnderTest, ProfileError> {
        if !profile.target.nodes.is_empty() || profile.servers.is_empty() {
            return Ok(ServerUnderTest::at(profile));
        }
        let (specs, path, dir) = (
            profile.servers.clone(),
            profile.target.path.clone(),
            log_dir.to_owned(),
        );
        // Starting and waiting for processes blocks: off the async runtime's threads.
        let launched =
            tokio::task::spawn_blocking(move || launch::Launched::start(&specs, &path, &dir))
                .await
                .map_err(|e| ProfileError::Launch {
                    node: 0,
                    reason: e.to_string(),
                })??;
        profile.target.nodes = launched.urls();
        if profile.capabilities.parts_implied {
            profile.capabilities.parts = profile.implied_parts();
        }
        Ok(ServerUnderTest {
            profile,
            embedded: None,
            launched: Some(launched),
        })
    }

    /// Every node's URL, node 1 first.
    pub fn nodes(&self) -> &[String] {
        &self.profile.target.nodes
    }

    /// Node 1's URL: the host's node, and where APIs are by default.
    pub fn url(&self) -> &str {
        &self.profile.target.nodes[0]
    }

    /// The process ids of the servers the profile started (each the leader of its process
    /// group: the shell the command ran in, or the server itself), for watching their CPU and
    /// memory; empty when none were started here.
    pub fn pids(&self) -> Vec<u32> {
        self.launched
            .as_ref()
            .map(|l| {
                l.nodes
                    .iter()
                    .filter_map(launch::LaunchedNode::pid)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether this is the reference server started in process.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The in-process reference server, when this is one.
    pub fn embedded(&self) -> Option<&RunningServer> {
        self.embedded.as_ref()
    }

    /// The processes started for the profile, when it had any; taken out to be driven by the
    /// caller (the suite kills and restarts them), and stopped when dropped.
    pub fn take_launched(&mut self) -> Option<launch::Launched> {
        self.launched.take()
    }

    /// Stops what the run started: the in-process server, the profile's processes.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.embedded.take() {
            server.shutdown().await;
        }
        if let Some(mut launched) = self.launched.take() {
            let _ = tokio::task::spawn_blocking(move || launched.stop_all()).await;
        }
    }
}

#[cfg(test)]
mod tests;
