//! `loadgen floor`: what one small message costs over loopback TCP on this box when user space
//! does (nearly) nothing, to set a server's CPU per delivery and the generator's CPU per message
//! against (docs/benchmarks.md#the-kernels-floor).
//!
//! The sender accepts `--sockets` connections and, every `--interval-ms`, writes one
//! `--frame-bytes` frame to each of them. With `--sender bare` that is a plain loop of blocking
//! `send`s: a broadcast with no queue, no task and no framing. With `--sender tasks` it has the
//! shape of a tokio server: each socket has a writer task fed by a channel, and the broadcast
//! pushes the frame into every channel. The receiver is a child process (`loadgen floor
//! --receive ADDR`, so the two are measured apart and each stays under the box's limit of open
//! files): with `--receiver bare` it reads every socket from one thread on one epoll instance
//! (mio, edge-triggered), draining each ready socket; with `--receiver tasks` each socket has a
//! tokio task that reads it, as the generator's voters do. Each side's CPU time is taken with
//! `getrusage` from its first frame to its last and divided by the frames delivered; the
//! machine's TCP segments over the same span (`/proc/net/snmp`, halved: loopback counts each
//! segment out and in) tell how many segments a delivery took.
//!
//! Placement is the caller's: run it as the load run it is compared with was placed (under
//! `taskset -c 0 chrt --batch 0` for a `PIN=1` one; the receiver inherits both).

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::cli::{FloorCli, FloorShape};

/// How long either side waits for the other (a connection, a frame) before giving up.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum FloorError {
    #[error("{0}")]
    Input(String),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("the receiver: {0}")]
    Receiver(String),
    #[error("TCP counters: {0}")]
    Counters(String),
    #[error("{0}")]
    Task(String),
}

fn io_error(what: impl Into<String>) -> impl FnOnce(io::Error) -> FloorError {
    let what = what.into();
    move |source| FloorError::Io { what, source }
}

/// CPU time of this process so far, user and system, in microseconds.
fn cpu_us() -> (u64, u64) {
    // SAFETY: getrusage only writes the struct it is given, which is a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let us = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    (us(usage.ru_utime), us(usage.ru_stime))
}

/// The machine's TCP segments received and sent so far (`InSegs` + `OutSegs`).
fn tcp_segments() -> Result<u64, FloorError> {
    let snmp =
        std::fs::read_to_string("/proc/net/snmp").map_err(io_error("reading /proc/net/snmp"))?;
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
    pub sockets: usize,
    pub rounds: usize,
    pub interval_ms: u64,
    pub frame_bytes: usize,
    pub sender: FloorShape,
    pub receiver: FloorShape,
    /// Broadcasts that started after their due time (the sender could not keep the pace).
    pub late_rounds: usize,
    pub elapsed: Duration,
    /// The sender's CPU over its broadcasts, user and system, in µs.
    pub sender_cpu_us: (u64, u64),
    /// The receiver's CPU from its first frame to its last, user and system, in µs.
    pub receiver_cpu_us: (u64, u64),
    /// The machine's TCP segments over the broadcasts, each counted once.
    pub segments: u64,
}

impl Floor {
    pub fn deliveries(&self) -> u64 {
        (self.sockets * self.rounds) as u64
    }

    /// µs per delivery of a CPU time in µs.
    fn per(&self, us: u64) -> f64 {
        us as f64 / self.deliveries() as f64
    }

    pub fn sender_us_per_delivery(&self) -> f64 {
        self.per(self.sender_cpu_us.0 + self.sender_cpu_us.1)
    }

    pub fn receiver_us_per_message(&self) -> f64 {
        self.per(self.receiver_cpu_us.0 + self.receiver_cpu_us.1)
    }

    pub fn segments_per_delivery(&self) -> f64 {
        self.segments as f64 / self.deliveries() as f64
    }
}

impl fmt::Display for Floor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} frames of {} bytes, to {} sockets every {} ms, in {:.1} s ({} rounds started late); sender {:?}, receiver {:?}",
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
            "TCP segments per delivery: {:.2}",
            self.segments_per_delivery()
        )
    }
}

