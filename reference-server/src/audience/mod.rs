//! Spec §7.4 and D11, `audience:count` to the conference room:
//! - after a change, at most one per second per conference (the first at once, the latest
//!   within the second);
//! - every 5 s while the conference has members.
//!
//! The count comes from the 10 s cache, refreshed on a miss (`SCARD`). With several nodes
//! (D25) each broadcast first passes a cluster-wide gate in the store
//! (`conference:{id}:count_gate:change|periodic`, `SET NX` with the interval as TTL), so the
//! room hears one count per interval whichever nodes saw the changes; a node whose change was
//! gated out tries again after the interval, so the latest count is still sent. A node whose
//! heartbeat was gated out tries again when the gate opens, not a period later: if the node
//! that sent it stops (it died, or its last member left), the heartbeat still comes on time.
//!
//! When a count is due is [`counts`]'s, which the node's shared state holds; this module passes
//! the gate and broadcasts.

pub mod counts;

use std::time::Duration;

use lcr_protocol::event::{self, conference_room};
use lcr_protocol::now_millis;
use lcr_protocol::server::AudienceCount;
use tokio::time::Instant;

use crate::node::Node;
use crate::store::Gate;

/// The audience changed (a join or a leave): broadcast now or at the end of the current second.
pub(crate) async fn changed(node: &Node, cid: &str) {
    let counts = &node.audience;
    if counts.change_now(cid, Instant::now()) {
        if gate(node, cid, "change", counts.interval()).await.passed() {
            broadcast_count(node, cid).await;
        } else {
            // Another node sent one this second: ours goes out after it.
            counts.change_later(cid);
        }
    }
}

/// One pass of the periodic task: trailing change broadcasts and the 5 s heartbeat.
pub(crate) async fn tick(node: &Node) {
    let counts = &node.audience;
    let now = Instant::now();
    let period = node.settings.count_period;
    let due = counts.due(now, period);
    for (cid, trailing) in due {
        let answer = if trailing {
            gate(node, &cid, "change", counts.interval()).await
        } else {
            // Ticks are 250 ms apart on every node: the gate is a little shorter than the
            // period so the next tick after it expires sends.
            gate(
                node,
                &cid,
                "periodic",
                period.saturating_sub(Duration::from_millis(250)),
            )
            .await
        };
        match answer {
            Gate::Passed => broadcast_count(node, &cid).await,
            Gate::Shut(_) if trailing => counts.change_later(&cid),
            Gate::Shut(opens_in) => counts.heartbeat_elsewhere(&cid, opens_in, period),
        }
    }
}

/// The cluster-wide gate: passed when this node sends the count for this interval. A store
/// failure lets the broadcast through (a count too many beats a count missing).
async fn gate(node: &Node, cid: &str, which: &str, ttl: Duration) -> Gate {
    node.store
        .pass_gate(&crate::store::keys::count_gate(cid, which), ttl)
        .await
        .unwrap_or(Gate::Passed)
}

async fn broadcast_count(node: &Node, cid: &str) {
    match node.store.audience_count(cid).await {
        Ok(audience_count) => {
            node.broadcast(
                conference_room(cid),
                event::AUDIENCE_COUNT,
                &AudienceCount {
                    conference_id: cid.to_owned(),
                    audience_count,
                    timestamp: now_millis(),
                },
            )
            .await
        }
        Err(e) => tracing::warn!(conference = %cid, error = %e, "audience:count skipped"),
    }
}
