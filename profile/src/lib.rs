//! The server under test: the targets and secrets a user gives, or the reference server started
//! in process when none is given. (Target profiles, read by both conformance and loadgen, grow
//! here.)
//!
//! Both binaries take `--target URL` (repeatable), `--jwt-secret` and `--admin-token`. Without
//! `--target` they start the reference server in process, configured as each needs, and know
//! its secrets; with it, both secrets are required and a missing one is named.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use lcr_profile::{ProfileError, ServerUnderTest};
//! use reference_server::ServerConfig;
//!
//! // No --target: the reference server, in process, on a free port.
//! let server = ServerUnderTest::choose(&[], None, None, || ServerConfig::embedded("s", "a"))
//!     .await
//!     .unwrap();
//! assert!(server.is_embedded());
//! assert_eq!((server.jwt_secret.as_str(), server.admin_token.as_str()), ("s", "a"));
//! assert!(server.url().starts_with("http://127.0.0.1:"));
//! server.shutdown().await;
//!
//! // --target without its secrets.
//! let targets = ["http://lb:3000".to_owned()];
//! let missing = ServerUnderTest::choose(&targets, Some("s"), None, || unreachable!()).await;
//! assert!(matches!(missing, Err(ProfileError::MissingAdminToken)));
//! # }
//! ```

use reference_server::{RunningServer, ServerConfig, ServerError};

/// The server a run talks to: its nodes, its secrets, and the in-process reference server when
/// the run started one.
pub struct ServerUnderTest {
    /// `http://host:port` of each node, node 1 first (serving the host and the Control API);
    /// never empty.
    pub nodes: Vec<String>,
    /// HS256 secret the server verifies client tokens with (D2).
    pub jwt_secret: String,
    /// Bearer token of the server's Control API (D8).
    pub admin_token: String,
    /// The in-process reference server, shut down by [`ServerUnderTest::shutdown`].
    embedded: Option<RunningServer>,
}

impl std::fmt::Debug for ServerUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secrets stay out of logs.
        f.debug_struct("ServerUnderTest")
            .field("nodes", &self.nodes)
            .field("embedded", &self.is_embedded())
            .finish_non_exhaustive()
    }
}

/// The server under test cannot be had.
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
    Start(#[source] ServerError),
    /// The in-process configuration is one a run cannot drive: it takes tokens the run cannot
    /// mint (no HS256 secret), or it serves no Control API.
    #[error("the in-process reference server must {0}")]
    UnusableEmbedded(String),
}

impl ServerUnderTest {
    /// The choice both binaries make: with no `targets`, the reference server started in process
    /// with the configuration `embedded` returns (called only then; its secrets are the run's);
    /// else `targets` with the secrets the user gave, both required (the JWT secret is checked
    /// first).
    pub async fn choose(
        targets: &[String],
        jwt_secret: Option<&str>,
        admin_token: Option<&str>,
        embedded: impl FnOnce() -> ServerConfig,
    ) -> Result<ServerUnderTest, ProfileError> {
        if targets.is_empty() {
            return ServerUnderTest::start(embedded()).await;
        }
        let jwt_secret = jwt_secret.ok_or(ProfileError::MissingJwtSecret)?;
        let admin_token = admin_token.ok_or(ProfileError::MissingAdminToken)?;
        Ok(ServerUnderTest::at(
            targets.to_vec(),
            jwt_secret,
            admin_token,
        ))
    }

