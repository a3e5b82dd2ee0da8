//! The shared state of one server node (D25: one server, many nodes): stores, rooms, the
//! live-question runners and audience counts of this node. One per process; every piece another
//! node would need to share lives in the store.

use std::sync::{Arc, Weak};

use lcr_protocol::{ConferenceStatus, ErrorCode};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::flows::FlowError;
use crate::flows::live::LiveRegistry;
use crate::flows::presence::AudienceCounts;
use crate::results::Persister;
use crate::rooms::Rooms;
use crate::store::{ConferenceRuntime, RuntimeStore};

/// The shared state of one server node: everything a flow needs.
pub struct Node {
    /// Tunables.
    pub settings: Settings,
    /// Spec §2 state.
    pub store: Arc<dyn RuntimeStore>,
    /// Conferences and questions.
    pub catalog: Arc<dyn Catalog>,
    /// Final results on their way out (D23).
    pub persister: Arc<Persister>,
    /// Counters for `GET /metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Messages to the other nodes.
    pub cluster: crate::cluster::ClusterBus,
    rooms: Arc<dyn Rooms>,
    /// Where countdowns and lease renewals run.
    pub(crate) clock: crate::clock::Clock,
    pub(crate) live: LiveRegistry,
    pub(crate) counts: AudienceCounts,
    me: Weak<Node>,
}

impl Node {
    /// Assembles a node from the parts [`crate::server::start`] builds, in one place.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: Settings,
        store: Arc<dyn RuntimeStore>,
        catalog: Arc<dyn Catalog>,
        persister: Arc<Persister>,
        rooms: Arc<dyn Rooms>,
        cluster: crate::cluster::ClusterBus,
        metrics: crate::metrics::Metrics,
        clock: crate::clock::Clock,
    ) -> Arc<Self> {
        let counts = AudienceCounts::new(settings.count_interval);
        Arc::new_cyclic(|me| Node {
            settings,
            store,
            catalog,
            persister,
            metrics,
            cluster,
            rooms,
            clock,
            live: LiveRegistry::default(),
            counts,
            me: me.clone(),
        })
    }

    /// This node as an `Arc`, for tasks that outlive a flow.
    pub(crate) fn self_arc(&self) -> Arc<Node> {
        self.me
            .upgrade()
            .expect("node is alive while its flows run")
    }

    /// Sends `payload` as `event` to every socket in `room`.
    pub async fn broadcast<T: Serialize>(&self, room: String, event: &'static str, payload: &T) {
        match serde_json::to_value(payload) {
            Ok(v) => {
                let started = std::time::Instant::now();
                let shortfall = self.rooms.broadcast(room, event, v).await;
                self.metrics.broadcast(started.elapsed(), shortfall);
            }
            Err(e) => tracing::error!(event, error = %e, "payload did not serialize"),
        }
    }

    /// The conference ended: every socket on every node leaves its two rooms, after the
    /// broadcasts sent before (its final result, `conference:status_changed`).
    pub async fn empty_rooms(&self, conference_id: &str) {
        for room in [
            lcr_protocol::event::host_room(conference_id),
            lcr_protocol::event::conference_room(conference_id),
        ] {
            self.rooms.empty(room).await;
        }
    }

    /// The conference ended: this node's sockets forget they had joined it, and its audience
    /// counts stop. Every node runs this for its own sockets; the node that ended the
    /// conference empties its rooms on every node (see [`crate::rooms::Rooms::empty`]).
    pub async fn conference_ended_here(&self, conference_id: &str) {
        self.counts.forget(conference_id);
        self.rooms.forget_local(conference_id);
    }

    /// The conference's host and status (spec §3.1, §7.1 step 2), loading it from the catalog
    /// into the store on a miss. `CONFERENCE_NOT_FOUND` when neither knows it (D7).
    pub async fn conference(&self, conference_id: &str) -> Result<ConferenceRuntime, FlowError> {
        if let Some(c) = self.store.conference(conference_id).await? {
            return Ok(c);
        }
        let record = self
            .catalog
            .conference(conference_id)
            .await?
            .ok_or_else(|| {
                FlowError::new(
                    ErrorCode::ConferenceNotFound,
                    format!("conference {conference_id} does not exist"),
                )
            })?;
        self.store
            .put_conference(conference_id, &record.host_user_id, record.status)
            .await?;
        Ok(ConferenceRuntime {
            host_user_id: record.host_user_id,
            status: record.status,
        })
    }

    /// Stops every live-question runner without closing its question (shutdown), and hands
    /// their countdowns over: another node goes on at once, from the tick this one did not send.
    pub async fn stop_timers(&self) {
        for (run, next_tick) in self.live.abort_all() {
            self.hand_over(&run, next_tick).await;
        }
    }

    /// Gives this node's countdown lease of `run` up for another node to go on from
    /// `next_tick` (D16); on failure the lease expires by itself within a TTL.
    pub(crate) async fn hand_over(&self, run: &crate::store::LiveRun, next_tick: u32) {
        let (node_id, ttl) = (&self.settings.node_id, self.settings.timer_lease);
        if let Err(e) = self
            .store
            .hand_over_timer(run, node_id, next_tick, ttl)
            .await
        {
            tracing::debug!(error = %e, "countdown not handed over; its lease expires by itself");
        }
    }

    /// Number of questions whose timer runs on this node.
    pub fn running_timers(&self) -> usize {
        self.live.len()
    }

    /// Whether `status` allows questions.
    pub fn is_active(status: ConferenceStatus) -> bool {
        status == ConferenceStatus::Active
    }
}
