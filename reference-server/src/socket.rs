//! The Socket.IO edge: authentication at the handshake (D2), then one ordered queue per socket.
//!
//! The connect middleware runs before socketioxide sends the CONNECT ack. It verifies the token
//! and registers every event handler there, so an event the client sends right after
//! connecting always finds its handler (registered in an async connect handler instead, it
//! could arrive first and be dropped).
//!
//! A second trap of the same kind: socketioxide sends the CONNECT ack *before* it marks the socket
//! connected, and `emit` refuses to send to a socket not marked connected. A fast client's first
//! event can be handled inside that window, and its answer would be lost (see
//! docs/benchmarks.md). The per-socket task therefore waits for the mark before it handles
//! anything.
//!
//! Handlers are synchronous: socketioxide calls them in arrival order, and each one only checks
//! the rate limit (D24) and puts the event on the socket's queue. One task per socket takes
//! events off that queue and runs their flows one after another, so a client's `join` is
//! always handled before the vote it sent next. Payloads are parsed and validated at the edge
//! ([`lcr_protocol::parse_request`]); anything invalid answers `error` `INVALID_PAYLOAD`.

use std::sync::Arc;
use std::time::Instant;

use lcr_protocol::client::{self, context_ids};
use lcr_protocol::event;
use lcr_protocol::server::{ErrorContext, ErrorEvent};
use lcr_protocol::token::Verifier;
use lcr_protocol::{ErrorCode, PayloadError, Validate, now_millis, parse_request};
use serde::de::DeserializeOwned;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{Event, SocketRef, TryData};
use socketioxide::handler::ConnectHandler;
use tokio::sync::mpsc;

use crate::auth::{self, AuthError};
use crate::flows::{self, Caller, FlowError, Outbox};
use crate::node::Node;
use crate::session::{RateLimiter, Session};

