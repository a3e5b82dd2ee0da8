//! A real MongoDB-wire server for tests: `nx-27017` (PyPI package `nx-27017`, a MongoDB wire
//! protocol server backed by SQLite) on a free port of 127.0.0.1, with an in-memory store and no
//! credentials, stopped by PID.
//!
//! `scripts/test` installs it (the test command of the README); by hand, once per machine, from
//! the workspace root:
//!
//! ```text
//! python3 -m venv .venv && .venv/bin/pip install nx-27017==0.8.1
//! ```
//!
//! The server is started as
//!
//! ```text
//! nx-27017 --host 127.0.0.1 --port PORT --db memory --data-dir memory \
//!          --pid-file $TMP/lcr-nx27017-….pid --log-file /dev/null
//! ```
//!
//! with its stdout and stderr (where it logs at INFO level) sent to a log file in
//! [`std::env::temp_dir`]. Every instance gets a pid file of its own: with the default
//! (`/tmp/nx_27017.pid`) a second instance refuses to start while the first one runs.
//! Start-up takes about 0.15–0.25 s (Python imports).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::free_port;

/// The command that installs the server into the workspace's virtualenv, to run from the
/// workspace root.
///
/// # Example
///
/// ```no_run
/// eprintln!("install the test server with: {}", lcr_testkit::mongo::INSTALL_HINT);
/// ```
pub const INSTALL_HINT: &str = "scripts/test (which installs it), or python3 -m venv .venv && .venv/bin/pip install nx-27017==0.8.1";

/// Options appended to [`MongoProcess::url`]: a stopped server fails an operation after
/// 2 s (server selection) instead of the driver's default 30 s, and a connection attempt gives
/// up after 1 s.
///
/// # Example
///
/// ```no_run
/// let mongo = lcr_testkit::MongoProcess::start();
/// assert!(mongo.url().ends_with(lcr_testkit::mongo::URL_OPTIONS));
/// ```
pub const URL_OPTIONS: &str = "serverSelectionTimeoutMS=2000&connectTimeoutMS=1000";

/// How long [`MongoProcess::start`] and [`MongoProcess::restart`] wait for the server to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a fresh port is tried when the one picked was taken by someone else meanwhile.
const PORT_ATTEMPTS: usize = 5;

static INSTANCE: AtomicU64 = AtomicU64::new(0);

/// A `nx-27017` server of our own on a free port of 127.0.0.1, with an in-memory store, killed
/// by PID when stopped or dropped.
///
/// Its data lives only in the process's memory: [`stop`](MongoProcess::stop) and
/// [`restart`](MongoProcess::restart) lose every database, collection, document and index.
///
/// # Example
///
/// ```no_run
/// use lcr_testkit::MongoProcess;
///
/// let mut mongo = MongoProcess::start();
/// let url = mongo.url(); // mongodb://127.0.0.1:PORT/?serverSelectionTimeoutMS=2000&...
/// // … connect a MongoDB client to `url` …
/// mongo.restart(); // same port, empty store
/// # drop(url);
/// ```
#[derive(Debug)]
pub struct MongoProcess {
    child: Option<Child>,
    port: u16,
    binary: PathBuf,
    log_path: PathBuf,
    pid_file: PathBuf,
}

impl MongoProcess {
    /// Starts `nx-27017` on a free port with an in-memory store and returns once it accepts TCP
    /// connections and answers a `ping` command.
    ///
    /// The binary is looked for in this order: the path in the environment variable
    /// `NX_27017`, `<workspace root>/.venv/bin/nx-27017`, then `nx-27017` on `PATH`.
    ///
    /// # Panics
    ///
    /// When the binary is found nowhere (the message names the install command), or when the
    /// server does not answer within 30 s (the message names its log file and shows its tail).
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mongo = lcr_testkit::MongoProcess::start();
    /// assert!(std::net::TcpStream::connect(("127.0.0.1", mongo.port())).is_ok());
    /// ```
    pub fn start() -> MongoProcess {
        let binary = locate_binary();
        let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let stem = format!("lcr-nx27017-{}-{n}", std::process::id());
        let mut mongo = MongoProcess {
            child: None,
            port: 0,
            binary,
            log_path: std::env::temp_dir().join(format!("{stem}.log")),
            pid_file: std::env::temp_dir().join(format!("{stem}.pid")),
        };
        for _ in 0..PORT_ATTEMPTS {
            mongo.port = free_port();
            match mongo.spawn_and_wait() {
                Ok(()) => return mongo,
                // Someone took the port between free_port() and the server's bind: try another.
                Err(Failure::PortTaken) => continue,
                Err(Failure::Other(why)) => mongo.fail(&why),
            }
        }
        mongo.fail(&format!("no free port after {PORT_ATTEMPTS} attempts"))
    }

