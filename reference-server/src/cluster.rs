//! What nodes tell each other besides room broadcasts (D25).
//!
//! Room broadcasts, and the emptying of a conference's rooms when it ends, cross nodes through
//! the Socket.IO Redis adapter, in the order they were sent. One more thing must reach every
//! node: a conference ended, so each node forgets, for its own sockets, that they had joined it
//! (spec §2.5 clears presence on end; a socket of another node must not go on leaving as a
//! member) and stops its audience counts. That travels on the Redis channel [`CHANNEL`]; on one
//! node it is a direct call. It may reach a node before or after the broadcasts: forgetting
//! leaves the rooms alone, and a vote in between is refused by the store, which knows the
//! conference ended.
//!
//! This file sends ([`ClusterBus`], held by the node's shared state); [`listener`] receives and
//! applies what the other nodes send; [`resubscribe`] keeps the pub/sub subscriptions, this
//! one's and the Socket.IO adapter's, across Redis restarts.

pub mod listener;
pub mod resubscribe;

use fred::prelude::*;
use serde::{Deserialize, Serialize};

/// The Redis pub/sub channel of cluster messages.
pub const CHANNEL: &str = "lcr:cluster";

/// A message between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMessage {
    /// The node that sent it (a node ignores its own).
    pub node: String,
    /// The conference that ended.
    pub conference_ended: String,
}

/// Sends cluster messages: on Redis, `PUBLISH`; on one node, nothing to send.
#[derive(Clone, Default)]
pub struct ClusterBus {
    publisher: Option<Pool>,
}

impl ClusterBus {
    /// A bus publishing through `pool`.
    pub fn redis(pool: Pool) -> Self {
        ClusterBus {
            publisher: Some(pool),
        }
    }

    /// Tells the other nodes that `conference_id` ended. The caller handles its own node.
    pub async fn conference_ended(&self, node: &str, conference_id: &str) {
        let Some(pool) = &self.publisher else { return };
        let message = ClusterMessage {
            node: node.to_owned(),
            conference_ended: conference_id.to_owned(),
        };
        let payload = serde_json::to_string(&message).unwrap_or_default();
        if let Err(e) = pool.next().publish::<i64, _, _>(CHANNEL, payload).await {
            tracing::error!(conference = %conference_id, error = %e,
                "other nodes not told that the conference ended");
        }
    }
}
