//! Slow readers: a socket whose queue is full is disconnected, so a client that stops reading
//! costs the node at most its queue (`--socket-queue` packets) and its kernel send buffer, and
//! never holds the rest of its room back. A host's socket is the exception ([`disconnect`]).
//!
//! Two things in socketioxide / engine.io make this more than a `disconnect()` call:
//!
//! - A broadcast's errors say how many sockets were full, not which: [`is_full`] asks each socket
//!   of the room, with an emit whose payload refuses to serialize. socketioxide reserves the
//!   queue slot before it serializes, so the emit fails with `InternalChannelFull` on a full
//!   socket and sends nothing on any other (the reserved slot is given back).
//! - `disconnect()` itself needs a slot for its DISCONNECT packet, so it fails on a full
//!   socket; and engine.io's websocket writer waits in a write to the TCP socket that a client
//!   which does not read never completes, holding the session open (its `on_disconnect` never
//!   runs) even after a heartbeat timeout. So every connection is accepted through [`Listener`],
//!   whose [`Stream`] can be cut: reads and writes then fail at once, the writer and the reader
//!   end, engine.io closes the session (socketioxide's `on_disconnect`, the flows' disconnect),
//!   and the socket is closed with a TCP reset, which frees its kernel buffers at once.
//!
//! The hot path pays nothing for this: a broadcast looks for full sockets only when one of its
//! deliveries failed, and the [`Stream`] touches its switch only when a read or write would wait.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use futures_util::task::AtomicWaker;
use serde::Serialize;
use socketioxide::adapter::Adapter;
use socketioxide::extract::SocketRef;
use socketioxide::{SendError, SocketError, SocketIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Accepts TCP connections as cuttable [`Stream`]s; each request on one carries its [`Conn`]
/// (as axum's `ConnectInfo`), which socketioxide keeps with the socket's request.
pub struct Listener {
    inner: TcpListener,
    send_buffer: Option<usize>,
    disconnected: Arc<AtomicU64>,
}

impl Listener {
    /// Accepts on `inner`; each connection cut adds one to `disconnected`. `send_buffer`:
    /// `SO_SNDBUF` of every accepted socket (`None`: the kernel's autotuning).
    pub fn new(
        inner: TcpListener,
        send_buffer: Option<usize>,
        disconnected: Arc<AtomicU64>,
    ) -> Self {
        Listener {
            inner,
            send_buffer,
            disconnected,
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Stream;
    type Addr = Conn;

    async fn accept(&mut self) -> (Stream, Conn) {
        loop {
            match self.inner.accept().await {
                Ok((tcp, peer)) => {
                    if let Some(bytes) = self.send_buffer
                        && let Err(e) = socket2::SockRef::from(&tcp).set_send_buffer_size(bytes)
                    {
                        tracing::debug!(%peer, error = %e, "cannot set the send buffer size");
                    }
                    let switch = Arc::new(Switch {
                        cut: AtomicBool::new(false),
                        reader: AtomicWaker::new(),
                        writer: AtomicWaker::new(),
                        counter: self.disconnected.clone(),
                    });
                    let conn = Conn {
                        peer,
                        switch: switch.clone(),
                    };
                    return (Stream { tcp, switch }, conn);
                }
                Err(e) => {
                    // As axum's own listener: a failed connection is skipped, a full file table
                    // is waited out.
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) {
                        tracing::error!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        Ok(Conn {
            peer: self.inner.local_addr()?,
            switch: Arc::new(Switch {
                cut: AtomicBool::new(false),
                reader: AtomicWaker::new(),
                writer: AtomicWaker::new(),
                counter: self.disconnected.clone(),
            }),
        })
    }
}

/// One accepted connection: its peer, and the switch that cuts it.
#[derive(Clone)]
pub struct Conn {
    /// The client's address.
    pub peer: SocketAddr,
    switch: Arc<Switch>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("peer", &self.peer).finish()
    }
}

impl Conn {
    /// Cuts the connection: its reads and writes fail from now on, and it closes with a TCP
    /// reset. True the first time (counted then), false after.
    pub fn cut(&self) -> bool {
        self.switch.cut()
    }
}

impl Connected<IncomingStream<'_, Listener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        stream.remote_addr().clone()
    }
}

struct Switch {
    cut: AtomicBool,
    reader: AtomicWaker,
    writer: AtomicWaker,
    counter: Arc<AtomicU64>,
}

impl Switch {
    fn cut(&self) -> bool {
        if self.cut.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.counter.fetch_add(1, Ordering::Relaxed);
        self.reader.wake();
        self.writer.wake();
        true
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Acquire)
    }
}

fn reset() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "slow reader: connection cut",
    )
}

