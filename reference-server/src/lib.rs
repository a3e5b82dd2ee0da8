//! The reference Live Conference Runtime server.
//!
//! It implements the whole protocol (docs/protocol.md) and the project's decisions D1–D26 on
//! socketioxide and axum, with the runtime state of spec §2 in Redis ([`store::redis`]) or, by
//! default, in process ([`store::memory`]). It is the baseline other servers are compared with.
//!
//! Where to read what, from the edges down (a module uses only those below it):
//! - [`server`]: assembling everything; [`server::start`] runs a server in process.
//!   [`config`]: the command line, [`ServerConfig`] and a node's tunables.
//! - [`socket`]: authentication at the handshake and the per-socket ordered event queue.
//!   [`http`]: the Control API (D8) and probes.
//! - [`flows`]: the handlers of client events, one file per spec flow, reading like its steps.
//!   [`control`]: the Control API's flows (create, activate, end).
//! - [`countdown`]: each live question's countdown, results and timeout close (§4.2, §6.1,
//!   D16, D20). [`closing`]: the close of a run (§4.3, §6.2). [`audience`]: `audience:count`
//!   (§7.4, D11). [`cluster`]: what nodes tell each other (D25).
//! - [`node`]: the shared state of one server node.
//! - [`store`]: the runtime state, its key design and its atomic Lua scripts. [`catalog`]:
//!   conferences and questions. [`results`]: final results on their way out (D23). [`rooms`],
//!   [`metrics`], [`coalesce`], [`session`], [`auth`], [`mongo`].
//! - [`clock`]: the thread that keeps time (countdowns, leases, cross-node publishes).

pub mod audience;
pub mod auth;
pub mod catalog;
pub mod clock;
pub mod closing;
pub mod cluster;
pub mod coalesce;
pub mod config;
pub mod control;
pub mod countdown;
pub mod flows;
pub mod http;
pub mod metrics;
pub mod mongo;
pub mod node;
pub mod results;
pub mod rooms;
pub mod server;
pub mod session;
pub mod slow;
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
