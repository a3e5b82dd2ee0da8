//! Receiving cluster messages (D25): every other node's message, applied to this node.

use std::sync::Arc;

use fred::clients::SubscriberClient;
use fred::prelude::*;

use super::{CHANNEL, ClusterMessage};
use crate::node::Node;

/// Subscribes to [`CHANNEL`] with `client` and applies every other node's message to `node`
/// until the client closes. Resubscribes by itself after a reconnection.
pub async fn listen(client: SubscriberClient, node: Arc<Node>) -> Result<(), Error> {
    let mut rx = client.message_rx();
    client.init().await?;
    client.subscribe(CHANNEL).await?;
    let _resubscribe = super::resubscribe::keep_subscribed(client.clone());
    tokio::spawn(async move {
        loop {
            let message = match rx.recv().await {
                Ok(message) => message,
                // A burst of pub/sub traffic outran this task: the messages lost cannot be
                // read again, but listening goes on (returning here would stop it for good).
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(lost = n, "cluster messages lost: the listener lagged");
                    continue;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            let Some(text) = message.value.as_string() else {
                continue;
            };
            match serde_json::from_str::<ClusterMessage>(&text) {
                Ok(m) if m.node != node.settings.node_id => {
                    node.conference_ended_here(&m.conference_ended).await;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "unreadable cluster message"),
            }
        }
    });
    Ok(())
}
