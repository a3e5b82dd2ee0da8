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
use std::sync::Arc;
use std::time::Duration;

use std::future::Future;
use std::pin::Pin;

use lcr_protocol::MAX_PAYLOAD_BYTES;
use socketioxide::SocketIo;
use socketioxide::adapter::LocalAdapter;
use socketioxide_redis::{FredAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::catalog::{Catalog, MemoryCatalog, MongoCatalog, RedisCatalog};
use crate::clock::Clock;
use crate::cluster::ClusterBus;
use crate::metrics::Metrics;
use crate::mongo::{MongoDb, MongoError};
use crate::node::Node;
use crate::results::{JsonlSink, MongoSink, Persister, ResultSink};
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::store::{RuntimeStore, StoreError};

/// The websocket read buffer each socket allocates when it connects: engine.io's default of
/// 4 KiB is several times any message a client of the protocol sends
/// (docs/benchmarks.md#memory-per-socket).
const WS_READ_BUFFER_BYTES: usize = 1024;

/// What [`start`] takes, defined with the command line that builds it.
pub use crate::config::{MongoConfig, ServerConfig, StoreConfig};

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
    /// MongoDB's URL or options are invalid.
    #[error("mongodb: {0}")]
    Mongo(#[from] MongoError),
    /// The Socket.IO Redis adapter or the cluster channel could not start.
    #[error("cluster messaging on redis: {0}")]
    Cluster(String),
    /// The clock thread could not start.
    #[error("cannot start the clock thread: {0}")]
    Clock(std::io::Error),
}

/// A started server.
pub struct RunningServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    /// Its node (stores, settings).
    pub node: Arc<Node>,
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

/// The Redis pub/sub client for the Socket.IO adapter and the cluster channel: RESP3 (the
/// adapter needs it), reconnecting, resubscribing after a reconnection.
fn subscriber(url: &str) -> Result<fred::clients::SubscriberClient, ServerError> {
    let cluster = |e: fred::error::Error| ServerError::Cluster(e.to_string());
    let mut config = fred::prelude::Config::from_url(url).map_err(cluster)?;
    config.version = fred::types::RespVersion::RESP3;
    crate::store::redis::connect::client_builder(config)
        .with_performance_config(|p| {
            p.default_command_timeout = Duration::from_secs(5);
            // Pub/sub messages wait here for the adapter's task, so a burst of cross-node
            // broadcasts waits rather than being dropped ("lagged", see docs/benchmarks.md).
            p.broadcast_channel_capacity = 1 << 16;
        })
        .build_subscriber_client()
        .map_err(cluster)
}

type Closer = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts a server and returns once it listens.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    let metrics = Metrics::default();
    // Stopped when the server task ends, or is dropped with the runtime that runs it.
    let (clock, clock_guard) = Clock::start().map_err(ServerError::Clock)?;
    let redis = match &config.store {
        StoreConfig::Memory => None,
        StoreConfig::Redis { url, pool_size } => Some((
            url.clone(),
            Arc::new(
                RedisStore::connect_on_clock(url, *pool_size, Some(&clock))
                    .await?
                    .timed_by(metrics.store_calls.clone()),
            ),
        )),
    };
    let store: Arc<dyn RuntimeStore> = match &redis {
        Some((_, r)) => r.clone(),
        None => Arc::new(MemoryStore::default()),
    };
    // Said once, at start-up and in /metrics: what a restart of the store's server keeps.
    let durability = store.durability().await;
    metrics.set_durability(&durability.mode);
    match durability.mode.as_str() {
        "none" | "rdb" | "unknown" => tracing::warn!(mode = %durability.mode,
            "runtime store durability: {}", durability.keeps),
        _ => tracing::info!(mode = %durability.mode,
            "runtime store durability: {}", durability.keeps),
    }
    let mongo = match &config.mongo {
        Some(m) => Some(MongoDb::connect(&m.url, &m.database, metrics.mongo_calls.clone()).await?),
        None => None,
    };
    if let Some(db) = &mongo
        && let Err(e) = db.ping().await
    {
        tracing::warn!(error = %e, "MongoDB does not answer yet; catalog reads and result writes wait for it");
    }
    let catalog: Arc<dyn Catalog> = match (&mongo, &redis) {
        (Some(db), _) => Arc::new(MongoCatalog::new(db.clone())),
        (None, Some((_, r))) => Arc::new(RedisCatalog::new(r.pool().clone())),
        (None, None) => Arc::new(MemoryCatalog::default()),
    };
    let sink: Arc<dyn ResultSink> = match &mongo {
        Some(db) => Arc::new(MongoSink::new(db.clone())),
        None => Arc::new(JsonlSink::new(&config.results_file)),
    };
    let persister = Persister::new(store.clone(), sink);
    let cluster = match &redis {
        Some((_, r)) => ClusterBus::redis(r.pool().clone()),
        None => ClusterBus::default(),
    };
    let builder = SocketIo::builder()
        .max_payload(MAX_PAYLOAD_BYTES)
        .ws_max_message_size(MAX_PAYLOAD_BYTES as usize)
        .ws_max_frame_size(MAX_PAYLOAD_BYTES as usize)
        // A larger frame still grows the buffer as needed.
        .ws_read_buffer_size(WS_READ_BUFFER_BYTES)
        // Per socket, allocated as used. A socket found with a full queue is disconnected
        // (`crate::slow`); the host's socket gets an `audience:joined` per join, so the default
        // leaves room for a join ramp (see docs/reference-server.md).
        .max_buffer_size(config.socket_queue)
        .ping_interval(config.ping.0)
        .ping_timeout(config.ping.1);
    let assemble = |rooms: Arc<dyn crate::rooms::Rooms>| {
        Node::new(
            config.settings.clone(),
            store.clone(),
            catalog.clone(),
            persister.clone(),
            rooms,
            cluster.clone(),
            metrics,
            clock.clone(),
        )
    };
    let tokens = Arc::new(config.tokens.verifier());
    let admin: Option<Arc<str>> = config.admin_token.as_deref().map(Arc::from);
    let cors = crate::http::cors(&config.cors_origins);
    let (node, app, close_io): (Arc<Node>, axum::Router, Closer) = match &redis {
        None => {
            let (layer, io) = builder.with_adapter::<LocalAdapter>(()).build_layer();
            let node = assemble(Arc::new(io.clone()));
            crate::socket::register(&io, node.clone(), tokens);
            let app = crate::http::router(node.clone(), admin)
                .layer(layer)
                .layer(cors);
            (node, app, Box::pin(async move { io.close().await }))
        }
        Some((url, _)) => {
            let cluster_err = |e: &dyn std::fmt::Display| ServerError::Cluster(e.to_string());
            let client = subscriber(url)?;
            // On the clock thread, so the adapter's connection (the publish of every tick to
            // the other nodes) is served there, not behind this node's sockets.
            let adapter = clock
                .run(RedisAdapterCtr::new_with_fred_config(
                    client.clone(),
                    // A deep buffer: a burst of cross-node broadcasts must wait, not be dropped
                    // (the driver drops what does not fit; see docs/benchmarks.md).
                    RedisAdapterConfig::new()
                        .with_prefix("lcr-socket.io")
                        .with_stream_buffer(1 << 16),
                ))
                .await
                .map_err(|e| cluster_err(&e))?
                .map_err(|e| cluster_err(&e))?;
            let (layer, io) = builder
                .with_adapter::<FredAdapter<_>>(adapter)
                .build_layer();
            let node = assemble(Arc::new(io.clone()));
            // The adapter's stream of the other nodes' broadcasts is read on the clock thread
            // too, so their fan-out wakes the sockets' writers from outside the main runtime:
            // see `crate::clock` and docs/benchmarks.md.
            clock
                .run(crate::socket::register(&io, node.clone(), tokens))
                .await
                .map_err(|e| cluster_err(&e))?
                .map_err(|e| cluster_err(&e))?;
            // Resubscribe the adapter's shard channels after a Redis reconnection (registered
            // once they exist).
            let _resubscribe = crate::cluster::resubscribe::keep_subscribed(client.clone());
            clock
                .run(crate::cluster::listener::listen(
                    subscriber(url)?,
                    node.clone(),
                ))
                .await
                .map_err(|e| cluster_err(&e))?
                .map_err(|e| cluster_err(&e))?;
            // The other nodes' broadcasts reach this node's sockets inside the adapter, which
            // only logs a full socket: a sweep finds those.
            let sweep = tokio::spawn(crate::slow::sweep(io.clone()));
            let app = crate::http::router(node.clone(), admin)
                .layer(layer)
                .layer(cors);
            (
                node,
                app,
                Box::pin(async move {
                    sweep.abort();
                    io.close().await
                }),
            )
        }
    };

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.bind,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(ServerError::Serve)?;
    // Every connection can be cut: a socket whose queue is full is disconnected (`crate::slow`).
    let listener = crate::slow::Listener::new(
        listener,
        config.socket_send_buffer,
        node.metrics.slow_sockets_disconnected.clone(),
    );
    tracing::info!(
        addr = %local_addr, node = %config.settings.node_id, store = store.kind(),
        catalog = if mongo.is_some() { "mongodb" } else { store.kind() },
        results = %persister.describe(), tokens = %config.tokens.algorithm(),
        control_api = if config.admin_token.is_some() { "on" } else { "off" },
        "reference server listening"
    );

    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let persist_task = tokio::spawn(persister.clone().run(until_stopped(stopped.clone())));
    let ticker = {
        let node = node.clone();
        let stop = until_stopped(stopped.clone());
        clock.spawn(async move {
            tokio::pin!(stop);
            let mut every = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = every.tick() => {
                        crate::audience::tick(&node).await;
                        if node.store.shared() {
                            crate::countdown::takeover::watch_open_runs(&node).await;
                        }
                    }
                }
            }
        })
    };
    let sockets_lag = tokio::spawn(crate::clock::watch_lag(
        "sockets",
        node.metrics.sockets_lag.clone(),
    ));
    clock.spawn(crate::clock::watch_lag(
        "clock",
        node.metrics.clock_lag.clone(),
    ));
    let shutdown = {
        let node = node.clone();
        let stop = until_stopped(stopped);
        async move {
            stop.await;
            tracing::info!("shutting down: closing sockets and timers");
            crate::countdown::stop_all(&node).await;
            // Closing unsubscribes the adapter from Redis: bounded, Redis may be gone.
            if tokio::time::timeout(Duration::from_secs(10), close_io)
                .await
                .is_err()
            {
                tracing::warn!("socket.io did not close within 10 s; stopping anyway");
            }
        }
    };
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<crate::slow::Conn>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve);
        ticker.abort();
        sockets_lag.abort();
        let _ = persist_task.await;
        drop(clock_guard);
        served
    });
    Ok(RunningServer {
        local_addr,
        node,
        stop,
        task,
    })
}
