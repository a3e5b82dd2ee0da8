//! The receiving side: the child process that reads every frame (`loadgen floor --receive`),
//! and the sender's handle on it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};
use tokio::io::AsyncReadExt;

use super::counters::{cpu_between, cpu_us};
use super::{FloorError, PATIENCE, io_error, runtime};
use crate::cli::{FloorCli, FloorShape};

/// What the receiver measured, printed to the sender as `done USER_US SYSTEM_US BYTES`.
struct Reading {
    cpu_us: (u64, u64),
    bytes: u64,
}

/// The receiver: connects every socket, arms its readers and says `connected`, reads until
/// every frame has arrived, prints what it measured, and keeps its sockets open until the
/// sender closes its standard input.
pub(super) fn receive(cli: &FloorCli, addr: SocketAddr) -> Result<(), FloorError> {
    let mut streams = Vec::with_capacity(cli.sockets);
    for i in 0..cli.sockets {
        let stream = TcpStream::connect(addr)
            .map_err(io_error(format!("connecting socket {i} to {addr}")))?;
        stream
            .set_nonblocking(true)
            .map_err(io_error("making a socket non-blocking"))?;
        streams.push(stream);
        if i % 64 == 63 {
            // Lets the sender accept: pinned to one CPU beside it, this loop would otherwise
            // fill the listen backlog, and each SYN dropped then costs a second's retry.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let per_socket = (cli.rounds as u64).saturating_mul(cli.frame_bytes as u64);
    let patience = PATIENCE + Duration::from_millis(cli.interval_ms);
    let report = |reading: Reading| -> Result<(), FloorError> {
        let (user, system) = reading.cpu_us;
        println!("done {user} {system} {}", reading.bytes);
        io::stdout()
            .flush()
            .map_err(io_error("writing to the sender"))?;
        // The sender closes our standard input once it has its figures; the sockets stay open
        // until then.
        io::stdin()
            .read_to_end(&mut Vec::new())
            .map_err(io_error("waiting for the sender"))?;
        Ok(())
    };
    match cli.receiver {
        FloorShape::Bare => read_bare(streams, per_socket, patience, report),
        FloorShape::Tasks => read_tasks(streams, per_socket, patience, cli.worker_threads, report),
    }
}

fn say_connected() -> Result<(), FloorError> {
    println!("connected");
    io::stdout()
        .flush()
        .map_err(io_error("writing to the sender"))
}

/// Reads every socket from one epoll loop, then hands what it measured to `report` while the
/// sockets are still open.
fn read_bare(
    streams: Vec<TcpStream>,
    per_socket: u64,
    patience: Duration,
    report: impl FnOnce(Reading) -> Result<(), FloorError>,
) -> Result<(), FloorError> {
    let mut poll = Poll::new().map_err(io_error("creating an epoll instance"))?;
    let mut streams: Vec<_> = streams
        .into_iter()
        .map(mio::net::TcpStream::from_std)
        .collect();
    for (i, stream) in streams.iter_mut().enumerate() {
        poll.registry()
            .register(stream, Token(i), Interest::READABLE)
            .map_err(io_error("registering a socket with epoll"))?;
    }
    say_connected()?;
    let expected = per_socket * streams.len() as u64;
    let mut read = vec![0u64; streams.len()];
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut received, mut start) = (0u64, None);
    while received < expected {
        poll.poll(&mut events, Some(patience))
            .map_err(io_error("waiting on epoll"))?;
        if events.is_empty() {
            return Err(FloorError::Receiver(format!(
                "no frame for {patience:?} with {received} of {expected} bytes read"
            )));
        }
        for event in &events {
            let i = event.token().0;
            loop {
                match streams[i].read(&mut buf) {
                    Ok(0) if read[i] < per_socket => {
                        return Err(FloorError::Receiver(format!(
                            "the sender closed a socket after {} of its {per_socket} bytes",
                            read[i]
                        )));
                    }
                    Ok(0) => break,
                    Ok(n) => {
                        if start.is_none() {
                            start = Some(cpu_us()?);
                        }
                        read[i] += n as u64;
                        received += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(io_error("reading a frame")(e)),
                }
            }
        }
    }
    let start = start.ok_or_else(|| FloorError::Receiver("no frame read".into()))?;
    report(Reading {
        cpu_us: cpu_between(start, cpu_us()?),
        bytes: received,
    })
}

/// Reads every socket from a task of its own, then hands what it measured to `report` while
/// the sockets are still open.
fn read_tasks(
    streams: Vec<TcpStream>,
    per_socket: u64,
    patience: Duration,
    threads: Option<u16>,
    report: impl FnOnce(Reading) -> Result<(), FloorError>,
) -> Result<(), FloorError> {
    let started = Arc::new(OnceLock::new());
    runtime(threads)?.block_on(async {
        let mut readers = tokio::task::JoinSet::new();
        for stream in streams {
            let mut stream = tokio::net::TcpStream::from_std(stream)
                .map_err(io_error("registering a socket"))?;
            let started = started.clone();
            readers.spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut received = 0u64;
                while received < per_socket {
                    let read = tokio::time::timeout(patience, stream.read(&mut buf)).await;
                    let n = read
                        .map_err(|_| FloorError::Receiver(format!("no frame for {patience:?}")))?
                        .map_err(io_error("reading a frame"))?;
                    if n == 0 {
                        return Err(FloorError::Receiver(format!(
                            "the sender closed a socket after {received} of its {per_socket} bytes"
                        )));
                    }
                    if started.get().is_none() {
                        let _ = started.set(cpu_us()?);
                    }
                    received += n as u64;
                }
                // The socket goes back to the caller, to stay open until the figures are taken.
                Ok((stream, received))
            });
        }
        say_connected()?;
        let (mut open, mut bytes) = (Vec::with_capacity(readers.len()), 0);
        while let Some(done) = readers.join_next().await {
            let (stream, received) = done.map_err(|source| FloorError::Task {
                side: "reader",
                source,
            })??;
            open.push(stream);
            bytes += received;
        }
        let start = started
            .get()
            .copied()
            .ok_or_else(|| FloorError::Receiver("no frame read".into()))?;
        report(Reading {
            cpu_us: cpu_between(start, cpu_us()?),
            bytes,
        })?;
        drop(open);
        Ok(())
    })
}

