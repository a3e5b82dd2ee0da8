//! Broadcasting to Socket.IO rooms, behind a trait so flows do not depend on the adapter type
//! (in-process now, the Redis adapter when several nodes share a conference).

use std::sync::Arc;

use async_trait::async_trait;
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;

use crate::session::Session;

/// Emits to every socket of a room, on every node the adapter reaches.
#[async_trait]
pub trait Rooms: Send + Sync + 'static {
    /// Sends `event` with `payload` to every socket in `room`.
    async fn broadcast(&self, room: String, event: &'static str, payload: serde_json::Value);
    /// Makes every socket of this node leave `room` and forget it joined `conference_id`
    /// (conference end; every node does it for its own sockets, see [`crate::cluster`]).
    async fn clear_local(&self, room: String, conference_id: &str);
}

/// The default namespace. `SocketIo::to` panics once it is gone (after `close()` at shutdown,
/// while disconnects still run), so every broadcast goes through `of`, which does not.
const NAMESPACE: &str = "/";

#[async_trait]
impl<A: Adapter> Rooms for SocketIo<A> {
    async fn broadcast(&self, room: String, event: &'static str, payload: serde_json::Value) {
        let Some(ns) = self.of(NAMESPACE) else {
            tracing::debug!(%room, event, "namespace closed; broadcast dropped");
            return;
        };
        if let Err(e) = ns.to(room.clone()).emit(event, &payload).await {
            tracing::warn!(%room, event, error = %e, "broadcast failed");
        }
    }

    async fn clear_local(&self, room: String, conference_id: &str) {
        let Some(ns) = self.of(NAMESPACE) else {
            return;
        };
        for socket in ns.clone().local().to(room.clone()).sockets() {
            if let Some(session) = socket.extensions.get::<Arc<Session>>() {
                session.forget(conference_id);
            }
        }
        if let Err(e) = ns.local().to(room.clone()).leave(room.clone()).await {
            tracing::warn!(%room, error = ?e, "leaving room failed");
        }
    }
}
