//! `loadgen floor`: what a fan-out of small messages costs over loopback TCP on this box with
//! no server, to set a server's CPU per delivery and the generator's CPU per message against
//! (docs/benchmarks.md#the-kernels-floor).
//!
//! The sender accepts `--sockets` connections and, every `--interval-ms`, writes one
//! `--frame-bytes` frame to each of them. With `--sender bare` that is a plain loop of blocking
//! `send`s: a broadcast with no queue, no task and no framing. With `--sender tasks` it has the
//! shape of a tokio server: each socket has a writer task fed by a channel, and the broadcast
//! pushes the frame into every channel. The receiver is a child process (`loadgen floor
//! --receive ADDR`, so the two are measured apart and each stays under the box's limit of open
//! files): with `--receiver bare` it reads every socket from one thread on one epoll instance
//! (mio, edge-triggered), draining each ready socket; with `--receiver tasks` each socket has a
//! tokio task that reads it, as the generator's voters do.
//!
//! Each side's CPU time is taken with `getrusage`: the sender's from its first broadcast until
//! its last frame is written (the `tasks` runtime and its writers are set up before), the
//! receiver's from its first frame until its last is read. Both keep every socket open until
//! the figures are taken, so no connection's teardown is counted. The machine's TCP segments
//! (`/proc/net/snmp`, halved: loopback counts each segment out and in) are counted from the
//! first broadcast until the receiver has read everything.

mod counters;
mod receiver;
mod sender;

use std::fmt;
use std::io;
use std::time::Duration;

use crate::cli::{FloorCli, FloorShape};

/// How long either side waits for the other (a connection, the next frame beyond the interval,
/// a line) before giving up.
const PATIENCE: Duration = Duration::from_secs(30);

/// Why a `loadgen floor` run failed.
#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    /// Nothing to send: a fan-out needs sockets, rounds and bytes.
    #[error("--sockets, --rounds and --frame-bytes must be above 0")]
    Empty,
    /// A system call failed; `what` names the step.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: io::Error,
    },
    /// The receiver process failed, stopped early, or printed something else than expected.
    #[error("the receiver: {0}")]
    Receiver(String),
    /// The receiver read another number of bytes than the sender wrote.
    #[error("the receiver read {read} bytes, {sent} were sent")]
    Lost { read: u64, sent: u64 },
    /// The machine's TCP counters are missing or malformed.
    #[error("TCP counters: {0}")]
    Counters(String),
    /// A reader or writer task panicked or was cancelled.
    #[error("a {side} task failed")]
    Task {
        side: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> FloorError {
    let what = what.into();
    move |source| FloorError::Io { what, source }
}

/// The runtime of a `tasks` side: the one the reference server and a load run use
/// ([`reference_server::tokio_runtime`]), so that the floor has their shape.
fn runtime(worker_threads: Option<u16>) -> Result<tokio::runtime::Runtime, FloorError> {
    reference_server::tokio_runtime(worker_threads).map_err(io_error("starting the tokio runtime"))
}

/// What one run measured; its `Display` is what `loadgen floor` prints.
#[derive(Debug, Clone)]
pub struct Floor {
    /// Connections, each written once per round.
    pub sockets: usize,
    /// Broadcasts.
    pub rounds: usize,
    /// From the start of one broadcast to the next.
    pub interval_ms: u64,
    /// Bytes per frame.
    pub frame_bytes: usize,
    /// How the sender wrote.
    pub sender: FloorShape,
    /// How the receiver read.
    pub receiver: FloorShape,
    /// Broadcasts that started after their due time, because the one before overran the
    /// interval.
    pub late_rounds: usize,
    /// From the first broadcast until the receiver had read everything.
    pub elapsed: Duration,
    /// The sender's CPU over its broadcasts, user and system, in µs.
    pub sender_cpu_us: (u64, u64),
    /// The receiver's CPU from its first frame to its last, user and system, in µs.
    pub receiver_cpu_us: (u64, u64),
    /// The machine's TCP segments over the run, each counted once; other traffic on the machine
    /// is counted too.
    pub segments: u64,
}

impl Floor {
    /// Frames written and read: one per socket per round.
    pub fn deliveries(&self) -> u64 {
        (self.sockets as u64).saturating_mul(self.rounds as u64)
    }

    /// µs per delivery of a CPU time in µs.
    fn per(&self, us: u64) -> f64 {
        us as f64 / self.deliveries().max(1) as f64
    }

    /// The sender's CPU, user and system, per delivery.
    pub fn sender_us_per_delivery(&self) -> f64 {
        self.per(self.sender_cpu_us.0 + self.sender_cpu_us.1)
    }

    /// The receiver's CPU, user and system, per message read.
    pub fn receiver_us_per_message(&self) -> f64 {
        self.per(self.receiver_cpu_us.0 + self.receiver_cpu_us.1)
    }

    /// The machine's TCP segments per delivery: about 2 when each delivery takes a data segment
    /// and an ACK of its own.
    pub fn segments_per_delivery(&self) -> f64 {
        self.segments as f64 / self.deliveries().max(1) as f64
    }
}

impl fmt::Display for Floor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} frames of {} bytes, to {} sockets every {} ms, in {:.1} s ({} rounds started late); sender {}, receiver {}",
            self.deliveries(),
            self.frame_bytes,
            self.sockets,
            self.interval_ms,
            self.elapsed.as_secs_f64(),
            self.late_rounds,
            self.sender,
            self.receiver
        )?;
        let ((su, ss), (ru, rs)) = (self.sender_cpu_us, self.receiver_cpu_us);
        writeln!(
            f,
            "sender:   {:.2} µs CPU per delivery (user {:.2}, system {:.2})",
            self.sender_us_per_delivery(),
            self.per(su),
            self.per(ss)
        )?;
        writeln!(
            f,
            "receiver: {:.2} µs CPU per message (user {:.2}, system {:.2})",
            self.receiver_us_per_message(),
            self.per(ru),
            self.per(rs)
        )?;
        write!(
            f,
            "TCP segments per delivery: {:.2} (the machine's counters: other TCP traffic is counted too)",
            self.segments_per_delivery()
        )
    }
}

