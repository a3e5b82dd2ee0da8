//! What processes use: peak memory and CPU from `/proc`, for the generator itself and the
//! server processes a run watches.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Peak resident memory (VmHWM, KiB) and CPU seconds (user + system) of a process; `None`
/// once it has exited (or never was).
///
/// ```
/// let (rss_kib, cpu_secs) = loadgen::record::process::usage("self").unwrap();
/// assert!(rss_kib > 0 && cpu_secs >= 0.0);
/// assert_eq!(loadgen::record::process::usage("not-a-pid"), None);
/// ```
pub fn usage(pid: &str) -> Option<(u64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // A process that has exited but not been reaped (a zombie) has no memory lines: gone.
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())?;
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<u64>().ok())
        .sum();
    Some((rss, ticks as f64 / 100.0))
}

/// [`usage`] of process `pid` and every process under it, summed: a server a profile started
/// through a shell is the shell's child.
///
/// ```
/// let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
/// std::thread::sleep(std::time::Duration::from_millis(200));
/// let (alone, _) = loadgen::record::process::usage("self").unwrap();
/// let (with_child, _) = loadgen::record::process::usage_with_children(std::process::id()).unwrap();
/// assert!(with_child > alone, "{with_child} KiB with `sleep`, {alone} KiB alone");
/// child.kill().unwrap();
/// ```
pub fn usage_with_children(pid: u32) -> Option<(u64, f64)> {
    let mut total = usage(&pid.to_string())?;
    for child in descendants(pid) {
        if let Some((rss, cpu)) = usage(&child.to_string()) {
            total.0 += rss;
            total.1 += cpu;
        }
    }
    Some(total)
}

/// Every process under `pid`, from `/proc/*/stat`'s parent ids.
fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
            let ppid = stat
                .rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, ppid))
        })
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for (p, _) in parents.iter().filter(|(_, pp)| *pp == parent) {
            out.push(*p);
            frontier.push(*p);
        }
    }
    out
}

/// What one server process (`--server-pid`, or one the profile started) used during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerUsage {
    /// The process.
    pub pid: u32,
    /// Peak resident memory (KiB), as last read.
    pub rss_kib: u64,
    /// CPU seconds (user + system) spent during the run, as last read.
    pub cpu_secs: f64,
    /// The process was gone at the end (a node killed on purpose): the figures are those of the
    /// last reading before it went, at most a second before.
    pub exited: bool,
}

/// Reads the server processes once a second, so a server that dies during the run (a node
/// killed mid-question) still reports its peak memory and the CPU it used until then.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let me = std::process::id();
/// let watch = loadgen::record::process::ServerWatch::start(&[me, 999_999_999]);
/// let usage = watch.finish();
/// assert!(!usage[0].exited && usage[0].rss_kib > 0);
/// assert!(usage[1].exited && usage[1].cpu_secs == 0.0);
/// # }
/// ```
pub struct ServerWatch {
    state: Arc<Mutex<Vec<Watched>>>,
    task: tokio::task::JoinHandle<()>,
}

/// One watched process: its pid, its CPU seconds at the start, its last reading.
type Watched = (u32, Option<f64>, Option<(u64, f64)>);

impl ServerWatch {
    /// Takes a first reading of each process and starts reading them every second.
    pub fn start(pids: &[u32]) -> ServerWatch {
        let read = usage_with_children;
        let state: Vec<_> = pids
            .iter()
            .map(|&pid| {
                let now = read(pid);
                (pid, now.map(|(_, cpu)| cpu), now)
            })
            .collect();
        let state = Arc::new(Mutex::new(state));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every.tick().await;
                Self::sample(&shared);
            }
        });
        ServerWatch { state, task }
    }

    fn sample(state: &Mutex<Vec<Watched>>) {
        let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
        for (pid, _, last) in state.iter_mut() {
            if let Some((rss, cpu)) = usage_with_children(*pid) {
                let peak = last.map_or(rss, |(seen, _)| seen.max(rss));
                *last = Some((peak, cpu));
            }
        }
    }

    /// Stops the readings and returns each process's figures, read once more now.
    pub fn finish(self) -> Vec<ServerUsage> {
        self.task.abort();
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state
            .iter()
            .map(|&(pid, cpu_before, last)| {
                let now = usage_with_children(pid);
                let (rss_kib, cpu) = match (now, last) {
                    (Some((rss, cpu)), Some((seen, _))) => (rss.max(seen), cpu),
                    (now, last) => now.or(last).unwrap_or((0, 0.0)),
                };
                ServerUsage {
                    pid,
                    rss_kib,
                    cpu_secs: (cpu - cpu_before.unwrap_or(cpu)).max(0.0),
                    exited: now.is_none(),
                }
            })
            .collect()
    }
}
