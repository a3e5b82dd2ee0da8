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

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use lcr_protocol::event::{self, conference_room};
use lcr_protocol::now_millis;
use lcr_protocol::server::AudienceCount;
use tokio::time::Instant;

use super::live::Coalescer;
use crate::node::Node;
use crate::store::Gate;

struct Entry {
    sockets: i64,
    changes: Coalescer,
    last_sent: Instant,
}

/// Per-conference state of the audience count broadcasts on this node.
pub struct AudienceCounts {
    interval: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl AudienceCounts {
    /// Change-driven broadcasts at most once per `interval` per conference.
    pub(crate) fn new(interval: Duration) -> Self {
        AudienceCounts {
            interval,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Runs `f` on the conference's entry, creating it.
    fn with_entry<T>(&self, cid: &str, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(cid.to_owned()).or_insert_with(|| Entry {
            sockets: 0,
            changes: Coalescer::new(self.interval),
            last_sent: Instant::now(),
        });
        f(entry)
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> T {
        f(&mut self.entries.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A socket of this node joined the conference.
    pub(crate) fn socket_joined(&self, cid: &str) {
        self.with_entry(cid, |e| e.sockets += 1);
    }

    /// A socket of this node left the conference.
    pub(crate) fn socket_left(&self, cid: &str) {
        self.with(|m| {
            if let Some(e) = m.get_mut(cid) {
                e.sockets -= 1;
            }
        });
    }

    /// The conference ended: no more counts for it.
    pub(crate) fn forget(&self, cid: &str) {
        self.with(|m| m.remove(cid));
    }

    /// The audience changed: broadcast now or at the end of the current second.
    pub(crate) async fn changed(&self, node: &Node, cid: &str) {
        let now = Instant::now();
        let send = self.with_entry(cid, |e| {
            let send = e.changes.changed(now);
            if send {
                e.last_sent = now;
            }
            send
        });
        if send {
            if gate(node, cid, "change", self.interval).await.passed() {
                broadcast_count(node, cid).await;
            } else {
                // Another node sent one this second: ours goes out after it.
                self.with_entry(cid, |e| e.changes.changed(Instant::now()));
            }
        }
    }

    /// One pass of the periodic task: trailing change broadcasts and the 5 s heartbeat.
    pub(crate) async fn tick(&self, node: &Node) {
        let now = Instant::now();
        let period = node.settings.count_period;
        let due: Vec<(String, bool)> = self.with(|m| {
            m.retain(|_, e| e.sockets > 0 || e.changes.due().is_some());
            m.iter_mut()
                .filter_map(|(cid, e)| {
                    let trailing = e.changes.due().is_some_and(|at| at <= now);
                    let periodic = e.sockets > 0 && now >= e.last_sent + period;
                    (trailing || periodic).then(|| {
                        e.changes.emitted(now);
                        e.last_sent = now;
                        (cid.clone(), trailing)
                    })
                })
                .collect()
        });
        for (cid, trailing) in due {
            let answer = if trailing {
                gate(node, &cid, "change", self.interval).await
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
                Gate::Shut(_) if trailing => {
                    self.with_entry(&cid, |e| e.changes.changed(Instant::now()));
                }
                Gate::Shut(opens_in) => {
                    // Another node sent this period's heartbeat: be due again when the gate
                    // opens (the first pass after it), whichever node sends then.
                    let now = Instant::now();
                    self.with_entry(&cid, |e| {
                        e.last_sent = (now + opens_in).checked_sub(period).unwrap_or(now);
                    });
                }
            }
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