/// `loadgen floor`: measures, or with `--receive` plays the receiver for the process that does.
pub fn run(cli: &FloorCli) -> Result<Option<Floor>, FloorError> {
    if cli.sockets == 0 || cli.rounds == 0 || cli.frame_bytes == 0 {
        return Err(FloorError::Input(
            "--sockets, --rounds and --frame-bytes must be above 0".into(),
        ));
    }
    match cli.receive {
        Some(addr) => receive(cli, addr).map(|()| None),
        None => send(cli).map(Some),
    }
}

/// The receiver: connects every socket, says so, reads until every frame has arrived, and
/// prints its CPU over that span (`done USER_US SYSTEM_US`).
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
    println!("connected");
    io::stdout()
        .flush()
        .map_err(io_error("writing to the sender"))?;
    let per_socket = (cli.rounds * cli.frame_bytes) as u64;
    let start = match cli.receiver {
        FloorShape::Bare => read_bare(streams, per_socket)?,
        FloorShape::Tasks => read_tasks(streams, per_socket, cli.worker_threads)?,
    };
    let ((u0, s0), (u1, s1)) = (start, cpu_us());
    println!("done {} {}", u1 - u0, s1 - s0);
    Ok(())
}

/// Reads every socket from one epoll loop; returns the CPU time at the first frame.
fn read_bare(streams: Vec<TcpStream>, per_socket: u64) -> Result<(u64, u64), FloorError> {
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
    let expected = per_socket * streams.len() as u64;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    let (mut received, mut start) = (0u64, None);
    while received < expected {
        poll.poll(&mut events, Some(PATIENCE))
            .map_err(io_error("waiting on epoll"))?;
        if events.is_empty() {
            return Err(FloorError::Receiver(format!(
                "no frame for {PATIENCE:?} with {received} of {expected} bytes read"
            )));
        }
        for event in &events {
            let stream = &mut streams[event.token().0];
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => {
                        return Err(FloorError::Receiver(
                            "the sender closed a socket early".into(),
                        ));
                    }
                    Ok(n) => {
                        start.get_or_insert_with(cpu_us);
                        received += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(io_error("reading a frame")(e)),
                }
            }
        }
    }
    start.ok_or_else(|| FloorError::Receiver("no frame read".into()))
}

/// Reads every socket from a task of its own; returns the CPU time at the first frame.
fn read_tasks(
    streams: Vec<TcpStream>,
    per_socket: u64,
    threads: usize,
) -> Result<(u64, u64), FloorError> {
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
                    let read = tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await;
                    let n = read
                        .map_err(|_| FloorError::Receiver(format!("no frame for {PATIENCE:?}")))?
                        .map_err(io_error("reading a frame"))?;
                    if n == 0 {
                        return Err(FloorError::Receiver(
                            "the sender closed a socket early".into(),
                        ));
                    }
                    started.get_or_init(cpu_us);
                    received += n as u64;
                }
                Ok(())
            });
        }
        while let Some(done) = readers.join_next().await {
            done.map_err(|e| FloorError::Task(format!("a reader task failed: {e}")))??;
        }
        Ok(())
    })?;
    started
        .get()
        .copied()
        .ok_or_else(|| FloorError::Receiver("no frame read".into()))
}

/// The receiver process, killed if the sender gives up on it.
struct ReceiverProcess(Child);

