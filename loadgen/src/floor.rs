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

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

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

/// CPU time of this process so far, user and system, in microseconds.
fn cpu_us() -> Result<(u64, u64), FloorError> {
    // SAFETY: getrusage only writes the struct it is given, a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Err(io_error("getrusage")(io::Error::last_os_error()));
    }
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Ok((us(usage.ru_utime), us(usage.ru_stime)))
}

/// CPU time spent between two readings of [`cpu_us`].
fn cpu_between(before: (u64, u64), after: (u64, u64)) -> (u64, u64) {
    (
        after.0.saturating_sub(before.0),
        after.1.saturating_sub(before.1),
    )
}

/// TCP segments received and sent (`InSegs` + `OutSegs`) in the text of `/proc/net/snmp`.
pub fn tcp_segments_in(snmp: &str) -> Result<u64, FloorError> {
    let mut tcp = snmp.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return Err(FloorError::Counters(
            "/proc/net/snmp has no Tcp lines".into(),
        ));
    };
    let field = |name: &str| {
        let at = names.split_whitespace().position(|n| n == name);
        let value = at.and_then(|i| values.split_whitespace().nth(i));
        value
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| FloorError::Counters(format!("no Tcp {name} in /proc/net/snmp")))
    };
    Ok(field("InSegs")? + field("OutSegs")?)
}

/// Segments between two readings of the counters, each counted once: on loopback every segment
/// is counted when sent and again when received.
fn segments_between(before: u64, after: u64) -> u64 {
    after.saturating_sub(before) / 2
}

/// The machine's TCP segments received and sent so far.
fn tcp_segments() -> Result<u64, FloorError> {
    let snmp =
        std::fs::read_to_string("/proc/net/snmp").map_err(io_error("reading /proc/net/snmp"))?;
    tcp_segments_in(&snmp)
}

fn runtime(worker_threads: usize) -> Result<tokio::runtime::Runtime, FloorError> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if worker_threads > 0 {
        builder.worker_threads(worker_threads);
    }
    builder
        .enable_all()
        .build()
        .map_err(io_error("starting the tokio runtime"))
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
        Some(addr) => receive(cli, addr).map(|()| None),
        None => send(cli).map(Some),
    }
}

/// What the receiver measured, printed to the sender as `done USER_US SYSTEM_US BYTES`.
struct Reading {
    cpu_us: (u64, u64),
    bytes: u64,
}