/// What the per-socket task is asked to do, in arrival order. Queued boxed, because a tokio
/// channel allocates its first 32 slots when it is made, for every connected socket, and a
/// socket sends only a few events per question (docs/benchmarks.md#memory-per-socket).
enum Job {
    /// An event, its payload and when it was read off the socket.
    Event(&'static str, Value, Instant),
    Unknown(String),
    Disconnect,
}

/// Registers the default namespace `/` with authentication (tokens checked by `tokens`) and
/// the protocol's handlers. With a remote adapter the returned future subscribes it to the
/// other nodes; await it.
pub fn register<A: Adapter + socketioxide_core::adapter::DefinedAdapter>(
    io: &SocketIo<A>,
    node: Arc<Node>,
    tokens: Arc<Verifier>,
) -> A::InitRes {
    let middleware = move |s: SocketRef<A>, TryData(auth): TryData<Value>| {
        let node = node.clone();
        let tokens = tokens.clone();
        async move { authenticate(node, &tokens, s, auth.ok()) }
    };
    io.ns("/", (async |_: SocketRef<A>| {}).with(middleware))
}

fn authenticate<A: Adapter>(
    node: Arc<Node>,
    tokens: &Verifier,
    s: SocketRef<A>,
    auth_payload: Option<Value>,
) -> Result<(), AuthError> {
    let identity = auth::identify(tokens, auth_payload.as_ref(), &s.req_parts().headers)
        .inspect_err(|_| node.metrics.refused())?;
    node.metrics.connected();
    let session = Arc::new(Session::new(
        identity.user_id,
        s.id.to_string(),
        RateLimiter::new(
            node.settings.rate_limit_events,
            node.settings.rate_limit_window,
        ),
    ));
    s.extensions.insert(session.clone());
    let (jobs, queue) = mpsc::unbounded_channel();
    for name in event::CLIENT_EVENTS {
        let (jobs, session, node) = (jobs.clone(), session.clone(), node.clone());
        s.on(
            name,
            move |s: SocketRef<A>, TryData(data): TryData<Value>| {
                enqueue(
                    &node,
                    &s,
                    &session,
                    &jobs,
                    name,
                    Job::Event(name, data.unwrap_or(Value::Null), Instant::now()),
                );
                std::future::ready(())
            },
        );
    }
    {
        let (jobs, session, node) = (jobs.clone(), session.clone(), node.clone());
        s.on_fallback(move |s: SocketRef<A>, Event(name): Event| {
            enqueue(&node, &s, &session, &jobs, "unknown", Job::Unknown(name));
            std::future::ready(())
        });
    }
    s.on_disconnect(move || {
        let _ = jobs.send(Box::new(Job::Disconnect));
        std::future::ready(())
    });
    tokio::spawn(serve_socket(node, s, session, queue));
    Ok(())
}

fn enqueue<A: Adapter>(
    node: &Node,
    s: &SocketRef<A>,
    session: &Session,
    jobs: &mpsc::UnboundedSender<Box<Job>>,
    name: &str,
    job: Job,
) {
    if !session.allow_event() {
        let context = match &job {
            Job::Event(_, data, _) => context_ids(data),
            _ => (None, None),
        };
        node.metrics.error(ErrorCode::RateLimited);
        send_error(
            s,
            name,
            context,
            &FlowError::new(
                ErrorCode::RateLimited,
                "too many events from this socket; this one was dropped",
            ),
        );
        return;
    }
    let _ = jobs.send(Box::new(job));
}

async fn serve_socket<A: Adapter>(
    node: Arc<Node>,
    s: SocketRef<A>,
    session: Arc<Session>,
    mut queue: mpsc::UnboundedReceiver<Box<Job>>,
) {
    if !wait_until_connected(&s).await {
        // Nothing it sends would be answered: close it, so its client knows and reconnects.
        tracing::debug!(socket = %s.id, "socket not connected 10 s after its handshake; closing it");
        let _ = s.clone().disconnect();
        // It handled nothing, so it joined nothing: only the connection count to undo (the
        // queue, and any disconnect job in it, goes with this task).
        node.metrics.disconnected();
        return;
    }
    while let Some(job) = queue.recv().await {
        match *job {
            Job::Event(name, data, read_at) => {
                node.metrics.event_queue.record(read_at.elapsed());
                let caller = Caller {
                    session: &session,
                    out: &s,
                };
                if let Err(e) = dispatch(&node, &caller, name, &data).await {
                    node.metrics.error(e.code);
                    send_error(&s, name, context_ids(&data), &e);
                }
            }
            Job::Unknown(name) => {
                node.metrics.error(ErrorCode::InvalidPayload);
                send_error(
                    &s,
                    &name,
                    (None, None),
                    &FlowError::new(ErrorCode::InvalidPayload, format!("unknown event {name:?}")),
                );
            }
            Job::Disconnect => {
                node.metrics.disconnected();
                flows::leave::disconnect(&node, &session).await;
                break;
            }
        }
    }
}

/// Waits (up to 10 s) for socketioxide to mark the socket connected after its CONNECT ack.
async fn wait_until_connected<A: Adapter>(s: &SocketRef<A>) -> bool {
    for _ in 0..10_000 {
        if s.connected() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    false
}

async fn dispatch(
    node: &Node,
    caller: &Caller<'_>,
    name: &'static str,
    data: &Value,
) -> Result<(), FlowError> {
    match name {
        event::CONFERENCE_JOIN => flows::join::join(node, caller, parse(data)?).await,
        event::CONFERENCE_LEAVE => flows::leave::leave(node, caller, parse(data)?).await,
        event::QUESTION_PUSH_LIVE => flows::push::push_live(node, caller, parse(data)?).await,
        event::QUESTION_CLOSE => flows::close::close(node, caller, parse(data)?).await,
        event::VOTE_SUBMIT => {
            flows::vote::submit(node, caller, parse::<client::VoteSubmit>(data)?).await
        }
        other => Err(FlowError::new(
            ErrorCode::InvalidPayload,
            format!("unknown event {other:?}"),
        )),
    }
}

fn parse<T: DeserializeOwned + Validate>(data: &Value) -> Result<T, FlowError> {
    parse_request(data).map_err(|e: PayloadError| {
        FlowError::new(ErrorCode::InvalidPayload, format!("invalid payload: {e}"))
    })
}

fn send_error<A: Adapter>(
    s: &SocketRef<A>,
    event_name: &str,
    (conference_id, question_id): (Option<String>, Option<String>),
    e: &FlowError,
) {
    let payload = ErrorEvent {
        code: e.code,
        message: e.message.clone(),
        timestamp: now_millis(),
        context: ErrorContext {
            event: event_name.to_owned(),
            conference_id,
            question_id,
        },
    };
    if let Err(err) = s.emit(event::ERROR, &payload) {
        tracing::debug!(socket = %s.id, error = %err, "error event not delivered");
        if queue_full(&err) {
            crate::slow::disconnect(s.clone(), event::ERROR);
        }
    }
}

/// The socket's queue was full: it is disconnected (see [`crate::slow`]).
fn queue_full(e: &socketioxide::SendError) -> bool {
    matches!(
        e,
        socketioxide::SendError::Socket(socketioxide::SocketError::InternalChannelFull)
    )
}

impl<A: Adapter> Outbox for SocketRef<A> {
    fn send_value(&self, event: &'static str, payload: Value) {
        if let Err(e) = self.emit(event, &payload) {
            tracing::debug!(socket = %self.id, event, error = %e, "event not delivered");
            if queue_full(&e) {
                crate::slow::disconnect(self.clone(), event);
            }
        }
    }

    fn join_rooms(&self, rooms: Vec<String>) {
        self.join(rooms);
    }

    fn leave_rooms(&self, rooms: Vec<String>) {
        self.leave(rooms);
    }
}
