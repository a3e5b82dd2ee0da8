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
//! - [`server`]: assembling everything; [`server::start`] runs a server in process.

pub mod auth;
pub mod catalog;
pub mod cluster;
pub mod config;
pub mod flows;
pub mod http;
pub mod metrics;
pub mod mongo;
pub mod results;
pub mod rooms;
pub mod runtime;
pub mod server;
pub mod session;
pub mod socket;
pub mod store;

pub use server::{RunningServer, ServerConfig, ServerError, StoreConfig, start};
