//! Taking over countdowns no node holds (D16, D25): every node looks for open runs whose
//! lease is free (their node died, or stopped and handed them over) and starts their task, so
//! another node takes over within one lease TTL and closes the run by `expiresAt + 2 s`.

use super::Origin;
use super::lease::hand_over;
use crate::node::Node;
use crate::store::{Lease, LeaseGrant, LiveRun};

/// Every node, every quarter of a lease TTL: starts the countdown of any open run no node holds
/// (its node died, or shut down), which then ticks on or closes it (D16, D25).
pub(crate) async fn watch_open_runs(node: &Node) {
    let runs = match node.store.open_runs().await {
        Ok(runs) => runs,
        Err(e) => {
            tracing::debug!(error = %e, "open runs unreadable");
            return;
        }
    };
    for run in runs {
        if node.countdowns.stopping() {
            return;
        }
        if node.countdowns.runs_here(&run) {
            continue;
        }
        let (node_id, ttl) = (&node.settings.node_id, node.settings.timer_lease);
        let origin = match node
            .store
            .timer_lease(&run, node_id, ttl, Lease::Take)
            .await
        {
            Ok(LeaseGrant::Granted) => Origin::TakenOver,
            Ok(LeaseGrant::HandedOver { next_tick }) => Origin::HandedOver { next_tick },
            Ok(LeaseGrant::Refused) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "timer lease unavailable");
                continue;
            }
        };
        let meta = match node.store.question_meta(&run.question_id).await {
            Ok(Some(meta)) => meta,
            Ok(None) => match node
                .catalog
                .question(&run.conference_id, &run.question_id)
                .await
            {
                Ok(Some(meta)) => meta,
                _ => {
                    tracing::error!(question = %run.question_id, "open run without metadata");
                    give_back(node, &run, origin).await;
                    continue;
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "question metadata unreadable");
                give_back(node, &run, origin).await;
                continue;
            }
        };
        match origin {
            Origin::HandedOver { next_tick } => tracing::info!(conference = %run.conference_id,
                question = %run.question_id, expires_at = run.expires_at, next_tick,
                "going on with a countdown a stopping node handed over"),
            _ => tracing::warn!(conference = %run.conference_id, question = %run.question_id,
                expires_at = run.expires_at, "taking over the countdown of a run no node holds"),
        }
        node.metrics.timer_takeover();
        super::start(node, run, meta, origin);
    }
}

/// Gives up a lease this node just took and can not use: as it was, so the next taker starts
/// from the tick a hand-over named, if one did.
async fn give_back(node: &Node, run: &LiveRun, origin: Origin) {
    match origin {
        Origin::HandedOver { next_tick } => hand_over(node, run, next_tick).await,
        _ => {
            if let Err(e) = node
                .store
                .release_timer_lease(run, &node.settings.node_id)
                .await
            {
                tracing::debug!(error = %e, "timer lease not given back; it expires by itself");
            }
        }
    }
}
