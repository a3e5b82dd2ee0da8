//! The `[[server]]` processes of a profile: started before the run (`{port}` a free port each,
//! `{reference-server}` the reference server's binary), ready when their readiness path (by
//! default the Engine.IO handshake, which any Socket.IO server answers) says 200, and stopped by
//! process group when the run ends. The suite can kill one (a crash), stop one (SIGTERM) and
//! start it again for its failover scenarios.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::profile::{ProfileError, ServerSpec};

/// The variables a started server gets from the suite's environment; everything else it gets
/// from the profile's `env`.
pub const PASSED_THROUGH: [&str; 7] = ["PATH", "HOME", "USER", "TMPDIR", "LANG", "LC_ALL", "TZ"];

/// One started node.
pub struct LaunchedNode {
    number: usize,
    command: String,
    env: Vec<(String, String)>,
    url: String,
    ready_path: String,
    ready_timeout: Duration,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

/// The started nodes of a profile, stopped when dropped.
pub struct Launched {
    /// In node order.
    pub nodes: Vec<LaunchedNode>,
}

impl Launched {
    /// Starts every server of `specs` (the Socket.IO `path` for the default readiness check),
    /// each logging to `node-N.log` in `log_dir`, and waits until each is ready.
    ///
    /// # Errors
    ///
    /// When one does not start or is not ready in time; those started are stopped again.
    pub fn start(
        specs: &[ServerSpec],
        path: &str,
        log_dir: &Path,
    ) -> Result<Launched, ProfileError> {
        let launch = |number: usize, reason: String| ProfileError::Launch {
            node: number,
            reason,
        };
        std::fs::create_dir_all(log_dir)
            .map_err(|e| launch(0, format!("{}: {e}", log_dir.display())))?;
        let mut launched = Launched { nodes: Vec::new() };
        for (i, spec) in specs.iter().enumerate() {
            let number = i + 1;
            let port = lcr_testkit::free_port().to_string();
            let fill = |s: &str| -> Result<String, ProfileError> {
                let mut s = s.replace("{port}", &port);
                if s.contains("{reference-server}") {
                    let bin = lcr_testkit::node::server_binary().map_err(|e| launch(number, e))?;
                    s = s.replace("{reference-server}", &bin.display().to_string());
                }
                Ok(s)
            };
            let log = log_dir.join(format!("node-{number}.log"));
            let _ = std::fs::remove_file(&log);
            let mut node = LaunchedNode {
                number,
                command: fill(&spec.command)?,
                env: spec
                    .env
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), fill(v)?)))
                    .collect::<Result<_, ProfileError>>()?,
                url: fill(&spec.url)?.trim_end_matches('/').to_owned(),
                ready_path: spec
                    .ready
                    .clone()
                    .unwrap_or_else(|| format!("{path}?EIO=4&transport=polling")),
                ready_timeout: spec.ready_timeout,
                dir: spec.dir.clone(),
                log,
                child: None,
            };
            node.spawn()?;
            launched.nodes.push(node);
        }
        Ok(launched)
    }

    /// Every node's URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url.clone()).collect()
    }

    /// Node `n` (1-based).
    ///
    /// # Errors
    ///
    /// When there is no such node.
    pub fn node(&mut self, n: usize) -> Result<&mut LaunchedNode, String> {
        let count = self.nodes.len();
        self.nodes
            .get_mut(n.wrapping_sub(1))
            .ok_or_else(|| format!("there is no node {n}: the profile started {count}"))
    }

    /// The log files, in node order.
    pub fn logs(&self) -> Vec<PathBuf> {
        self.nodes.iter().map(|n| n.log.clone()).collect()
    }

    /// Stops every node gracefully (SIGTERM, then SIGKILL after 10 s).
    pub fn stop_all(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
    }
}

impl Drop for Launched {
    fn drop(&mut self) {
        self.stop_all();
    }
}

impl LaunchedNode {
    fn spawn(&mut self) -> Result<(), ProfileError> {
        let number = self.number;
        let fail = move |reason: String| ProfileError::Launch {
            node: number,
            reason,
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| fail(format!("{}: {e}", self.log.display())))?;
        let err = log.try_clone().map_err(|e| fail(e.to_string()))?;
        // The profile's environment only (and what a shell needs): a variable of the suite's own
        // (REDIS_URL, JWT_SECRET) must not configure the server behind the profile's back.
        let inherited = PASSED_THROUGH
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v)));
        let child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .current_dir(&self.dir)
            .env_clear()
            .envs(inherited)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            // Its own process group, so a stop reaches whatever the shell started.
            .process_group(0)
            .spawn()
            .map_err(|e| fail(format!("`{}`: {e}", self.command)))?;
        self.child = Some(child);
        let deadline = Instant::now() + self.ready_timeout;
        while Instant::now() < deadline {
            if self.ready() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                return Err(fail(format!(
                    "`{}` exited with {status}; log: {}",
                    self.command,
                    self.log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        Err(fail(format!(
            "not ready at {}{} within {:?}; log: {}",
            self.url,
            self.ready_path,
            self.ready_timeout,
            self.log.display()
        )))
    }

    /// Whether the readiness path answers 200 now.
    pub fn ready(&self) -> bool {
        let Some(addr) = self
            .url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
        else {
            return false;
        };
        let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(addr) else {
            return false;
        };
        let Some(addr) = addrs.into_iter().next() else {
            return false;
        };
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
            self.ready_path
        );
        if s.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = [0u8; 12];
        s.read_exact(&mut answer).is_ok() && answer.starts_with(b"HTTP/1.1 200")
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The node's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The process id of its shell (the group leader) while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([signal, "--", &format!("-{pid}")])
                .status();
        }
    }

    /// SIGKILL to the whole group: a crash.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        if let Some(mut c) = self.child.take() {
            let _ = c.wait();
        }
    }

    /// SIGTERM to the whole group, then waits up to 10 s (SIGKILL after that). False when it
    /// had to be killed.
    pub fn stop(&mut self) -> bool {
        if self.child.is_none() {
            return true;
        }
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(_)) = c.try_wait()
            {
                self.child = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
        false
    }

    /// Starts it again, same command, same port, and waits until it is ready.
    ///
    /// # Errors
    ///
    /// When it does not come back within its readiness timeout (retrying while the port is
    /// still held by the old process).
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    eprintln!("lcr-profile: node {} restart retry: {e}", self.number);
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }
}
