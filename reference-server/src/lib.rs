//! The reference Live Conference Runtime server.
//!
//! It implements the whole protocol (`seeds/000`) and the project's decisions D1–D24 on
//! socketioxide and axum, with the runtime state of spec §2 in Redis ([`store::redis`]) or, by
//! default, in process ([`store::memory`]). It is the baseline other servers are compared with.
//!
//! Where to read what:
//! - [`flows`]: every spec flow, one file each, reading like the spec's steps.
//! - [`socket`]: authentication at the handshake and the per-socket ordered event queue.
//! - [`http`]: the Control API (D8) and probes.
//! - [`store`]: the runtime state, its key design and its atomic Lua scripts.
//! - [`clock`]: the thread that keeps time (countdowns, leases, cross-node publishes).
//! - [`server`]: assembling everything; [`server::start`] runs a server in process.

pub mod auth;
pub mod catalog;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod flows;
pub mod http;
pub mod metrics;
pub mod mongo;
pub mod node;
pub mod results;
pub mod rooms;
pub mod server;
pub mod session;
pub mod socket;
pub mod store;

pub use server::{RunningServer, ServerConfig, ServerError, StoreConfig, start};

/// A tokio runtime with `worker_threads` workers, or one per core when `None`; with exactly one,
/// a current-thread runtime (no work stealing, no cross-thread wake-ups), which serves best when
/// several nodes or generator processes share a few cores.
///
/// # Example
///
/// ```
/// let rt = reference_server::tokio_runtime(Some(1)).unwrap();
/// assert_eq!(rt.block_on(async { 40 + 2 }), 42);
/// ```
pub fn tokio_runtime(worker_threads: Option<u16>) -> std::io::Result<tokio::runtime::Runtime> {
    match worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(n))
            .enable_all()
            .build(),
        None => tokio::runtime::Runtime::new(),
    }
}
