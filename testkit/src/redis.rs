//! A real Redis for tests: `redis-server` (Debian package `redis-server`, Redis 7 for the
//! Socket.IO adapter's RESP3) on a free port of 127.0.0.1, keeping nothing on disk, stopped by
//! PID.
//!
//! The server is started as
//!
//! ```text
//! redis-server --port PORT --bind 127.0.0.1 --save "" --appendonly no
//! ```
//!
//! or, for tests of what a restart keeps, with an append-only file in a directory of the
//! test's ([`RedisProcess::start_with_aof`]).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// How long [`RedisProcess::start`] waits for the server to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a fresh port is tried when the one picked was taken by someone else meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// A `redis-server` of the test's own on a free port; killed (SIGKILL) and reaped when dropped.
///
/// # Example
///
/// ```no_run
/// let redis = lcr_testkit::RedisProcess::start();
/// assert_eq!(redis.cli(&["PING"]), "PONG");
/// assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port));
/// ```
#[derive(Debug)]
pub struct RedisProcess {
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    /// What it keeps on disk: the arguments after `--bind` (kept across [`Self::restart`]).
    persistence: Vec<String>,
}

/// No snapshots, no append-only file: a restart starts empty.
const NOTHING_ON_DISK: [&str; 4] = ["--save", "", "--appendonly", "no"];

impl RedisProcess {
    /// Starts an empty server on a free port and waits until it accepts connections.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed (`apt-get install redis-server`) or does not start.
    pub fn start() -> RedisProcess {
        Self::start_on(None, NOTHING_ON_DISK.map(String::from).to_vec())
    }

    /// Starts a server that keeps an append-only file in `dir`, fsynced as `appendfsync` says
    /// (`always`, `everysec` or `no`), and no snapshots: [`Self::restart`] then comes back with
    /// the data, as a Redis restarted on its disk does.
    ///
    /// # Panics
    ///
    /// As [`Self::start`].
    pub fn start_with_aof(dir: &std::path::Path, appendfsync: &str) -> RedisProcess {
        let args = [
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            appendfsync,
            "--dir",
            &dir.to_string_lossy(),
        ];
        Self::start_on(None, args.map(String::from).to_vec())
    }

    /// Kills this server (SIGKILL) and starts it again on the same port, with what it kept on
    /// disk: nothing unless it was started [with an append-only file](Self::start_with_aof).
    ///
    /// # Panics
    ///
    /// When the new server does not start.
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mut redis = lcr_testkit::RedisProcess::start();
    /// redis.cli(&["SET", "k", "v"]);
    /// redis.restart();
    /// assert_eq!(redis.cli(&["EXISTS", "k"]), "0");
    /// ```
    pub fn restart(&mut self) {
        self.stop();
        let fresh = Self::start_on(Some(self.port), std::mem::take(&mut self.persistence));
        // The old child is reaped; only the new one is left to stop.
        *self = fresh;
    }

    fn start_on(fixed: Option<u16>, persistence: Vec<String>) -> RedisProcess {
        for _ in 0..PORT_ATTEMPTS {
            let port = fixed.unwrap_or_else(free_port);
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(&persistence)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed (apt-get install redis-server)");
            let mut redis = RedisProcess {
                child,
                port,
                persistence: persistence.clone(),
            };
            let started = Instant::now();
            while started.elapsed() < READY_TIMEOUT {
                // Exited: most likely the port was taken meanwhile; try another.
                if let Ok(Some(_)) = redis.child.try_wait() {
                    break;
                }
                // A PONG, not just an open port: another test's process may have taken it.
                if answers_ping(port) && matches!(redis.child.try_wait(), Ok(None)) {
                    return redis;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            redis.stop();
        }
        panic!("redis-server did not start");
    }

    /// The server's process id (to pause it with SIGSTOP, say).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs `redis-cli` against this server and returns its trimmed standard output.
    ///
    /// # Panics
    ///
    /// When `redis-cli` cannot be run.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs (it comes with redis-server)");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a Redis on `port` answers `PING` with `+PONG`.
fn answers_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    conn.write_all(b"PING\r\n").is_ok()
        && conn.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
