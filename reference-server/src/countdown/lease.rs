//! The countdown lease (D16, D25): with several nodes exactly one runs a run's countdown. The
//! task holds `question:{id}:timer:lease`, renewed three times per lease TTL by a task of its
//! own, and stops without closing if another node holds it; a node that stops gracefully hands
//! its countdowns over.

use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
use crate::store::{Lease, LeaseGrant, LiveRun};

/// What the lease renewals of one countdown found.
pub(super) struct LeaseState {
    created: std::time::Instant,
    /// Milliseconds after `created` of the last confirmed renewal.
    confirmed_ms: std::sync::atomic::AtomicU64,
    lost: std::sync::atomic::AtomicBool,
}

impl LeaseState {
    pub(super) fn new() -> Self {
        LeaseState {
            created: std::time::Instant::now(),
            confirmed_ms: std::sync::atomic::AtomicU64::new(0),
            lost: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A renewal asked at `asked` succeeded: the lease holds for a TTL from then at least.
    fn confirm(&self, asked: std::time::Instant) {
        let ms = asked.saturating_duration_since(self.created).as_millis() as u64;
        self.confirmed_ms
            .fetch_max(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long since the last confirmed renewal asked (since creation if none was).
    pub(super) fn unconfirmed_for(&self) -> Duration {
        let ms = self.confirmed_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.created
            .elapsed()
            .saturating_sub(Duration::from_millis(ms))
    }

    /// Whether another node holds the lease.
    pub(super) fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Renews the countdown lease every third of its TTL until aborted; records each answer.
pub(super) async fn renew_lease(node: Arc<Node>, run: LiveRun, lease: Arc<LeaseState>) {
    let ttl = node.settings.timer_lease;
    loop {
        let asked = std::time::Instant::now();
        match node
            .store
            .timer_lease(&run, &node.settings.node_id, ttl, Lease::Hold)
            .await
        {
            // The lease runs from when Redis ran the script, at or after `asked`.
            Ok(LeaseGrant::Granted | LeaseGrant::HandedOver { .. }) => lease.confirm(asked),
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
