//! The countdown lease (D16, D25): with several nodes one runs a run's countdown. The task
//! holds `question:{id}:timer:lease`, renewed three times per lease TTL by a task of its own
//! and by each tick's claim, and stops without closing if another node holds it; a node that
//! stops gracefully hands its countdowns over. The lease decides who runs the countdown; the
//! claims ([`super::ticker`]) that each tick goes out once.

use std::sync::Arc;

use crate::node::Node;
use crate::store::{Lease, LeaseGrant, LiveRun};

/// What the lease renewals of one countdown found.
#[derive(Default)]
pub(super) struct LeaseState {
    lost: std::sync::atomic::AtomicBool,
}

impl LeaseState {
    /// Whether another node holds the lease.
    pub(super) fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Renews the countdown lease every third of its TTL until aborted (between ticks, whose
/// claims renew it too, and after the last tick until the close); records a refusal.
pub(super) async fn renew_lease(node: Arc<Node>, run: LiveRun, lease: Arc<LeaseState>) {
    let ttl = node.settings.timer_lease;
    loop {
        let asked = std::time::Instant::now();
        match node
            .store
            .timer_lease(&run, &node.settings.node_id, ttl, Lease::Hold)
            .await
        {
            Ok(LeaseGrant::Granted | LeaseGrant::HandedOver { .. }) => {}
            Ok(LeaseGrant::Refused) => {
                lease.lost.store(true, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            Err(e) => tracing::warn!(error = %e, "timer lease not renewed; retrying"),
        }
        tokio::time::sleep_until((asked + ttl / 3).into()).await;
    }
}

/// Gives this node's countdown lease of `run` up for another node to go on from
/// `next_tick` (D16); on failure the lease expires by itself within a TTL.
pub(crate) async fn hand_over(node: &Node, run: &LiveRun, next_tick: u32) {
    let (node_id, ttl) = (&node.settings.node_id, node.settings.timer_lease);
    if let Err(e) = node
        .store
        .hand_over_timer(run, node_id, next_tick, ttl)
        .await
    {
        tracing::debug!(error = %e, "countdown not handed over; its lease expires by itself");
    }
}
