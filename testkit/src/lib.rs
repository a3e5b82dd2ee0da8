//! Test support shared by the workspace's tests: real backing services as child processes on
//! free ports, each stopped by PID when dropped.
//!
//! - [`MongoProcess`]: a real MongoDB-wire server (`nx-27017`, installed from PyPI into
//!   `<workspace>/.venv`) with an in-memory store.
//! - [`RedisProcess`]: a real `redis-server` keeping nothing on disk, restartable.
//! - [`NodeProcess`]: a `reference-server` node, killable (SIGKILL) and restartable.
//! - [`free_port`]: a TCP port on 127.0.0.1 that nobody listens on right now.
//!
//! And the sample conference every test, the feature suite, the load generator and the
//! footprint example create: [`conference`] (standard questions with the options A–D).

use std::net::TcpListener;

pub mod conference;
pub mod mongo;
pub mod node;
pub mod redis;

pub use mongo::MongoProcess;
pub use node::NodeProcess;
pub use redis::RedisProcess;

/// Returns a TCP port on 127.0.0.1 that nobody listens on right now.
///
/// The port is found by binding `127.0.0.1:0` and closing the listener again, so another
/// process may take it before the caller binds it; callers that spawn servers retry with a new
/// port when that happens (as [`MongoProcess::start`] does).
///
/// # Panics
///
/// When the operating system hands out no port.
///
/// # Example
///
/// ```no_run
/// let port = lcr_testkit::free_port();
/// let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
/// assert_eq!(listener.local_addr().unwrap().port(), port);
/// ```
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0 gives a free port")
}
