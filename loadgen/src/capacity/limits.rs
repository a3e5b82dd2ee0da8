//! Limits of this machine that a search would otherwise report as the server's knee: a server
//! out of file descriptors refuses connections, which fails a step like a slow server does.

use super::ServerPlacement;

/// Sockets a server process keeps besides its voters' (listeners, logs, a store).
const SPARE_FILES: u64 = 64;

/// Voters a generator process drives at most before the run spreads them over worker
/// processes (see `loadgen --workers`): up to this many, an in-process server shares its
/// process's open files with the generator's sockets.
const VOTERS_PER_WORKER: usize = 15_000;

/// The soft limit of open files (`ulimit -n`) in a `/proc/<pid>/limits` text.
///
/// ```
/// let text = "Limit  Soft Limit  Hard Limit  Units\nMax open files  20000  20000  files\n";
/// assert_eq!(loadgen::capacity::limits::open_files(text), Some(20000));
/// assert_eq!(loadgen::capacity::limits::open_files("Max open files unlimited unlimited files"), None);
/// ```
pub fn open_files(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// Files a server process on this machine holds at a step of `voters`: a socket per voter it
/// serves (the voters spread over a profile's processes), and with an in-process server in a
/// single generator process, the generator's socket per voter too.
fn files_needed(voters: usize, server: ServerPlacement) -> u64 {
    let sockets = match server {
        ServerPlacement::InProcess if voters <= VOTERS_PER_WORKER => 2 * voters,
        ServerPlacement::Started { processes } => voters.div_ceil(processes.max(1)),
        _ => voters,
    };
    sockets as u64 + SPARE_FILES
}

/// A warning when a planned step needs more open files than `limit` allows a server on this
/// machine (started here, in process or by the profile; a server elsewhere has its own limit).
///
/// ```
/// use loadgen::capacity::{ServerPlacement, limits::files_warning};
/// let started = ServerPlacement::Started { processes: 1 };
/// assert!(files_warning(&[10_000, 20_000], started, 20_000).unwrap().contains("20,000 voters"));
/// assert!(files_warning(&[10_000], started, 20_000).is_none());
/// assert!(files_warning(&[50_000], ServerPlacement::External, 20_000).is_none());
/// ```
pub fn files_warning(planned: &[usize], server: ServerPlacement, limit: u64) -> Option<String> {
    if server == ServerPlacement::External {
        return None;
    }
    let first = planned.iter().find(|v| files_needed(**v, server) > limit)?;
    Some(format!(
        "open files are limited to {} per process here (ulimit -n): from the step of {} voters on, the server cannot hold every socket, and a step that fails for it measures this limit, not the server; raise the limit before the search (ulimit -n, LimitNOFILE)",
        super::thousands(limit),
        super::thousands(*first as u64)
    ))
}
