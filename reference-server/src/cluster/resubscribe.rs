//! Subscriptions that survive a Redis restart: after every reconnection of a pub/sub client,
//! each kind of subscription it holds (channels, patterns, shard channels) is made again.
//!
//! fred's own `manage_subscriptions` resubscribes the three kinds in a row and stops at the first
//! error, and an empty `SUBSCRIBE` is one: the Socket.IO adapter's client holds shard channels
//! only, so after a restart its empty `SUBSCRIBE` failed and its shard channels stayed
//! unsubscribed, and the node's sockets heard no other node's broadcast again.

use fred::clients::SubscriberClient;
use fred::interfaces::{ClientLike, EventInterface, PubsubInterface};
use fred::types::Key;
use tokio::task::JoinHandle;

/// Resubscribes `client` after each reconnection, retrying every half second until Redis takes
/// every subscription again.
pub fn keep_subscribed(client: SubscriberClient) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut reconnected = client.reconnect_rx();
        while reconnected.recv().await.is_ok() {
            while let Err(e) = resubscribe(&client).await {
                tracing::warn!(client = %client.id(), error = %e,
                    "pub/sub channels not resubscribed after a Redis reconnection; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    })
}

async fn resubscribe(client: &SubscriberClient) -> Result<(), fred::error::Error> {
    let keys = |set: std::collections::BTreeSet<fred::bytes_utils::Str>| -> Vec<Key> {
        set.into_iter().map(Key::from).collect()
    };
    let channels = keys(client.tracked_channels());
    if !channels.is_empty() {
        client.subscribe(channels).await?;
    }
    let patterns = keys(client.tracked_patterns());
    if !patterns.is_empty() {
        client.psubscribe(patterns).await?;
    }
    // One Redis, not a cluster: every shard channel in one command.
    let shards = keys(client.tracked_shard_channels());
    if !shards.is_empty() {
        client.ssubscribe(shards).await?;
    }
    Ok(())
}