    /// The URL to give a MongoDB client: `mongodb://127.0.0.1:PORT/?` followed by
    /// [`URL_OPTIONS`], so that operations fail within about 2 s while the server is down.
    ///
    /// No credentials: the server has no authentication.
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mongo = lcr_testkit::MongoProcess::start();
    /// assert!(mongo.url().starts_with(&format!("mongodb://127.0.0.1:{}/?", mongo.port())));
    /// ```
    pub fn url(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?{URL_OPTIONS}", self.port)
    }

    /// The TCP port on 127.0.0.1 the server listens on; it stays the same across
    /// [`restart`](MongoProcess::restart).
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mongo = lcr_testkit::MongoProcess::start();
    /// let addr = std::net::SocketAddr::from(([127, 0, 0, 1], mongo.port()));
    /// # drop(addr);
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PID of the running server process, or `None` once it has been
    /// [`stop`](MongoProcess::stop)ped. It changes on every [`restart`](MongoProcess::restart).
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mut mongo = lcr_testkit::MongoProcess::start();
    /// let pid = mongo.pid().expect("running");
    /// assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    /// mongo.stop();
    /// assert_eq!(mongo.pid(), None);
    /// ```
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The file that receives the server's output (its INFO log and any Python traceback).
    /// It is deleted on drop unless the thread is panicking, so a failed test leaves it behind.
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mongo = lcr_testkit::MongoProcess::start();
    /// println!("server log: {}", mongo.log_path().display());
    /// ```
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Sends one `ping` command (an `OP_MSG` built by hand, no MongoDB driver needed) and
    /// reports whether the server answered `ok: 1` within 2 s.
    ///
    /// # Errors
    ///
    /// A description of what went wrong: refused connection, timeout, or an odd reply.
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mongo = lcr_testkit::MongoProcess::start();
    /// mongo.ping().expect("the server answers");
    /// ```
    pub fn ping(&self) -> Result<(), String> {
        wire_ping(self.port, Duration::from_secs(2))
    }

    /// Kills the server by PID (SIGKILL) and waits for it to exit; its in-memory data is gone.
    /// Clients see their open connections closed (the first operation on a pooled connection
    /// fails with an I/O error) and further operations fail after server selection times out.
    /// Does nothing if already stopped.
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mut mongo = lcr_testkit::MongoProcess::start();
    /// mongo.stop();
    /// assert!(std::net::TcpStream::connect(("127.0.0.1", mongo.port())).is_err());
    /// ```
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // SIGKILL gives the server no chance to remove its pid file.
        let _ = std::fs::remove_file(&self.pid_file);
    }

    /// Stops the server (if running) and starts a fresh one on the same port, returning once it
    /// answers `ping`.
    ///
    /// The store is in memory, so the new server is **empty**: every database, collection,
    /// document and index (including unique indexes) is lost, and whoever uses it must create
    /// its indexes again. A MongoDB client keeps working without being rebuilt: its pool
    /// reconnects by itself, though the first non-retryable operation (a write or a
    /// `run_command`) on a connection pooled before the restart may fail once with an I/O error.
    ///
    /// # Panics
    ///
    /// When the new server does not answer within 30 s (for instance because another process
    /// took the port meanwhile).
    ///
    /// # Example
    ///
    /// ```no_run
    /// let mut mongo = lcr_testkit::MongoProcess::start();
    /// let before = (mongo.port(), mongo.pid());
    /// mongo.restart();
    /// assert_eq!(mongo.port(), before.0);
    /// assert_ne!(mongo.pid(), before.1);
    /// ```
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(Failure::PortTaken) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(Failure::PortTaken) => self.fail(&format!(
                    "port {} stayed taken after the restart",
                    self.port
                )),
                Err(Failure::Other(why)) => self.fail(&why),
            }
        }
    }

    /// Spawns the server on `self.port` and waits until it answers `ping`.
    fn spawn_and_wait(&mut self) -> Result<(), Failure> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| Failure::Other(format!("cannot open log file: {e}")))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Failure::Other(format!("cannot clone log file handle: {e}")))?;
        let log_start = std::fs::metadata(&self.log_path)
            .map(|m| m.len())
            .unwrap_or(0);
        let child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            // Both: --data-dir memory gives one isolated in-memory SQLite database per logical
            // MongoDB database; --db memory makes sure no nx-27017.db file is ever created.
            .args(["--db", "memory", "--data-dir", "memory"])
            .arg("--pid-file")
            .arg(&self.pid_file)
            // The log already goes to stderr (our log file); a second copy is not wanted.
            .args(["--log-file", "/dev/null"])
            .env("PYTHONUNBUFFERED", "1")
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| Failure::Other(format!("cannot run {}: {e}", self.binary.display())))?;
        self.child = Some(child);

        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("not tried yet");
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let _ = std::fs::remove_file(&self.pid_file);
                let out = read_from(&self.log_path, log_start);
                if out.to_lowercase().contains("address already in use") {
                    return Err(Failure::PortTaken);
                }
                return Err(Failure::Other(format!("nx-27017 exited early ({status})")));
            }
            match wire_ping(self.port, Duration::from_secs(2)) {
                Ok(()) => return Ok(()),
                Err(why) => last = why,
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(Failure::Other(format!(
            "nx-27017 did not answer ping within {READY_TIMEOUT:?} (last attempt: {last})"
        )))
    }

    /// Stops the server and panics with `why`, the log file's path and the log's tail.
    fn fail(&mut self, why: &str) -> ! {
        self.stop();
        let log = read_from(&self.log_path, 0);
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        panic!(
            "MongoProcess on 127.0.0.1:{}: {why}\nbinary: {}\nlog file: {}\n--- last lines of the log ---\n{}",
            self.port,
            self.binary.display(),
            self.log_path.display(),
            tail.join("\n"),
        );
    }
}

