//! A lean Socket.IO v5 client over the Engine.IO v4 websocket transport.
//!
//! One tokio task and small buffers per connection (a few KB), exact about the protocol:
//! handshake (`0{…}`), CONNECT with an auth payload (`40{…}`), `connect_error` (`44{…}`),
//! ping/pong, events (`42[…]`). It is built for many connections from one process: tests that
//! open thousands of sockets and the load generator. Every received event carries the wall-clock
//! time it arrived, for latency measurements.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lcr_client::ConnectError> {
//! use lcr_client::{ClientConfig, connect};
//! let cfg = ClientConfig::new("http://127.0.0.1:3000").auth(serde_json::json!({"token": "<jwt>"}));
//! let (client, mut events) = connect(&cfg).await?;
//! client.emit("conference:join", &serde_json::json!({"conferenceId": "c1"})).unwrap();
//! let joined = events.expect("conference:joined", std::time::Duration::from_secs(5)).await.unwrap();
//! println!("{}", joined.data);
//! # Ok(()) }
//! ```

pub mod packet;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use tokio::net::{TcpSocket, TcpStream, lookup_host};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use packet::Frame;

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `http://host:port` of the server ([`ClientConfig::path`] is added).
    pub url: String,
    /// The Socket.IO path (`/socket.io/` by default).
    pub path: String,
    /// Query parameters of the handshake URL (a token may travel there).
    pub query: Vec<(String, String)>,
    /// The Socket.IO auth payload sent with CONNECT.
    pub auth: Option<Value>,
    /// Extra HTTP headers on the websocket upgrade.
    pub headers: Vec<(String, String)>,
    /// Local address to bind, to spread connections over 127.0.0.x.
    pub local_ip: Option<IpAddr>,
    /// Time allowed for TCP, websocket and Socket.IO CONNECT together.
    pub connect_timeout: Duration,
    /// `SO_RCVBUF` of the socket, in bytes (`None`: the kernel's default and autotuning).
    pub recv_buffer: Option<u32>,
}

impl ClientConfig {
    /// Defaults: no auth, 10 s connect timeout.
    pub fn new(url: impl Into<String>) -> Self {
        ClientConfig {
            url: url.into(),
            path: "/socket.io/".into(),
            query: Vec::new(),
            auth: None,
            headers: Vec::new(),
            local_ip: None,
            connect_timeout: Duration::from_secs(10),
            recv_buffer: None,
        }
    }

    /// Sets the auth payload.
    pub fn auth(mut self, auth: Value) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sets the Socket.IO path (`/socket.io/` by default).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Adds a query parameter to the handshake URL.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header to the upgrade request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Binds this local IP before connecting.
    pub fn local_ip(mut self, ip: IpAddr) -> Self {
        self.local_ip = Some(ip);
        self
    }

    /// Sets the socket's receive buffer (`SO_RCVBUF`) before connecting: how much a client
    /// that stops reading lets the kernel hold for it.
    pub fn recv_buffer(mut self, bytes: u32) -> Self {
        self.recv_buffer = Some(bytes);
        self
    }
}

/// Connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The URL is not `http://host:port…`.
    #[error("bad url {0}")]
    BadUrl(String),
    /// TCP failed.
    #[error("tcp: {0}")]
    Io(#[from] std::io::Error),
    /// The websocket upgrade failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The server broke the Engine.IO or Socket.IO handshake.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The server refused the namespace connection: the `connect_error` payload.
    #[error("connect_error: {0}")]
    Refused(Value),
    /// The whole connect took longer than allowed.
    #[error("connect timed out")]
    Timeout,
}

/// The connection is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("connection closed")]
pub struct Closed;

/// One event received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Event name.
    pub name: String,
    /// First argument (Null when absent).
    pub data: Value,
    /// Wall-clock receipt time, ms since the epoch (to compare with server timestamps).
    pub at: i64,
    /// Monotonic receipt time (for microsecond durations measured on this machine).
    pub instant: std::time::Instant,
}

