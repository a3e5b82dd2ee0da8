//! The shared state of one server node (D25: one server, many nodes): settings, stores, catalog,
//! persister, metrics, rooms, the cluster bus, the clock, and what this node holds of its
//! countdowns and audience counts. One per process; every piece another node would need to
//! share lives in the store.
//!
//! Data only: what runs on it (the countdowns, the audience count broadcasts, the close of a
//! run) sits above it and takes a `&Node`, so this file depends on none of them.

use std::sync::{Arc, Weak};

use lcr_protocol::ConferenceStatus;
use serde::Serialize;

use crate::audience::counts::AudienceCounts;
use crate::catalog::{Catalog, CatalogError};
use crate::config::Settings;
use crate::countdown::registry::CountdownRegistry;
use crate::results::Persister;
use crate::rooms::Rooms;
use crate::store::{ConferenceRuntime, RuntimeStore, StoreError};

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
    /// The countdowns this node runs.
    pub(crate) countdowns: CountdownRegistry,
    /// When this node's `audience:count` broadcasts are due.
    pub(crate) audience: AudienceCounts,
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
        let audience = AudienceCounts::new(settings.count_interval);
        Arc::new_cyclic(|me| Node {
            settings,
            store,
            catalog,
            persister,
            metrics,
            cluster,
            rooms,
            clock,
            countdowns: CountdownRegistry::default(),
            audience,
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
        self.audience.forget(conference_id);
        self.rooms.forget_local(conference_id);
    }

    /// The conference's host and status (spec §3.1, §7.1 step 2), loading it from the catalog
    /// into the store on a miss. [`LookupError::NotFound`] when neither knows it (D7: the flows
    /// answer `CONFERENCE_NOT_FOUND`).
    pub async fn conference(&self, conference_id: &str) -> Result<ConferenceRuntime, LookupError> {
        if let Some(c) = self.store.conference(conference_id).await? {
            return Ok(c);
        }
        let record = self
            .catalog
            .conference(conference_id)
            .await?
            .ok_or_else(|| LookupError::NotFound(conference_id.to_owned()))?;
        self.store
            .put_conference(conference_id, &record.host_user_id, record.status)
            .await?;
        Ok(ConferenceRuntime {
            host_user_id: record.host_user_id,
            status: record.status,
        })
    }

    /// Number of questions whose timer runs on this node.
    pub fn running_timers(&self) -> usize {
        self.countdowns.len()
    }

    /// Whether `status` allows questions.
    pub fn is_active(status: ConferenceStatus) -> bool {
        status == ConferenceStatus::Active
    }
}

/// Why [`Node::conference`] found no conference. Its messages are the ones a flow's `error`
/// event carries (the flows turn it into `CONFERENCE_NOT_FOUND` or `TIMEOUT`).
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Neither the store nor the catalog knows the conference.
    #[error("conference {0} does not exist")]
    NotFound(String),
    /// The store failed.
    #[error("runtime store unavailable: {0}")]
    Store(#[from] StoreError),
    /// The catalog failed.
    #[error("question source unavailable: {0}")]
    Catalog(#[from] CatalogError),
}