impl Drop for MongoProcess {
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

enum Failure {
    PortTaken,
    Other(String),
}

/// `NX_27017`, then `<workspace root>/.venv/bin/nx-27017`, then `nx-27017` on `PATH`.
///
/// A relative `NX_27017` is tried against the current directory (a crate's directory under
/// `cargo test`) and then against the workspace root.
fn locate_binary() -> PathBuf {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if let Some(path) = std::env::var_os("NX_27017") {
        let path = PathBuf::from(path);
        let candidates = if path.is_relative() {
            let cwd = std::env::current_dir().unwrap_or_default();
            vec![cwd.join(&path), root.join(&path)]
        } else {
            vec![path.clone()]
        };
        if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
            return found;
        }
        panic!(
            "NX_27017 is set to {}, which is not a file. Unset it, or install the server with: \
             cd {} && {INSTALL_HINT}",
            path.display(),
            root.display(),
        );
    }
    let venv = root.join(".venv/bin/nx-27017");
    if venv.is_file() {
        return venv;
    }
    if let Some(found) = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("nx-27017"))
        .find(|p| p.is_file())
    {
        return found;
    }
    panic!(
        "nx-27017 (a MongoDB-wire server) is not installed: not in $NX_27017, not at {}, \
         not on PATH. Install it with: cd {} && {INSTALL_HINT}",
        venv.display(),
        root.display(),
    );
}

/// The log's text from byte `offset` on (lossy UTF-8; empty if unreadable).
fn read_from(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.read_to_end(&mut bytes);
    }
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

const OP_MSG: i32 = 2013;

