//! Reference-server nodes as child processes: several nodes on one Redis (D25), each killable
//! with SIGKILL (a crash, not a shutdown) and restartable on the same port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `reference-server` process.
///
/// ```no_run
/// use lcr_testkit::NodeProcess;
/// let bin = lcr_testkit::node::server_binary().unwrap();
/// let env = [("JWT_SECRET", "s"), ("ADMIN_TOKEN", "a"), ("REDIS_URL", "redis://127.0.0.1:6379")];
/// let mut node = NodeProcess::start(&bin, "node-1", &env).unwrap();
/// println!("{}", node.url());
/// node.kill();          // SIGKILL: no graceful shutdown, leases are left to expire
/// node.restart().unwrap();
/// ```
pub struct NodeProcess {
    bin: PathBuf,
    node_id: String,
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
    log: PathBuf,
}

/// The `reference-server` binary: `$LCR_SERVER_BIN`, else next to the running executable (or
/// one folder up, for test executables in `target/<profile>/deps`).
pub fn server_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("LCR_SERVER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut dir = exe.parent();
    for _ in 0..2 {
        let Some(d) = dir else { break };
        let candidate = d.join("reference-server");
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = d.parent();
    }
    Err(format!(
        "no reference-server binary next to {}: build it (cargo build -p reference-server) or set LCR_SERVER_BIN",
        exe.display()
    ))
}

impl NodeProcess {
    /// Starts node `node_id` of `bin` on a free port of 127.0.0.1 with `env` (JWT_SECRET,
    /// ADMIN_TOKEN, REDIS_URL, MONGO_URL…) and waits until `GET /ready` answers 200 (20 s).
    pub fn start(bin: &Path, node_id: &str, env: &[(&str, &str)]) -> Result<NodeProcess, String> {
        let log = std::env::temp_dir().join(format!(
            "lcr-node-{}-{node_id}-{}.log",
            std::process::id(),
            crate::free_port()
        ));
        Self::start_logging_to(bin, node_id, env, log)
    }

    /// As [`NodeProcess::start`], with the node's output appended to `log` (kept after the
    /// node stops, across restarts). Its level is `$LCR_NODE_LOG`, `warn` by default.
    pub fn start_logging_to(
        bin: &Path,
        node_id: &str,
        env: &[(&str, &str)],
        log: PathBuf,
    ) -> Result<NodeProcess, String> {
        let mut node = NodeProcess {
            bin: bin.to_owned(),
            node_id: node_id.to_owned(),
            port: crate::free_port(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            child: None,
            log,
        };
        node.spawn()?;
        Ok(node)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&self.bin)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("BIND", format!("127.0.0.1:{}", self.port))
            .env("NODE_ID", &self.node_id)
            .env("RESULTS_FILE", self.log.with_extension("results.jsonl"))
            .env(
                "RUST_LOG",
                std::env::var("LCR_NODE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.bin.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.ready() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                return Err(format!(
                    "{} exited with {status}; log: {}",
                    self.node_id,
                    self.log.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "{} not ready in 20 s; log: {}",
            self.node_id,
            self.log.display()
        ))
    }

    /// Whether `GET /ready` answers 200 now, from this node's own process: another server
    /// that took the port first (a race between choosing a free port and binding it) is not
    /// taken for this node.
    pub fn ready(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(
            &([127, 0, 0, 1], self.port).into(),
            Duration::from_millis(500),
        ) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut answer = String::new();
        if s.read_to_string(&mut answer).is_err() && answer.is_empty() {
            return false;
        }
        // The body names the process that answered; a build that does not say is taken on trust.
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let answered_by = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["pid"].as_u64());
        let ours = match (self.pid(), answered_by) {
            (Some(pid), Some(answered)) => u64::from(pid) == answered,
            _ => true,
        };
        answer.starts_with("HTTP/1.1 200") && ours
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The node's id (`NODE_ID`).
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Where the node's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// SIGKILL: the node dies as in a crash (no shutdown, no lease released).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits up to 10 s for a graceful exit (SIGKILL after that). False when it
    /// had to be killed; true when it exited by itself (or was not running).
    pub fn terminate(&mut self) -> bool {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
            return false;
        }
        true
    }

    /// Starts the node again on the same port (after [`NodeProcess::kill`]).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The port is free once the old process is gone; retry briefly if it lingers.
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    tracing_free_log(&e);
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn tracing_free_log(e: &str) {
    eprintln!("lcr-testkit: node restart retry: {e}");
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(self.log.with_extension("results.jsonl"));
    }
}
