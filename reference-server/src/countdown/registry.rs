//! The countdowns this node runs, by conference: what the node's shared state holds of them, so
//! a vote, a close or the node's stop reaches a run's task. Starting a task is
//! [`super`]'s (`start`); this is only the map and its rules.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use lcr_protocol::CloseReason;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::store::{FinalRecord, LiveRun, StoreError};

/// What a run's task answers a close request: the final record, `None` if closed already.
pub(crate) type CloseAnswer = Result<Option<FinalRecord>, StoreError>;

/// A close asked of a run's task ([`CountdownRegistry::request_close`]).
pub(crate) struct CloseRequest {
    pub(crate) reason: CloseReason,
    pub(crate) reply: oneshot::Sender<CloseAnswer>,
}

/// One run's task, as the registry keeps it.
pub(crate) struct Runner {
    pub(crate) run: LiveRun,
    /// The next tick (k of D16) the ticker will send, for a hand-over on a graceful stop.
    pub(crate) next_tick: Arc<AtomicU32>,
    pub(crate) votes: Arc<Notify>,
    pub(crate) close: mpsc::Sender<CloseRequest>,
    pub(crate) task: tokio::task::AbortHandle,
}

/// The live questions whose task runs on this node, by conference.
#[derive(Default)]
pub struct CountdownRegistry {
    runners: Mutex<HashMap<String, Runner>>,
    /// Set (under the `runners` lock) once the node stops: no countdown starts here any more.
    stopping: AtomicBool,
}

/// `Runner::next_tick` once the node stops: the ticker sends nothing more.
pub(crate) const STOPPED: u32 = u32::MAX;

impl CountdownRegistry {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Runner>> {
        self.runners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the runner `spawn` starts, both under the registry's lock (see
    /// [`super::start`]); false, with nothing spawned, once the node is stopping.
    pub(crate) fn register(&self, spawn: impl FnOnce() -> Runner) -> bool {
        let mut map = self.map();
        if self.stopping() {
            return false;
        }
        let runner = spawn();
        // A previous runner of the conference is never aborted: it has closed its run (push and
        // end close the open run first) or, if not, still closes it by itself at its expiry.
        map.insert(runner.run.conference_id.clone(), runner);
        true
    }

    /// The run this node is timing for the conference, if any (open until its task ends).
    pub(crate) fn current(&self, conference_id: &str) -> Option<LiveRun> {
        self.map().get(conference_id).map(|r| r.run.clone())
    }

    /// A vote was counted: the run's task will broadcast `vote:result`.
    pub(crate) fn vote_counted(&self, conference_id: &str) {
        if let Some(r) = self.map().get(conference_id) {
            r.votes.notify_one();
        }
    }

    /// Asks the run's task to close it; `None` when no task of this node runs that run.
    pub(crate) async fn request_close(
        &self,
        run: &LiveRun,
        reason: CloseReason,
    ) -> Option<CloseAnswer> {
        let sender = {
            let map = self.map();
            let r = map.get(&run.conference_id)?;
            (r.run.question_id == run.question_id && r.run.started_at == run.started_at)
                .then(|| r.close.clone())?
        };
        let (reply, answer) = oneshot::channel();
        sender.send(CloseRequest { reason, reply }).await.ok()?;
        answer.await.ok()
    }

    /// The run's task ended: it leaves the registry, unless a newer run of the conference
    /// took its place.
    pub(crate) fn finished(&self, run: &LiveRun) {
        let mut map = self.map();
        if map
            .get(&run.conference_id)
            .is_some_and(|r| r.run.started_at == run.started_at)
        {
            map.remove(&run.conference_id);
        }
    }

    /// The node stops: stops every task without closing its run, and any later
    /// [`super::start`] hands its run over at once. Returns the runs with the next tick
    /// each would have sent, which the caller hands over so another node goes on at once. The
    /// tick is taken from the ticker before the abort reaches it (the clock thread may run the
    /// ticker first): a ticker that has not claimed its tick yet sends nothing more.
    pub(crate) fn abort_all(&self) -> Vec<(LiveRun, u32)> {
        let mut map = self.map();
        self.stopping.store(true, Ordering::SeqCst);
        map.drain()
            .map(|(_, r)| {
                let next = r.next_tick.swap(STOPPED, Ordering::SeqCst);
                r.task.abort();
                (r.run, next)
            })
            .collect()
    }

    /// Whether the node is stopping (see [`CountdownRegistry::abort_all`]).
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Whether this node runs the task of `run`.
    pub(crate) fn runs_here(&self, run: &LiveRun) -> bool {
        self.map().get(&run.conference_id).is_some_and(|r| {
            r.run.question_id == run.question_id && r.run.started_at == run.started_at
        })
    }

    /// How many countdowns run on this node.
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}