impl Drop for ReceiverProcess {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
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
            Ok((socket, _)) => {
                socket
                    .set_nonblocking(false)
                    .map_err(io_error("making a socket blocking"))?;
                sockets.push(socket);
                last = Instant::now();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = receiver.0.try_wait() {
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

/// The sender: starts the receiver, accepts its sockets, broadcasts, and gathers the figures.
fn send(cli: &FloorCli) -> Result<Floor, FloorError> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(io_error("binding a listener on 127.0.0.1"))?;
    let addr = listener
        .local_addr()
        .map_err(io_error("reading the listener's address"))?;
    let exe = std::env::current_exe().map_err(io_error("finding this program"))?;
    let receiver_shape = match cli.receiver {
        FloorShape::Bare => "bare",
        FloorShape::Tasks => "tasks",
    };
    let child = Command::new(exe)
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
            "--receiver",
            receiver_shape,
            "--worker-threads",
            &cli.worker_threads.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(io_error("starting the receiver"))?;
    let mut receiver = ReceiverProcess(child);
    let stdout = receiver
        .0
        .stdout
        .take()
        .ok_or_else(|| FloorError::Receiver("no stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = move || {
        lines
            .next()
            .transpose()
            .map_err(io_error("reading the receiver's output"))
    };
    let mut sockets = accept_all(&listener, cli.sockets, &mut receiver)?;
    if next_line()?.as_deref() != Some("connected") {
        return Err(FloorError::Receiver("did not say it had connected".into()));
    }
    // Let the connections' setup settle out of the kernel before measuring.
    std::thread::sleep(Duration::from_secs(1));

    let (segments_before, (u0, s0)) = (tcp_segments()?, cpu_us());
    let started = Instant::now();
    let late_rounds = match cli.sender {
        FloorShape::Bare => write_bare(cli, &mut sockets)?,
        FloorShape::Tasks => write_tasks(cli, sockets)?,
    };
    let (u1, s1) = cpu_us();
    let done =
        next_line()?.ok_or_else(|| FloorError::Receiver("stopped without its figures".into()))?;
    let segments = tcp_segments()?.saturating_sub(segments_before) / 2;
    let elapsed = started.elapsed();
    let status = receiver
        .0
        .wait()
        .map_err(io_error("waiting for the receiver"))?;
    if !status.success() {
        return Err(FloorError::Receiver(format!("exited with {status}")));
    }
    let figures: Option<Vec<u64>> = done
        .strip_prefix("done ")
        .and_then(|rest| rest.split(' ').map(|v| v.parse().ok()).collect());
    let Some(&[ru, rs]) = figures.as_deref() else {
        return Err(FloorError::Receiver(format!(
            "printed {done:?}, not its figures"
        )));
    };
    Ok(Floor {
        sockets: cli.sockets,
        rounds: cli.rounds,
        interval_ms: cli.interval_ms,
        frame_bytes: cli.frame_bytes,
        sender: cli.sender,
        receiver: cli.receiver,
        late_rounds,
        elapsed,
        sender_cpu_us: (u1 - u0, s1 - s0),
        receiver_cpu_us: (ru, rs),
        segments,
    })
}

/// How long until round `round + 1` is due; `None` when it is already late.
fn until_next(started: Instant, interval: Duration, round: usize) -> Option<Duration> {
    (started + interval * (round as u32 + 1)).checked_duration_since(Instant::now())
}

/// Every round, one `send` per socket from this thread; returns the rounds that started late.
fn write_bare(cli: &FloorCli, sockets: &mut [TcpStream]) -> Result<usize, FloorError> {
    let frame = vec![b'x'; cli.frame_bytes];
    let (interval, started, mut late) = (Duration::from_millis(cli.interval_ms), Instant::now(), 0);
    for round in 0..cli.rounds {
        for socket in sockets.iter_mut() {
            socket
                .write_all(&frame)
                .map_err(io_error("writing a frame"))?;
        }
        match until_next(started, interval, round) {
            Some(wait) => std::thread::sleep(wait),
            None => late += 1,
        }
    }
    Ok(late)
}

/// Every round, the frame pushed into each socket's channel, written by that socket's task.
fn write_tasks(cli: &FloorCli, sockets: Vec<TcpStream>) -> Result<usize, FloorError> {
    let frame: Arc<[u8]> = vec![b'x'; cli.frame_bytes].into();
    let (interval, rounds) = (Duration::from_millis(cli.interval_ms), cli.rounds);
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
                Ok::<_, FloorError>(())
            });
        }
        let (started, mut late) = (Instant::now(), 0);
        for round in 0..rounds {
            for tx in &channels {
                // A writer stops only on an error, which its join below reports.
                let _ = tx.send(frame.clone());
            }
            match until_next(started, interval, round) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => late += 1,
            }
        }
        drop(channels);
        while let Some(done) = writers.join_next().await {
            done.map_err(|e| FloorError::Task(format!("a writer task failed: {e}")))??;
        }
        Ok(late)
    })
}
