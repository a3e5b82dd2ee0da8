//! The sending side: accepts the receiver's sockets, broadcasts every round, and gathers the
//! figures.

use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::counters::{cpu_between, cpu_us, segments_between, tcp_segments};
use super::receiver::ReceiverProcess;
use super::{Floor, FloorError, PATIENCE, io_error, runtime};
use crate::cli::{FloorCli, FloorShape};

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
                if let Some(status) = receiver.exited() {
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
pub(super) fn send(cli: &FloorCli) -> Result<Floor, FloorError> {
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