/// Sends `{ping: 1, $db: "admin"}` as an `OP_MSG` and checks the reply says `ok: 1`.
fn wire_ping(port: u16, timeout: Duration) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;

    let mut body = Vec::new();
    bson_int32(&mut body, "ping", 1);
    bson_string(&mut body, "$db", "admin");
    let doc = bson_document(&body);
    let request_id: i32 = 1;
    let mut msg = Vec::with_capacity(21 + doc.len());
    msg.extend_from_slice(&0i32.to_le_bytes()); // length, patched below
    msg.extend_from_slice(&request_id.to_le_bytes());
    msg.extend_from_slice(&0i32.to_le_bytes()); // responseTo
    msg.extend_from_slice(&OP_MSG.to_le_bytes());
    msg.extend_from_slice(&0u32.to_le_bytes()); // flagBits
    msg.push(0); // section kind 0: the body
    msg.extend_from_slice(&doc);
    let len = i32::try_from(msg.len()).expect("a small message");
    msg[..4].copy_from_slice(&len.to_le_bytes());
    stream.write_all(&msg).map_err(|e| format!("send: {e}"))?;

    let mut header = [0u8; 16];
    stream
        .read_exact(&mut header)
        .map_err(|e| format!("read reply header: {e}"))?;
    let field = |i: usize| i32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes"));
    let (len, response_to, opcode) = (field(0), field(8), field(12));
    if opcode != OP_MSG || response_to != request_id || !(21..=16 * 1024 * 1024).contains(&len) {
        return Err(format!(
            "odd reply header: len={len} responseTo={response_to} opcode={opcode}"
        ));
    }
    let mut rest = vec![0u8; usize::try_from(len).expect("positive") - 16];
    stream
        .read_exact(&mut rest)
        .map_err(|e| format!("read reply: {e}"))?;
    // flagBits (4 bytes), section kind (1 byte), then the reply document.
    if rest[4] != 0 {
        return Err(format!("reply starts with section kind {}", rest[4]));
    }
    match bson_ok(&rest[5..]) {
        Some(true) => Ok(()),
        Some(false) => Err("ping answered ok: 0".to_owned()),
        None => Err("ping reply has no readable `ok` field".to_owned()),
    }
}

fn bson_int32(out: &mut Vec<u8>, name: &str, value: i32) {
    out.push(0x10);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.extend_from_slice(&value.to_le_bytes());
}

fn bson_string(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0x02);
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    let len = i32::try_from(value.len() + 1).expect("a short string");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(value.as_bytes());
    out.push(0);
}

fn bson_document(elements: &[u8]) -> Vec<u8> {
    let len = i32::try_from(elements.len() + 5).expect("a small document");
    let mut doc = len.to_le_bytes().to_vec();
    doc.extend_from_slice(elements);
    doc.push(0);
    doc
}

/// The truthiness of the top-level `ok` field of a BSON document, walking the elements before
/// it; `None` if it is missing or an element of an unexpected type comes first.
fn bson_ok(doc: &[u8]) -> Option<bool> {
    let len = usize::try_from(i32::from_le_bytes(doc.get(..4)?.try_into().ok()?)).ok()?;
    let doc = doc.get(..len)?;
    let mut i = 4;
    loop {
        let kind = *doc.get(i)?;
        if kind == 0 {
            return None;
        }
        let name_end = i + 1 + doc.get(i + 1..)?.iter().position(|&b| b == 0)?;
        let name = doc.get(i + 1..name_end)?;
        let v = name_end + 1;
        let i32_at = |at: usize| -> Option<i32> {
            Some(i32::from_le_bytes(doc.get(at..at + 4)?.try_into().ok()?))
        };
        let (truthy, size) = match kind {
            0x01 => {
                let x = f64::from_le_bytes(doc.get(v..v + 8)?.try_into().ok()?);
                (Some(x != 0.0), 8)
            }
            0x10 => (Some(i32_at(v)? != 0), 4),
            0x12 => (
                Some(i64::from_le_bytes(doc.get(v..v + 8)?.try_into().ok()?) != 0),
                8,
            ),
            0x08 => (Some(*doc.get(v)? != 0), 1),
            0x02 | 0x0D | 0x0E => (None, 4 + usize::try_from(i32_at(v)?).ok()?),
            0x03 | 0x04 => (None, usize::try_from(i32_at(v)?).ok()?),
            0x05 => (None, 5 + usize::try_from(i32_at(v)?).ok()?),
            0x07 => (None, 12),
            0x09 | 0x11 => (None, 8),
            0x0A => (None, 0),
            _ => return None,
        };
        if name == b"ok" {
            return truthy;
        }
        i = v + size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_is_found_after_other_fields() {
        let mut body = Vec::new();
        bson_string(&mut body, "note", "hi");
        body.push(0x01);
        body.extend_from_slice(b"ok\0");
        body.extend_from_slice(&1.0f64.to_le_bytes());
        assert_eq!(bson_ok(&bson_document(&body)), Some(true));

        let mut body = Vec::new();
        bson_int32(&mut body, "ok", 0);
        assert_eq!(bson_ok(&bson_document(&body)), Some(false));

        let mut body = Vec::new();
        bson_int32(&mut body, "other", 1);
        assert_eq!(bson_ok(&bson_document(&body)), None);
    }
}
