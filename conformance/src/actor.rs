//! One named participant of a scenario: a real Socket.IO client (`rust_socketio`, async) and
//! everything it received, each message checked on arrival ([`crate::checks`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use lcr_profile::Presentation;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::Value;
use tokio::sync::Notify;

/// One message received.
#[derive(Debug, Clone)]
pub struct Message {
    /// Event name.
    pub name: String,
    /// First argument.
    pub data: Value,
    /// Receipt time, ms since the epoch.
    pub at: i64,
    consumed: bool,
}

/// Everything an actor's socket received, shared with its callbacks.
#[derive(Debug, Default)]
pub struct Inbox {
    messages: Mutex<Vec<Message>>,
    violations: Mutex<Vec<String>>,
    connect_error: Mutex<Option<Value>>,
    connected: AtomicBool,
    closed: AtomicBool,
    audience: AtomicBool,
    own_user: Mutex<String>,
    sequence: Mutex<crate::checks::Sequence>,
    arrived: Notify,
}

impl Inbox {
    fn lock_messages(&self) -> std::sync::MutexGuard<'_, Vec<Message>> {
        self.messages.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, name: String, data: Value) {
        let own = self
            .own_user
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut problems = crate::checks::check(
            &name,
            &data,
            self.audience.load(Ordering::Relaxed),
            Some(&own),
        );
        problems.extend(
            self.sequence
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .observe(&name, &data),
        );
        if !problems.is_empty() {
            self.violations
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(problems);
        }
        self.lock_messages().push(Message {
            name,
            data,
            at: lcr_protocol::now_millis(),
            consumed: false,
        });
        self.arrived.notify_waiters();
    }

    fn on_error(&self, payload: Payload) {
        let value = first(payload);
        // rust_socketio reports the server's `error` event and its own failures alike.
        if value.is_object() {
            self.record(lcr_protocol::event::ERROR.to_owned(), value);
            return;
        }
        let text = value.as_str().unwrap_or_default();
        if let Some(json) = text.strip_prefix("Received an ConnectError frame: ") {
            let data = serde_json::from_str(json).unwrap_or(Value::String(json.to_owned()));
            *self.connect_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(data);
            self.closed.store(true, Ordering::Relaxed);
        }
        self.arrived.notify_waiters();
    }

    /// Protocol violations seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every message received so far: (receipt time in ms, event, payload), for the report.
    pub fn received(&self) -> Vec<(i64, String, Value)> {
        self.lock_messages()
            .iter()
            .map(|m| (m.at, m.name.clone(), m.data.clone()))
            .collect()
    }

    /// Every message, consumed or not, as `name payload` lines (for failure messages).
    pub fn transcript(&self) -> Vec<String> {
        self.lock_messages()
            .iter()
            .map(|m| format!("{}{} {}", if m.consumed { "" } else { "*" }, m.name, m.data))
            .collect()
    }
}

fn first(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if !values.is_empty() => values.swap_remove(0),
        Payload::Text(_) => Value::Null,
        #[allow(deprecated)]
        Payload::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        Payload::Binary(_) => Value::Null,
    }
}

/// A connected (or refused) participant.
pub struct Actor {
    /// The scenario's name for it ("alex", "alex#2").
    pub name: String,
    /// The user id in its token.
    pub user_id: String,
    /// What it received.
    pub inbox: Arc<Inbox>,
    client: Option<Client>,
}

impl std::fmt::Debug for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor")
            .field("name", &self.name)
            .field("user_id", &self.user_id)
            .finish()
    }
}

