//! Assembling and running a server: stores, Socket.IO, HTTP, background tasks, shutdown.
//!
//! [`start`] is what the binary runs, and what tests, the feature suite and the load generator
//! run in process (the embedded default).
//!
//! ```no_run
//! # async fn demo() -> Result<(), reference_server::server::ServerError> {
//! use reference_server::server::{start, ServerConfig};
//! let server = start(ServerConfig::embedded("jwt-secret", "admin-token")).await?;
//! println!("listening on {}", server.local_addr);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lcr_protocol::MAX_PAYLOAD_BYTES;
use socketioxide::SocketIo;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::catalog::MemoryCatalog;
use crate::results::{JsonlSink, Persister};
use crate::runtime::{Runtime, Settings};
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::store::{RuntimeStore, StoreError};

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

/// Everything [`start`] needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free one).
    pub bind: SocketAddr,
    /// Runtime store.
    pub store: StoreConfig,
    /// JSON Lines file for final results (D23, no MongoDB).
    pub results_file: PathBuf,
    /// Runtime tunables.
    pub settings: Settings,
    /// HS256 secret of the handshake tokens (D2).
    pub jwt_secret: String,
    /// Bearer token of the Control API (D8).
    pub admin_token: String,
    /// Engine.IO heartbeat: how often the server pings, and how long it waits for the pong.
    pub ping: (Duration, Duration),
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
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The runtime store is unreachable.
    #[error("runtime store: {0}")]
    Store(#[from] StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("http server: {0}")]
    Serve(std::io::Error),
}

/// A started server.
pub struct RunningServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    /// Its runtime (stores, settings).
    pub runtime: Arc<Runtime>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl RunningServer {
    /// `http://addr`, the URL clients connect to.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting, disconnects every socket, stops timers, writes pending results, returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "server ended with an error"),
            Err(e) => tracing::error!(error = %e, "server task failed"),
        }
    }

    /// Runs until `signal` resolves, then shuts down.
    pub async fn run_until(self, signal: impl std::future::Future<Output = ()>) {
        let mut stopped = self.stop.subscribe();
        tokio::select! {
            _ = signal => {}
            _ = stopped.wait_for(|s| *s) => {}
        }
        self.shutdown().await;
    }
}

async fn connect_store(config: &StoreConfig) -> Result<Arc<dyn RuntimeStore>, ServerError> {
    Ok(match config {
        StoreConfig::Memory => Arc::new(MemoryStore::default()),
        StoreConfig::Redis { url, pool_size } => {
            Arc::new(RedisStore::connect(url, *pool_size).await?)
        }
    })
}

/// Starts a server and returns once it listens.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let store = connect_store(&config.store).await?;
    let persister = Persister::new(
        store.clone(),
        Arc::new(JsonlSink::new(&config.results_file)),
    );
    let (layer, io) = SocketIo::builder()
        .max_payload(MAX_PAYLOAD_BYTES)
        .ws_max_message_size(MAX_PAYLOAD_BYTES as usize)
        .ws_max_frame_size(MAX_PAYLOAD_BYTES as usize)
        .max_buffer_size(4096)
        .ping_interval(config.ping.0)
        .ping_timeout(config.ping.1)
        .build_layer();
    let runtime = Runtime::new(
        config.settings.clone(),
        store.clone(),
        Arc::new(MemoryCatalog::default()),
        persister.clone(),
        Arc::new(io.clone()),
    );
    crate::socket::register(&io, runtime.clone(), config.jwt_secret.as_str().into());
    let app = crate::http::router(runtime.clone(), config.admin_token.as_str().into()).layer(layer);

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(ServerError::Serve)?;
    tracing::info!(
        addr = %local_addr, node = %config.settings.node_id, store = store.kind(),
        results = %persister.describe(), "reference server listening"
    );

    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let persist_task = tokio::spawn(persister.clone().run(until_stopped(stopped.clone())));
    let ticker = {
        let rt = runtime.clone();
        let stop = until_stopped(stopped.clone());
        tokio::spawn(async move {
            tokio::pin!(stop);
            let mut every = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = every.tick() => rt.counts.tick(&rt).await,
                }
            }
        })
    };
    let rt = runtime.clone();
    let shutdown = {
        let stop = until_stopped(stopped);
        async move {
            stop.await;
            tracing::info!("shutting down: closing sockets and timers");
            rt.stop_timers();
            io.close().await;
        }
    };
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(ServerError::Serve);
        ticker.abort();
        let _ = persist_task.await;
        served
    });
    Ok(RunningServer {
        local_addr,
        runtime,
        stop,
        task,
    })
}