/// `loadgen floor`: measures, or with `--receive` plays the receiver for the process that does
/// (and returns `None`).
pub fn run(cli: &FloorCli) -> Result<Option<Floor>, FloorError> {
    if cli.sockets == 0 || cli.rounds == 0 || cli.frame_bytes == 0 {
        return Err(FloorError::Empty);
    }
    match cli.receive {
        Some(addr) => receiver::receive(cli, addr).map(|()| None),
        None => sender::send(cli).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_per_delivery() {
        let floor = Floor {
            sockets: 1_000,
            rounds: 10,
            interval_ms: 100,
            frame_bytes: 190,
            sender: FloorShape::Tasks,
            receiver: FloorShape::Bare,
            late_rounds: 2,
            elapsed: Duration::from_millis(1_000),
            sender_cpu_us: (20_000, 50_000),
            receiver_cpu_us: (1_000, 44_000),
            segments: 20_100,
        };
        assert_eq!(floor.deliveries(), 10_000);
        assert_eq!(floor.sender_us_per_delivery(), 7.0);
        assert_eq!(floor.receiver_us_per_message(), 4.5);
        assert_eq!(floor.segments_per_delivery(), 2.01);
        let text = floor.to_string();
        assert!(text.starts_with("10000 frames of 190 bytes, to 1000 sockets every 100 ms, in 1.0 s (2 rounds started late); sender tasks, receiver bare"), "{text}");
        assert!(
            text.contains("sender:   7.00 µs CPU per delivery (user 2.00, system 5.00)"),
            "{text}"
        );
        assert!(
            text.contains("receiver: 4.50 µs CPU per message (user 0.10, system 4.40)"),
            "{text}"
        );
        assert!(text.contains("TCP segments per delivery: 2.01"), "{text}");
    }
}