    /// The reference server started in process with `config`, and its secrets: its HS256
    /// secret (a run mints tokens with it) and its admin token, both required.
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
        Ok(ServerUnderTest {
            nodes: vec![server.url()],
            jwt_secret,
            admin_token,
            embedded: Some(server),
        })
    }

    /// Nodes running elsewhere (given by the user, or processes the caller started) whose
    /// secrets are known.
    ///
    /// # Panics
    ///
    /// When `nodes` is empty.
    pub fn at(
        nodes: Vec<String>,
        jwt_secret: impl Into<String>,
        admin_token: impl Into<String>,
    ) -> ServerUnderTest {
        assert!(
            !nodes.is_empty(),
            "a server under test has at least one node"
        );
        ServerUnderTest {
            nodes,
            jwt_secret: jwt_secret.into(),
            admin_token: admin_token.into(),
            embedded: None,
        }
    }

    /// Node 1's URL: Socket.IO for the host and the Control API.
    pub fn url(&self) -> &str {
        &self.nodes[0]
    }

    /// Whether this is the reference server started in process.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The in-process reference server, when this is one.
    pub fn embedded(&self) -> Option<&RunningServer> {
        self.embedded.as_ref()
    }

    /// Shuts the in-process reference server down; nothing for a server running elsewhere.
    pub async fn shutdown(self) {
        if let Some(server) = self.embedded {
            server.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Vec<String> {
        vec!["http://a:3000".into(), "http://b:3000".into()]
    }

    #[tokio::test]
    async fn targets_need_both_secrets_and_name_the_missing_one() {
        let none = ServerUnderTest::choose(&targets(), None, None, || unreachable!()).await;
        assert_eq!(
            none.unwrap_err().to_string(),
            "--jwt-secret (or JWT_SECRET) is required with --target"
        );
        let no_admin =
            ServerUnderTest::choose(&targets(), Some("s"), None, || unreachable!()).await;
        assert_eq!(
            no_admin.unwrap_err().to_string(),
            "--admin-token (or ADMIN_TOKEN) is required with --target"
        );
        let given = ServerUnderTest::choose(&targets(), Some("s"), Some("a"), || unreachable!())
            .await
            .unwrap();
        assert_eq!(given.nodes, targets());
        assert_eq!(given.url(), "http://a:3000");
        assert_eq!(
            (given.jwt_secret.as_str(), given.admin_token.as_str()),
            ("s", "a")
        );
        assert!(!given.is_embedded());
        given.shutdown().await;
    }

    #[tokio::test]
    async fn no_target_starts_the_reference_server_with_the_given_configuration() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let server = ServerUnderTest::choose(&[], Some("ignored"), None, || {
            let mut config = ServerConfig::embedded("s", "a");
            config.bind = ([127, 0, 0, 1], port).into();
            config
        })
        .await
        .unwrap();
        let running = server.embedded().expect("in process");
        assert_eq!(running.local_addr.port(), port);
        assert_eq!(server.nodes, vec![format!("http://127.0.0.1:{port}")]);
        assert_eq!(
            (server.jwt_secret.as_str(), server.admin_token.as_str()),
            ("s", "a")
        );
        assert!(
            !format!("{server:?}").contains("\"s\""),
            "no secret in Debug"
        );
        server.shutdown().await;
    }

    #[tokio::test]
    async fn an_embedded_configuration_a_run_cannot_drive_is_refused() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../profiles/keys/rs256-public.pem"
        );
        let pem = std::fs::read(path).unwrap();
        let verifier = reference_server::config::public_key_verifier(path.as_ref(), &pem).unwrap();
        let by_key = ServerConfig::embedded("s", "a").with_verifier(verifier);
        let err = ServerUnderTest::start(by_key).await.unwrap_err();
        assert!(err.to_string().contains("not RS256 tokens"), "{err}");
        let no_admin = ServerConfig::embedded("s", "a").without_control_api();
        let err = ServerUnderTest::start(no_admin).await.unwrap_err();
        assert!(err.to_string().contains("Control API"), "{err}");
    }

    #[tokio::test]
    async fn a_server_that_cannot_start_says_so_with_its_cause() {
        let mut config = ServerConfig::embedded("s", "a");
        config.bind = "192.0.2.1:1".parse().unwrap();
        let err = ServerUnderTest::start(config).await.unwrap_err();
        assert_eq!(err.to_string(), "starting the in-process reference server");
        assert!(matches!(err, ProfileError::Start(_)), "{err:?}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the server's error is its source"
        );
    }
}