/// A TCP stream that [`Conn::cut`] can make fail. Pending reads and writes register with the
/// switch, so a cut wakes them.
pub struct Stream {
    tcp: TcpStream,
    switch: Arc<Switch>,
}

impl Stream {
    /// `poll` on the stream unless it is cut; when it would wait, the cut can wake it.
    fn guard<T>(
        &mut self,
        cx: &mut Context<'_>,
        writing: bool,
        poll: impl FnOnce(Pin<&mut TcpStream>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if self.switch.is_cut() {
            return Poll::Ready(Err(reset()));
        }
        match poll(Pin::new(&mut self.tcp), cx) {
            Poll::Pending => {
                let waker = if writing {
                    &self.switch.writer
                } else {
                    &self.switch.reader
                };
                waker.register(cx.waker());
                // A cut between the poll and the registration would wake nobody.
                if self.switch.is_cut() {
                    Poll::Ready(Err(reset()))
                } else {
                    Poll::Pending
                }
            }
            ready => ready,
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if self.switch.is_cut() {
            // Close with a reset: the kernel drops what the client never read, at once.
            let _ = socket2::SockRef::from(&self.tcp).set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut()
            .guard(cx, false, |tcp, cx| tcp.poll_read(cx, buf))
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard(cx, true, |tcp, cx| tcp.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .guard(cx, true, |tcp, cx| tcp.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().guard(cx, true, |tcp, cx| tcp.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .guard(cx, true, |tcp, cx| tcp.poll_shutdown(cx))
    }
}

/// A payload that refuses to serialize: emitting it tests a socket's queue and sends nothing.
struct Probe;

impl Serialize for Probe {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("queue probe"))
    }
}

/// True when `socket`'s queue is full (the next packet to it would be refused). Sends nothing.
pub fn is_full<A: Adapter>(socket: &SocketRef<A>) -> bool {
    matches!(
        socket.emit("", &Probe),
        Err(SendError::Socket(SocketError::InternalChannelFull))
    )
}

/// Disconnects `socket`, whose queue was found full: it leaves every room at once (nothing more
/// is queued for it), and its connection is cut (see the module docs). True when this call cut
/// it (a socket already cut is not counted again).
pub fn disconnect<A: Adapter>(socket: SocketRef<A>, why: &'static str) -> bool {
    // A host's socket is not cut: it hears an `audience:joined` or `audience:left` per member,
    // so a join or leave burst of a large audience fills any small bound while the host reads
    // as fast as it can. It is one socket per conference, its queue's bound caps its memory all
    // the same, and what does not fit is dropped and counted (`lcr_deliveries_dropped_total`).
    if socket
        .extensions
        .get::<Arc<crate::session::Session>>()
        .is_some_and(|s| s.hosts_any())
    {
        tracing::debug!(socket = %socket.id, why, "a host's queue is full: not cut");
        return false;
    }
    socket.leave_all();
    let conn = socket
        .req_parts()
        .extensions
        .get::<ConnectInfo<Conn>>()
        .map(|c| c.0.clone());
    // The connection of the request that opened the session carries it only when that
    // request was the websocket itself (the clients of this project connect so); a session
    // that began with long-polling gets closed by engine.io's heartbeat instead, whose ping
    // finds the queue full.
    let opened_on_websocket = socket
        .req_parts()
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "transport=websocket"));
    match conn {
        Some(conn) if opened_on_websocket => {
            let first = conn.cut();
            if first {
                tracing::warn!(socket = %socket.id, peer = %conn.peer, why,
                    "slow reader: the socket's queue is full; disconnecting it");
            }
            first
        }
        _ => {
            tracing::warn!(socket = %socket.id, why,
                "slow reader: the socket's queue is full; it left its rooms, engine.io's heartbeat closes it");
            let _ = socket.disconnect();
            false
        }
    }
}

/// Disconnects every full socket among `sockets`; returns how many were cut.
pub fn disconnect_full<A: Adapter>(
    sockets: impl IntoIterator<Item = SocketRef<A>>,
    why: &'static str,
) -> usize {
    sockets
        .into_iter()
        .filter(is_full)
        .map(|s| disconnect(s, why))
        .filter(|cut| *cut)
        .count()
}

/// Every second, disconnects this node's full sockets. With the Redis adapter, the other nodes'
/// broadcasts reach this node's sockets inside the adapter, which only logs a full socket: this
/// finds them. Ends when the namespace is gone.
pub async fn sweep<A: Adapter>(io: SocketIo<A>) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(ns) = io.of("/") else {
            return;
        };
        disconnect_full(ns.local().sockets(), "sweep");
    }
}