/// The receiver process: its output, and its standard input, whose closing lets it go.
pub(super) struct ReceiverProcess {
    child: Child,
    lines: io::Lines<BufReader<ChildStdout>>,
}

impl ReceiverProcess {
    pub(super) fn start(cli: &FloorCli, addr: SocketAddr) -> Result<Self, FloorError> {
        let exe = std::env::current_exe().map_err(io_error("finding this program"))?;
        let mut child = Command::new(exe)
            .args([
                "floor",
                "--receive",
                &addr.to_string(),
                "--sockets",
                &cli.sockets.to_string(),
            ])
            .args([
                "--rounds",
                &cli.rounds.to_string(),
                "--frame-bytes",
                &cli.frame_bytes.to_string(),
            ])
            .args([
                "--interval-ms",
                &cli.interval_ms.to_string(),
                "--receiver",
                &cli.receiver.to_string(),
            ])
            .args(
                cli.worker_threads
                    .map(|n| ["--worker-threads".to_owned(), n.to_string()])
                    .into_iter()
                    .flatten(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(io_error("starting the receiver"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| FloorError::Receiver("no stdout".into()))?;
        Ok(Self {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The receiver's next line; an error if it stopped without one.
    pub(super) fn line(&mut self, waiting_for: &str) -> Result<String, FloorError> {
        match self.lines.next() {
            Some(line) => line.map_err(io_error("reading the receiver's output")),
            None => Err(FloorError::Receiver(format!(
                "stopped before {waiting_for}"
            ))),
        }
    }

    /// How the receiver exited, if it has.
    pub(super) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Lets the receiver close its sockets and exit, and waits for it.
    pub(super) fn finish(mut self) -> Result<(), FloorError> {
        drop(self.child.stdin.take());
        let status = self
            .child
            .wait()
            .map_err(io_error("waiting for the receiver"))?;
        if status.success() {
            Ok(())
        } else {
            Err(FloorError::Receiver(format!("exited with {status}")))
        }
    }
}

impl Drop for ReceiverProcess {
    /// A sender that gives up does not leave its receiver behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
