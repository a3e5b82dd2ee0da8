//! When this node's `audience:count` of each conference is due (D11): the per-conference state
//! the node's shared state holds. No I/O here; passing the cluster-wide gate and broadcasting
//! are [`super`]'s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::coalesce::Coalescer;

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

    /// The interval of change-driven broadcasts.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
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

    /// The audience changed at `now`: true when its count goes out now (the first in the
    /// interval), else it is due at the end of the interval.
    pub(crate) fn change_now(&self, cid: &str, now: Instant) -> bool {
        self.with_entry(cid, |e| {
            let send = e.changes.changed(now);
            if send {
                e.last_sent = now;
            }
            send
        })
    }

    /// Another node sent the count of this interval: ours is due after it.
    pub(crate) fn change_later(&self, cid: &str) {
        self.with_entry(cid, |e| e.changes.changed(Instant::now()));
    }

    /// The conferences whose count is due at `now`, each with whether it is a change's trailing
    /// broadcast (else the heartbeat, every `period` while the conference has members); they
    /// count as sent. Conferences without members or anything pending are dropped.
    pub(crate) fn due(&self, now: Instant, period: Duration) -> Vec<(String, bool)> {
        self.with(|m| {
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
        })
    }

    /// Another node sent this period's heartbeat; the gate opens in `opens_in`: be due again
    /// then (the first pass after it), whichever node sends then.
    pub(crate) fn heartbeat_elsewhere(&self, cid: &str, opens_in: Duration, period: Duration) {
        let now = Instant::now();
        self.with_entry(cid, |e| {
            e.last_sent = (now + opens_in).checked_sub(period).unwrap_or(now);
        });
    }
}