/// What the connection task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// An event.
    Event(Received),
    /// The connection ended (server disconnect, transport error, close).
    Closed(String),
}

/// The sending half: cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    out: mpsc::UnboundedSender<String>,
    /// The Socket.IO session id the server gave.
    pub sid: String,
}

impl Client {
    /// Emits `event` with one argument.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), Closed> {
        let text = packet::encode_event(event, data).map_err(|_| Closed)?;
        self.send_raw(text)
    }

    /// Sends a raw Engine.IO text frame (tests use it for malformed packets).
    pub fn send_raw(&self, text: String) -> Result<(), Closed> {
        self.out.send(text).map_err(|_| Closed)
    }

    /// Closes the connection (Socket.IO DISCONNECT, then the websocket).
    pub fn close(&self) {
        let _ = self.out.send(String::new());
    }
}

/// The receiving half, with helpers that wait for a given event.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<Incoming>,
    stash: VecDeque<Received>,
    closed: Option<String>,
}

impl Events {
    /// The next event, in arrival order (stashed ones first); `None` once closed.
    pub async fn next(&mut self) -> Option<Received> {
        if let Some(r) = self.stash.pop_front() {
            return Some(r);
        }
        self.pull().await
    }

    async fn pull(&mut self) -> Option<Received> {
        if self.closed.is_some() {
            return None;
        }
        match self.rx.recv().await {
            Some(Incoming::Event(r)) => Some(r),
            Some(Incoming::Closed(why)) => {
                self.closed = Some(why);
                None
            }
            None => {
                self.closed = Some("connection task ended".into());
                None
            }
        }
    }

    /// Waits up to `within` for the first event called `name`, keeping the others for later.
    pub async fn expect(&mut self, name: &str, within: Duration) -> Option<Received> {
        self.expect_any(&[name], within).await
    }

    /// Waits up to `within` for the first event called any of `names` (an answer that may take
    /// several forms), keeping the others for later.
    pub async fn expect_any(&mut self, names: &[&str], within: Duration) -> Option<Received> {
        if let Some(i) = self
            .stash
            .iter()
            .position(|r| names.contains(&r.name.as_str()))
        {
            return self.stash.remove(i);
        }
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.pull()).await {
                Ok(Some(r)) if names.contains(&r.name.as_str()) => return Some(r),
                Ok(Some(r)) => self.stash.push_back(r),
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Everything received within `within`, stashed events included.
    pub async fn drain_for(&mut self, within: Duration) -> Vec<Received> {
        let mut all: Vec<Received> = self.stash.drain(..).collect();
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.pull()).await {
            all.push(r);
        }
        all
    }

    /// Why the connection closed, once it has.
    pub fn closed_reason(&self) -> Option<&str> {
        self.closed.as_deref()
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}

/// Connects, runs the Socket.IO handshake, and spawns the connection task.
pub async fn connect(cfg: &ClientConfig) -> Result<(Client, Events), ConnectError> {
    let conn = Connection::open(cfg).await?;
    let sid = conn.sid.clone();
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (in_tx, in_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(conn, out_rx, in_tx));
    Ok((
        Client { out: out_tx, sid },
        Events {
            rx: in_rx,
            stash: VecDeque::new(),
            closed: None,
        },
    ))
}

/// One event frame as it arrived, undecoded: decode it with [`EventFrame::parse`] (typed,
/// borrowing) or [`EventFrame::received`] (a `Value`).
#[derive(Debug, Clone)]
pub struct EventFrame {
    text: Utf8Bytes,
    /// Wall-clock receipt time, ms since the epoch.
    pub at: i64,
    /// Monotonic receipt time.
    pub instant: std::time::Instant,
}

impl EventFrame {
    /// The whole text frame (`42["name",…]`).
    pub fn text(&self) -> &str {
        self.text.as_str()
    }