impl Actor {
    /// Connects to the node at `url` (Socket.IO at `path`) presenting `credentials` at the
    /// handshake, and waits for CONNECT or `connect_error` (up to `wait`).
    pub async fn connect(
        (url, path): (&str, &str),
        name: &str,
        user_id: &str,
        credentials: Presentation,
        transport: TransportType,
        wait: Duration,
    ) -> Actor {
        let inbox = Arc::new(Inbox::default());
        inbox.audience.store(true, Ordering::Relaxed);
        *inbox.own_user.lock().unwrap_or_else(|p| p.into_inner()) = user_id.to_owned();
        let mut address = format!("{}{path}", url.trim_end_matches('/'));
        if let Some((param, value)) = &credentials.query {
            let encoded: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            address.push_str(&format!("?{param}={encoded}"));
        }
        let mut builder = ClientBuilder::new(address)
            .transport_type(transport)
            .reconnect(false);
        if let Some(auth) = credentials.auth {
            builder = builder.auth(auth);
        }
        if let Some((name, value)) = credentials.header {
            builder = builder.opening_header(name.as_str(), value);
        }
        let (i1, i2, i3, i4) = (inbox.clone(), inbox.clone(), inbox.clone(), inbox.clone());
        let builder = builder
            .on(Event::Connect, move |_, _| {
                let inbox = i1.clone();
                async move {
                    inbox.connected.store(true, Ordering::Relaxed);
                    inbox.arrived.notify_waiters();
                }
                .boxed()
            })
            .on(Event::Error, move |payload, _| {
                let inbox = i2.clone();
                async move { inbox.on_error(payload) }.boxed()
            })
            .on(Event::Close, move |_, _| {
                let inbox = i3.clone();
                async move {
                    inbox.closed.store(true, Ordering::Relaxed);
                    inbox.arrived.notify_waiters();
                }
                .boxed()
            })
            .on_any(move |event, payload, _| {
                let inbox = i4.clone();
                async move { inbox.record(String::from(event), first(payload)) }.boxed()
            });
        let client = match builder.connect().await {
            Ok(c) => Some(c),
            Err(e) => {
                *inbox
                    .connect_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) =
                    Some(Value::String(format!("transport: {e}")));
                None
            }
        };
        let actor = Actor {
            name: name.to_owned(),
            user_id: user_id.to_owned(),
            inbox,
            client,
        };
        let deadline = tokio::time::Instant::now() + wait;
        while !actor.is_connected() && actor.connect_error().is_none() {
            let notified = actor.inbox.arrived.notified();
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        actor
    }

    /// Whether the server accepted the connection.
    pub fn is_connected(&self) -> bool {
        self.inbox.connected.load(Ordering::Relaxed) && !self.inbox.closed.load(Ordering::Relaxed)
    }

    /// The `connect_error` payload, if the server refused the connection.
    pub fn connect_error(&self) -> Option<Value> {
        self.inbox
            .connect_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Marks this actor as the host (D10/D22 checks apply to audience sockets only).
    pub fn set_audience(&self, audience: bool) {
        self.inbox.audience.store(audience, Ordering::Relaxed);
    }

    /// Emits `event` with one argument (`None`: no argument at all).
    pub async fn emit(&self, event: &str, data: Option<Value>) -> Result<(), String> {
        let client = self.client.as_ref().ok_or("not connected")?;
        let payload = match data {
            Some(v) => Payload::Text(vec![v]),
            None => Payload::Text(vec![]),
        };
        client
            .emit(event.to_owned(), payload)
            .await
            .map_err(|e| format!("{} could not emit {event}: {e}", self.name))
    }

    /// Closes the socket.
    pub async fn disconnect(&self) {
        if let Some(c) = &self.client {
            let _ = c.disconnect().await;
        }
    }

    /// Waits up to `within` for the first unconsumed `event` whose payload satisfies `accept`,
    /// and consumes it.
    pub async fn take(
        &self,
        event: &str,
        within: Duration,
        accept: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inbox.arrived.notified();
            {
                let mut messages = self.inbox.lock_messages();
                if let Some(m) = messages
                    .iter_mut()
                    .find(|m| !m.consumed && m.name == event && accept(&m.data))
                {
                    m.consumed = true;
                    return Some(m.data.clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Like [`Actor::take`], but only among messages that arrived after the last one a step
    /// consumed: "does not receive X" after an observed event (a close) is about what follows
    /// it, not about an X that legitimately came before it.
    pub async fn take_after_seen(&self, event: &str, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.inbox.arrived.notified();
            {
                let mut messages = self.inbox.lock_messages();
                let start = messages
                    .iter()
                    .rposition(|m| m.consumed)
                    .map_or(0, |i| i + 1);
                if let Some(m) = messages[start..]
                    .iter_mut()
                    .find(|m| !m.consumed && m.name == event)
                {
                    m.consumed = true;
                    return Some(m.data.clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Marks every message received so far as seen.
    pub fn consume_all(&self) {
        for m in self.inbox.lock_messages().iter_mut() {
            m.consumed = true;
        }
    }

    /// Names of the unconsumed messages, in arrival order.
    pub fn pending_names(&self) -> Vec<String> {
        self.inbox
            .lock_messages()
            .iter()
            .filter(|m| !m.consumed)
            .map(|m| m.name.clone())
            .collect()
    }

    /// Every message received so far with `event`, with its receipt time (ms).
    pub fn all_timed(&self, event: &str) -> Vec<(i64, Value)> {
        self.inbox
            .lock_messages()
            .iter()
            .filter(|m| m.name == event)
            .map(|m| (m.at, m.data.clone()))
            .collect()
    }

    /// Every message received so far with `event`, consumed or not.
    pub fn all(&self, event: &str) -> Vec<Value> {
        self.inbox
            .lock_messages()
            .iter()
            .filter(|m| m.name == event)
            .map(|m| m.data.clone())
            .collect()
    }
}