/// The receiver: connects every socket, arms its readers and says `connected`, reads until
/// every frame has arrived, prints what it measured, and keeps its sockets open until the
/// sender closes its standard input.
fn receive(cli: &FloorCli, addr: SocketAddr) -> Result<(), FloorError> {
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
    threads: usize,
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
struct ReceiverProcess {
    child: Child,
    lines: io::Lines<BufReader<ChildStdout>>,
}

impl ReceiverProcess {
    fn start(cli: &FloorCli, addr: SocketAddr) -> Result<Self, FloorError> {
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
            .args(["--worker-threads", &cli.worker_threads.to_string()])
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
    fn line(&mut self, waiting_for: &str) -> Result<String, FloorError> {
        match self.lines.next() {
            Some(line) => line.map_err(io_error("reading the receiver's output")),
            None => Err(FloorError::Receiver(format!(
                "stopped before {waiting_for}"
            ))),
        }
    }

    /// Lets the receiver close its sockets and exit, and waits for it.
    fn finish(mut self) -> Result<(), FloorError> {
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

/// Accepts the receiver's sockets, giving up if it exits or is silent for [`PATIENCE`].
fn accept_all(
    listener: &TcpListener,
    n: usize,
    receiver: &mut ReceiverProcess,
) -> Result<Vec<TcpStream>, FloorError> {
    listener
        .set_nonblocking(true)
        .map_err(io_error("making the listener non-blocking"))?;
    let mut sockets = Vec::with_capacity(n);
    let mut last = Instant::now();
    while sockets.len() < n {
        match listener.accept() {
            // An accepted socket is blocking whatever the listener is.
            Ok((socket, _)) => {
                sockets.push(socket);
                last = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = receiver.child.try_wait() {
                    return Err(FloorError::Receiver(format!(
                        "exited ({status}) with {} of {n} sockets connected",
                        sockets.len()
                    )));
                }
                if last.elapsed() > PATIENCE {
                    return Err(FloorError::Receiver(format!(
                        "connected {} of {n} sockets, then nothing for {PATIENCE:?}",
                        sockets.len()
                    )));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(io_error("accepting the receiver's sockets")(e)),
        }
    }
    Ok(sockets)
}

/// The measured span on the sender's side: opened at the first broadcast, its CPU closed once
/// the last frame is written.
struct Span {
    started: Instant,
    segments: u64,
    cpu_us: (u64, u64),
}

impl Span {
    fn open() -> Result<Self, FloorError> {
        Ok(Span {
            started: Instant::now(),
            segments: tcp_segments()?,
            cpu_us: cpu_us()?,
        })
    }
}

/// What a sender's broadcasts give back: the span, the CPU it used, the rounds that started
/// late, and its sockets, still open.
struct Sent {
    span: Span,
    cpu_us: (u64, u64),
    late_rounds: usize,
    _sockets: Vec<TcpStream>,
}

/// The sender: starts the receiver, accepts its sockets, broadcasts, and gathers the figures.
fn send(cli: &FloorCli) -> Result<Floor, FloorError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(io_error("binding a listener on 127.0.0.1"))?;
    let addr = listener
        .local_addr()
        .map_err(io_error("reading the listener's address"))?;
    let mut receiver = ReceiverProcess::start(cli, addr)?;
    let sockets = accept_all(&listener, cli.sockets, &mut receiver)?;
    let said = receiver.line("saying it had connected")?;
    if said != "connected" {
        return Err(FloorError::Receiver(format!(
            "printed {said:?}, not \"connected\""
        )));
    }
    // Lets the connections' setup settle out of the kernel before measuring.
    std::thread::sleep(Duration::from_secs(1));

    let sent = match cli.sender {
        FloorShape::Bare => write_bare(cli, sockets)?,
        FloorShape::Tasks => write_tasks(cli, sockets)?,
    };
    let done = receiver.line("its figures")?;
    let segments = segments_between(sent.span.segments, tcp_segments()?);
    let elapsed = sent.span.started.elapsed();
    receiver.finish()?;

    let figures: Option<Vec<u64>> = done
        .strip_prefix("done ")
        .and_then(|rest| rest.split(' ').map(|v| v.parse().ok()).collect());
    let Some(&[user, system, read]) = figures.as_deref() else {
        return Err(FloorError::Receiver(format!(
            "printed {done:?}, not its figures"
        )));
    };
    let floor = Floor {
        sockets: cli.sockets,
        rounds: cli.rounds,
        interval_ms: cli.interval_ms,
        frame_bytes: cli.frame_bytes,
        sender: cli.sender,
        receiver: cli.receiver,
        late_rounds: sent.late_rounds,
        elapsed,
        sender_cpu_us: sent.cpu_us,
        receiver_cpu_us: (user, system),
        segments,
    };
    let sent_bytes = floor.deliveries() * cli.frame_bytes as u64;
    if read != sent_bytes {
        return Err(FloorError::Lost {
            read,
            sent: sent_bytes,
        });
    }
    Ok(floor)
}

/// Paces the broadcasts: after round `round` (from 0), how long until the next is due, or
/// `None` when it is already late (the round overran the interval).
fn until_next(started: Instant, interval: Duration, round: usize) -> Option<Duration> {
    let next = u32::try_from(round + 1).unwrap_or(u32::MAX);
    let due = started.checked_add(interval.saturating_mul(next))?;
    due.checked_duration_since(Instant::now())
}

/// Counts the rounds that started late; no wait follows the last one.
struct Pace {
    started: Instant,
    interval: Duration,
    rounds: usize,
    late: usize,
}

impl Pace {
    fn new(interval_ms: u64, rounds: usize) -> Self {
        Pace {
            started: Instant::now(),
            interval: Duration::from_millis(interval_ms),
            rounds,
            late: 0,
        }
    }

    /// After round `round`: how long to wait for the next, if there is one.
    fn after(&mut self, round: usize) -> Option<Duration> {
        if round + 1 >= self.rounds {
            return None;
        }
        let wait = until_next(self.started, self.interval, round);
        if wait.is_none() {
            self.late += 1;
        }
        wait
    }
}

/// Every round, one `send` per socket from this thread.
fn write_bare(cli: &FloorCli, mut sockets: Vec<TcpStream>) -> Result<Sent, FloorError> {
    let frame = vec![b'x'; cli.frame_bytes];
    let span = Span::open()?;
    let mut pace = Pace::new(cli.interval_ms, cli.rounds);
    for round in 0..cli.rounds {
        for socket in &mut sockets {
            socket
                .write_all(&frame)
                .map_err(io_error("writing a frame"))?;
        }
        if let Some(wait) = pace.after(round) {
            std::thread::sleep(wait);
        }
    }
    let cpu = cpu_between(span.cpu_us, cpu_us()?);
    Ok(Sent {
        span,
        cpu_us: cpu,
        late_rounds: pace.late,
        _sockets: sockets,
    })
}

/// Every round, the frame pushed into each socket's channel, written by that socket's task.
/// The runtime and the writers are set up before the span opens.
fn write_tasks(cli: &FloorCli, sockets: Vec<TcpStream>) -> Result<Sent, FloorError> {
    let frame: Arc<[u8]> = vec![b'x'; cli.frame_bytes].into();
    let (interval_ms, rounds) = (cli.interval_ms, cli.rounds);
    runtime(cli.worker_threads)?.block_on(async move {
        let mut writers = tokio::task::JoinSet::new();
        let mut channels = Vec::with_capacity(sockets.len());
        for socket in sockets {
            socket
                .set_nonblocking(true)
                .map_err(io_error("making a socket non-blocking"))?;
            let mut socket = tokio::net::TcpStream::from_std(socket)
                .map_err(io_error("registering a socket"))?;
            let (tx, mut rx) = mpsc::unbounded_channel::<Arc<[u8]>>();
            channels.push(tx);
            writers.spawn(async move {
                while let Some(frame) = rx.recv().await {
                    socket
                        .write_all(&frame)
                        .await
                        .map_err(io_error("writing a frame"))?;
                }
                // The socket goes back to the caller, to stay open until the figures are taken.
                Ok::<_, FloorError>(socket)
            });
        }
        let span = Span::open()?;
        let mut pace = Pace::new(interval_ms, rounds);
        'rounds: for round in 0..rounds {
            for tx in &channels {
                if tx.send(frame.clone()).is_err() {
                    break 'rounds; // a writer failed: its join below says why
                }
            }
            if let Some(wait) = pace.after(round) {
                tokio::time::sleep(wait).await;
            }
        }
        drop(channels);
        let mut open = Vec::with_capacity(writers.len());
        while let Some(done) = writers.join_next().await {
            open.push(done.map_err(|source| FloorError::Task {
                side: "writer",
                source,
            })??);
        }
        let cpu = cpu_between(span.cpu_us, cpu_us()?);
        let sockets = open
            .into_iter()
            .map(|socket| socket.into_std())
            .collect::<Result<_, _>>()
            .map_err(io_error("handing a socket back"))?;
        Ok(Sent {
            span,
            cpu_us: cpu,
            late_rounds: pace.late,
            _sockets: sockets,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
        Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n\
        Tcp: 1 200 120000 -1 10 12 0 0 3 4000 3500 7 0 1 0\n\
        Udp: InDatagrams\nUdp: 5\n";

    #[test]
    fn segments_are_in_and_out_from_the_tcp_lines() {
        assert_eq!(tcp_segments_in(SNMP).unwrap(), 7500);
        assert_eq!(
            segments_between(7500, 9500),
            1000,
            "loopback counts a segment twice"
        );
        assert_eq!(
            segments_between(7500, 7000),
            0,
            "counters that went back count nothing"
        );
        let no_out = SNMP.replace("OutSegs", "OutSegments");
        let err = tcp_segments_in(&no_out).unwrap_err().to_string();
        assert!(err.contains("no Tcp OutSegs"), "{err}");
        let err = tcp_segments_in("Ip: 1\n").unwrap_err().to_string();
        assert!(err.contains("no Tcp lines"), "{err}");
    }

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

    #[test]
    fn only_a_round_due_in_the_past_is_late_and_the_last_has_no_next() {
        let mut pace = Pace::new(50, 3);
        assert!(
            pace.after(0)
                .is_some_and(|wait| wait <= Duration::from_millis(50))
        );
        pace.started -= Duration::from_secs(1); // round 1 overran: round 2 is already due
        assert_eq!(pace.after(1), None);
        assert_eq!(pace.after(2), None, "no round follows the last");
        assert_eq!(pace.late, 1);
    }
}