    /// The event's name and argument decoded into `T` (see [`packet::parse_event`]).
    pub fn parse<'a, T: serde::Deserialize<'a>>(
        &'a self,
    ) -> Option<(std::borrow::Cow<'a, str>, Option<T>)> {
        packet::parse_event(self.text.as_str())
    }

    /// The event as a [`Received`], its argument a `Value`.
    pub fn received(&self) -> Option<Received> {
        match packet::decode(self.text.as_str()) {
            Frame::Event { name, data } => Some(Received {
                name,
                data,
                at: self.at,
                instant: self.instant,
            }),
            _ => None,
        }
    }
}

/// One Socket.IO connection driven by its owner, with no task or channel of its own: the
/// lightest way to hold many sockets in one process (the load generator's voters).
/// [`Connection::recv`] answers pings itself and yields event frames undecoded.
///
/// ```no_run
/// # async fn demo() -> Result<(), lcr_client::ConnectError> {
/// use lcr_client::{ClientConfig, Connection};
/// let mut conn = Connection::open(&ClientConfig::new("http://127.0.0.1:3000")).await?;
/// conn.emit("conference:join", &serde_json::json!({"conferenceId": "c1"})).await.ok();
/// while let Ok(frame) = conn.recv().await {
///     #[derive(serde::Deserialize)]
///     #[serde(rename_all = "camelCase")]
///     struct Joined<'a> { conference_id: Option<&'a str> }
///     if let Some((name, Some(data))) = frame.parse::<Joined>() {
///         println!("{name}: {:?}", data.conference_id);
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Connection {
    ws: Ws,
    /// The Socket.IO session id the server gave.
    pub sid: String,
    /// A write (a pong) was started and not seen through: flush before anything else.
    unflushed: bool,
}

impl Connection {
    /// Connects and runs the Engine.IO and Socket.IO handshakes, within `cfg.connect_timeout`.
    pub async fn open(cfg: &ClientConfig) -> Result<Self, ConnectError> {
        tokio::time::timeout(cfg.connect_timeout, open(cfg))
            .await
            .map_err(|_| ConnectError::Timeout)?
    }

    /// The next event frame, answering pings on the way; `Err(why)` once the connection is
    /// over (server disconnect, transport close or error). Cancel-safe: dropping the future
    /// loses no frame, and a pong cut short is sent on the next call.
    pub async fn recv(&mut self) -> Result<EventFrame, String> {
        loop {
            if self.unflushed {
                self.ws
                    .flush()
                    .await
                    .map_err(|e| format!("pong failed: {e}"))?;
                self.unflushed = false;
            }
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => match text.as_bytes().first() {
                    Some(b'2') if text.len() == 1 => {
                        self.unflushed = true;
                        self.ws
                            .send(Message::text(packet::PONG))
                            .await
                            .map_err(|e| format!("pong failed: {e}"))?;
                        self.unflushed = false;
                    }
                    Some(b'4') => match text.as_bytes().get(1) {
                        Some(b'2') => {
                            return Ok(EventFrame {
                                text,
                                at: now_millis(),
                                instant: std::time::Instant::now(),
                            });
                        }
                        Some(b'1') => return Err("server disconnected the socket".to_owned()),
                        _ => {}
                    },
                    Some(b'1') => return Err("server closed the transport".to_owned()),
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | None => return Err("websocket closed".to_owned()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("websocket error: {e}")),
            }
        }
    }

    /// Emits `event` with one argument.
    pub async fn emit<T: Serialize + ?Sized>(
        &mut self,
        event: &str,
        data: &T,
    ) -> Result<(), Closed> {
        let text = packet::encode_event(event, data).map_err(|_| Closed)?;
        self.send_raw(text).await
    }

    /// Sends a raw Engine.IO text frame.
    pub async fn send_raw(&mut self, text: String) -> Result<(), Closed> {
        self.ws.send(Message::text(text)).await.map_err(|_| Closed)
    }

