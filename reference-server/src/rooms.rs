//! Broadcasting to Socket.IO rooms, behind a trait so flows do not depend on the adapter type
//! (in-process now, the Redis adapter when several nodes share a conference).

use std::sync::Arc;

use async_trait::async_trait;
use socketioxide::adapter::Adapter;
use socketioxide::{BroadcastError, SocketError, SocketIo};

use crate::session::Session;

/// Emits to every socket of a room, on every node the adapter reaches.
#[async_trait]
pub trait Rooms: Send + Sync + 'static {
    /// Sends `event` with `payload` to every socket in `room`; says what it could not do.
    async fn broadcast(
        &self,
        room: String,
        event: &'static str,
        payload: serde_json::Value,
    ) -> Shortfall;
    /// Makes every socket of `room`, on every node, leave it. Through the adapter, after every
    /// broadcast sent before it, so a node never drops the room before those reach its sockets.
    async fn empty(&self, room: String);
    /// Makes every socket of this node forget it joined `conference_id` (conference end; every
    /// node does it for its own sockets, see [`crate::cluster`]).
    fn forget_local(&self, conference_id: &str);
}

/// What a broadcast could not do. Both are counted in `/metrics`.
///
/// # Example
///
/// ```
/// let all_done = reference_server::rooms::Shortfall::default();
/// assert!(all_done.published && all_done.sockets_full == 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortfall {
    /// False when publishing to the other nodes failed (a Redis timeout): they may have missed
    /// it. This node's own sockets get it either way.
    pub published: bool,
    /// Sockets of this node that missed it because their send buffer was full (each is then
    /// disconnected, see [`crate::slow`]).
    pub sockets_full: usize,
}

impl Default for Shortfall {
    fn default() -> Self {
        Shortfall {
            published: true,
            sockets_full: 0,
        }
    }
}

fn full_buffers(errors: &[SocketError]) -> usize {
    errors
        .iter()
        .filter(|e| matches!(e, SocketError::InternalChannelFull))
        .count()
}

/// The default namespace. `SocketIo::to` panics once it is gone (after `close()` at shutdown,
/// while disconnects still run), so every broadcast goes through `of`, which does not.
const NAMESPACE: &str = "/";

#[async_trait]
impl<A: Adapter> Rooms for SocketIo<A> {
    async fn broadcast(
        &self,
        room: String,
        event: &'static str,
        payload: serde_json::Value,
    ) -> Shortfall {
        let Some(ns) = self.of(NAMESPACE) else {
            tracing::debug!(%room, event, "namespace closed; broadcast dropped");
            return Shortfall::default();
        };
        match ns.clone().to(room.clone()).emit(event, &payload).await {
            Ok(()) => Shortfall::default(),
            Err(BroadcastError::Socket(errors)) => {
                let sockets_full = full_buffers(&errors);
                if sockets_full > 0 {
                    // Only now, and only in this room, look for the sockets that were full.
                    crate::slow::disconnect_full(ns.local().within(room).sockets(), event);
                }
                Shortfall {
                    published: true,
                    sockets_full,
                }
            }
            Err(BroadcastError::Adapter(e)) => {
                // The Redis adapter publishes first and emits to this node's sockets only once
                // the publish succeeded: they have not had it yet, so a slow Redis costs the
                // other nodes at most, never this one.
                tracing::warn!(%room, event, error = %e,
                    "publishing to the other nodes failed; sending to this node's sockets only");
                let sockets_full = match ns
                    .clone()
                    .local()
                    .to(room.clone())
                    .emit(event, &payload)
                    .await
                {
                    Err(BroadcastError::Socket(errors)) => full_buffers(&errors),
                    _ => 0,
                };
                if sockets_full > 0 {
                    crate::slow::disconnect_full(ns.local().within(room).sockets(), event);
                }
                Shortfall {
                    published: false,
                    sockets_full,
                }
            }
            Err(e) => {
                tracing::error!(%room, event, error = %e, "broadcast failed");
                Shortfall::default()
            }
        }
    }

    async fn empty(&self, room: String) {
        let Some(ns) = self.of(NAMESPACE) else {
            return;
        };
        // The Redis adapter sends this on the channel of the broadcasts, so every node handles it
        // after the broadcasts to the room that came before it (`conference:status_changed`).
        if let Err(e) = ns.clone().to(room.clone()).leave(room.clone()).await {
            tracing::warn!(%room, error = ?e,
                "the other nodes were not told to empty the room; emptying it here");
            ns.local().to(room.clone()).leave(room).await.ok();
        }
    }

    fn forget_local(&self, conference_id: &str) {
        let Some(ns) = self.of(NAMESPACE) else {
            return;
        };
        for socket in ns.local().sockets() {
            if let Some(session) = socket.extensions.get::<Arc<Session>>() {
                session.forget(conference_id);
            }
        }
    }
}