    /// The error the TCP socket holds, if any (`SO_ERROR`, cleared by reading it), without
    /// reading from it: `ConnectionReset` once the server reset the connection. A client that
    /// stopped reading learns this way that the server cut it off.
    pub fn transport_error(&self) -> Option<std::io::Error> {
        match self.ws.get_ref() {
            MaybeTlsStream::Plain(tcp) => tcp.take_error().ok().flatten(),
            _ => None,
        }
    }

    /// Closes the connection (Socket.IO DISCONNECT, then the websocket).
    pub async fn close(mut self) {
        let _ = self.ws.send(Message::text("41")).await;
        let _ = self.ws.close(None).await;
    }
}

/// `s` with every byte but the URL's unreserved ones percent-encoded.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn open(cfg: &ClientConfig) -> Result<Connection, ConnectError> {
    let rest = cfg
        .url
        .strip_prefix("http://")
        .ok_or_else(|| ConnectError::BadUrl(cfg.url.clone()))?;
    let authority = rest.split('/').next().unwrap_or(rest).to_owned();
    let addr: SocketAddr = lookup_host(&authority)
        .await?
        .next()
        .ok_or_else(|| ConnectError::BadUrl(cfg.url.clone()))?;
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = cfg.local_ip {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    if let Some(bytes) = cfg.recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut url = format!("ws://{authority}{}?EIO=4&transport=websocket", cfg.path);
    for (k, v) in &cfg.query {
        url.push('&');
        url.push_str(&percent_encode(k));
        url.push('=');
        url.push_str(&percent_encode(v));
    }
    let mut request = url.into_client_request()?;
    for (k, v) in &cfg.headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::try_from(k.as_str())
            .map_err(|e| ConnectError::Protocol(e.to_string()))?;
        let value = tokio_tungstenite::tungstenite::http::HeaderValue::try_from(v.as_str())
            .map_err(|e| ConnectError::Protocol(e.to_string()))?;
        request.headers_mut().insert(name, value);
    }
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        request,
        MaybeTlsStream::Plain(stream),
        Some(ws_config()),
    )
    .await?;

    match read_frame(&mut ws).await? {
        Frame::Open(_) => {}
        other => {
            return Err(ConnectError::Protocol(format!(
                "expected OPEN, got {other:?}"
            )));
        }
    }
    ws.send(Message::text(packet::encode_connect(cfg.auth.as_ref())))
        .await?;
    let sid = loop {
        match read_frame(&mut ws).await? {
            Frame::Connect(v) => break v["sid"].as_str().unwrap_or_default().to_owned(),
            Frame::ConnectError(v) => return Err(ConnectError::Refused(v)),
            Frame::Ping => ws.send(Message::text(packet::PONG)).await?,
            other => {
                return Err(ConnectError::Protocol(format!(
                    "expected CONNECT, got {other:?}"
                )));
            }
        }
    };
    Ok(Connection {
        ws,
        sid,
        unflushed: false,
    })
}

async fn read_frame(ws: &mut Ws) -> Result<Frame, ConnectError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(packet::decode(t.as_str())),
            Some(Ok(Message::Close(_))) | None => {
                return Err(ConnectError::Protocol("closed during handshake".into()));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
        }
    }
}

async fn run(
    mut conn: Connection,
    mut out: mpsc::UnboundedReceiver<String>,
    events: mpsc::UnboundedSender<Incoming>,
) {
    let why = loop {
        tokio::select! {
            frame = conn.recv() => match frame {
                Ok(frame) => {
                    if let Some(r) = frame.received() {
                        let _ = events.send(Incoming::Event(r));
                    }
                }
                Err(why) => break why,
            },
            text = out.recv() => match text {
                Some(t) if !t.is_empty() => {
                    if let Err(e) = conn.ws.send(Message::text(t)).await {
                        break format!("send failed: {e}");
                    }
                }
                _ => {
                    conn.close().await;
                    break "closed by client".to_owned();
                }
            },
        }
    };
    let _ = events.send(Incoming::Closed(why));
}
