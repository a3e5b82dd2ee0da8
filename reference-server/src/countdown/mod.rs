//! Spec §4.2 (timer) and §6.1 (real-time results): one countdown per live question, on the
//! clock thread ([`crate::clock`]) so it keeps time however busy the node's sockets are.
//!
//! | file | what |
//! |---|---|
//! | this one | starting a countdown (pushed, taken over, handed over) and stopping them all |
//! | [`registry`] | the countdowns this node runs, which votes, closes and the stop reach |
//! | [`task`] | one run's task: results (D20), the timeout close (D16), a requested close |
//! | [`ticker`] | `question:timer_update` at `startedAt + k·1000 ms` (D16) |
//! | [`lease`] | one node per countdown: the lease, its renewals, the hand-over (D16, D25) |
//! | `restore` | a run whose state the store lost, written back (D26) |
//! | [`takeover`] | every node starts the countdown of an open run no node holds (D16, D25) |
//!
//! The task owns everything the room hears about the run until it closes: the ticks, through a
//! ticker task of its own so that nothing else holds a tick back (each tick is first claimed in
//! the store, which keeps the next tick with the run: a close made elsewhere stops the
//! countdown, and no tick is sent twice or skipped whichever node sends it; a late tick is sent
//! late, and the timeout close waits up to half a second past `expiresAt` for the last one, so
//! ticks precede `question:closed`); `vote:result`; the timeout close; a manual close requested
//! by [`crate::closing::close_live`].
//!
//! With several nodes (D16, D25) exactly one of them runs a run's task: the task holds a lease
//! in the store (`question:{id}:timer:lease`, renewed three times per lease TTL) and stops,
//! without closing, if another node holds it. [`takeover`]'s `watch_open_runs` runs on every node
//! and starts the task of any open run whose lease is free, so when a node dies another one
//! takes over within one lease TTL and closes the run by `expiresAt + 2 s`. Votes counted on
//! other nodes reach `vote:result` because the task reads the counts every result interval.

pub mod lease;
pub mod registry;
mod restore;
pub mod takeover;
pub mod task;
pub mod ticker;

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use tokio::sync::{Notify, mpsc};

use crate::node::Node;
use crate::store::{LiveRun, QuestionMeta};
use registry::Runner;

/// Starts the task of a run that was just pushed live, or taken over from a dead node.
pub(crate) fn start(node: &Node, run: LiveRun, meta: QuestionMeta, origin: Origin) {
    let node = node.self_arc();
    let first = first_tick(origin);
    let votes = Arc::new(Notify::new());
    let next_tick = Arc::new(AtomicU32::new(first));
    let (tx, rx) = mpsc::channel(4);
    // Spawned and registered under one lock (D20: no counted vote without its
    // `vote:result`). A vote counted meanwhile either finds the runner and notifies it, or
    // asked before the lock was taken; then it was counted before the task's first read of
    // the counts, which publishes it. Votes can come before the runner: the push registers
    // it after `question:live` has gone out, and a voter may answer that first.
    let registered = node.countdowns.register(|| {
        // On the clock thread, with the ticker and the lease renewals it spawns: ticks keep
        // time however busy this node's sockets are.
        let task = node.clock.spawn(task::drive(
            node.clone(),
            run.clone(),
            meta,
            next_tick.clone(),
            votes.clone(),
            rx,
        ));
        Runner {
            run: run.clone(),
            next_tick,
            votes,
            close: tx,
            task: task.abort_handle(),
        }
    });
    if !registered {
        // A push or a takeover that raced the node's stop: the countdown goes to another node.
        tracing::info!(question = %run.question_id, "stopping: handing the countdown over");
        tokio::spawn(async move { lease::hand_over(&node, &run, first).await });
    }
}

/// Stops every countdown of this node without closing its question (shutdown), and hands them
/// over: another node goes on at once, from the tick this one did not send.
pub async fn stop_all(node: &Node) {
    for (run, next_tick) in node.countdowns.abort_all() {
        lease::hand_over(node, &run, next_tick).await;
    }
}

/// How a run's countdown starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Just pushed live here: every tick from k = 1.
    Pushed,
    /// Taken over from a node that died: from the first tick it did not send.
    TakenOver,
    /// Handed over by a node that stopped gracefully: from the tick it did not send.
    HandedOver {
        /// That tick.
        next_tick: u32,
    },
}

/// The first tick a countdown tries: 1 for a fresh run, and after a takeover too, since the
/// store's claims ([`ticker::tick`]) move it on to the first tick the dead node did not send;
/// after a hand-over the one the stopping node did not send.
fn first_tick(origin: Origin) -> u32 {
    match origin {
        Origin::Pushed | Origin::TakenOver => 1,
        Origin::HandedOver { next_tick } => next_tick.max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    use lcr_protocol::event;
    use lcr_protocol::{Millis, now_millis};
    use tokio::time::Instant;

    use crate::catalog::MemoryCatalog;
    use crate::config::Settings;
    use crate::results::{JsonlSink, Persister};
    use crate::rooms::{Rooms, Shortfall};
    use crate::store::memory::MemoryStore;
    use crate::store::{RuntimeStore, VoteOutcome};
    use lcr_protocol::server::QuestionOption;
    use lcr_protocol::{ConferenceStatus, Role};

    /// The room transport of these tests: keeps what was broadcast.
    #[derive(Default)]
    struct Broadcasts {
        sent: Mutex<Vec<(&'static str, serde_json::Value)>>,
        arrived: Notify,
    }

    #[async_trait::async_trait]
    impl Rooms for Broadcasts {
        async fn broadcast(
            &self,
            _room: String,
            event: &'static str,
            payload: serde_json::Value,
        ) -> crate::rooms::Shortfall {
            self.sent.lock().unwrap().push((event, payload));
            self.arrived.notify_waiters();
            Shortfall::default()
        }
        async fn empty(&self, _room: String) {}
        fn forget_local(&self, _conference_id: &str) {}
    }

    impl Broadcasts {
        /// Waits (up to 10 s) for a broadcast of `event` that `accept` takes.
        async fn wait_for(
            &self,
            event: &str,
            accept: impl Fn(&serde_json::Value) -> bool,
        ) -> Option<serde_json::Value> {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let arrived = self.arrived.notified();
                if let Some((_, v)) = self
                    .sent
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|(e, v)| *e == event && accept(v))
                {
                    return Some(v.clone());
                }
                tokio::time::timeout_at(deadline, arrived).await.ok()?;
            }
        }
    }

    fn meta() -> QuestionMeta {
        QuestionMeta {
            conference_id: "c".into(),
            question_id: "q".into(),
            question_text: "Which?".into(),
            options: ["A", "B"]
                .map(|k| QuestionOption {
                    key: k.into(),
                    text: format!("Answer {k}"),
                })
                .to_vec(),
            correct_option: "A".into(),
        }
    }

    /// A node on the memory store whose broadcasts are kept; the clock's guard and the
    /// results file go with it.
    async fn test_node(
        name: &str,
    ) -> (
        Arc<Node>,
        Arc<MemoryStore>,
        Arc<Broadcasts>,
        crate::clock::ClockGuard,
        std::path::PathBuf,
    ) {
        let (clock, guard) = crate::clock::Clock::start().unwrap();
        let store = Arc::new(MemoryStore::default());
        let rooms = Arc::new(Broadcasts::default());
        let results =
            std::env::temp_dir().join(format!("lcr-live-{name}-{}.jsonl", std::process::id()));
        let node = Node::new(
            Settings::default(),
            store.clone(),
            Arc::new(MemoryCatalog::default()),
            Persister::new(store.clone(), Arc::new(JsonlSink::new(&results))),
            rooms.clone(),
            crate::cluster::ClusterBus::default(),
            crate::metrics::Metrics::default(),
            clock,
        );
        store
            .put_conference("c", "host", ConferenceStatus::Active)
            .await
            .unwrap();
        (node, store, rooms, guard, results)
    }

    #[tokio::test]
    async fn a_stopping_node_hands_over_the_tick_it_did_not_send_and_sends_no_more() {
        let (node, store, rooms, _clock, results) = test_node("stop").await;
        // Tick 1 is due already (sent at once), tick 2 in half a second.
        let r = LiveRun {
            duration: 4,
            expires_at: now_millis() + 2_500,
            ..run(now_millis() - 1_500)
        };
        store.start_question(&r, &meta()).await.unwrap();
        start(&node, r.clone(), meta(), Origin::Pushed);
        rooms
            .wait_for(event::QUESTION_TIMER_UPDATE, |v| v["timeRemaining"] == 3)
            .await
            .expect("tick 1");
        let handed = node.countdowns.abort_all();
        assert_eq!(
            handed,
            vec![(r.clone(), 2)],
            "tick 2 was not sent: it is handed over"
        );
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let ticks: Vec<_> = rooms
            .sent
            .lock()
            .unwrap()
            .iter()
            .filter(|(e, _)| *e == event::QUESTION_TIMER_UPDATE)
            .map(|(_, v)| v["timeRemaining"].clone())
            .collect();
        assert_eq!(ticks, vec![serde_json::json!(3)], "nothing after the stop");
        // A push or takeover that races the stop starts nothing here.
        start(&node, r, meta(), Origin::Pushed);
        assert_eq!(node.countdowns.len(), 0);
        let _ = std::fs::remove_file(results);
    }

    #[tokio::test]
    async fn a_run_whose_runner_left_the_registry_still_closes_at_its_expiry() {
        let (node, store, rooms, _clock, results) = test_node("replaced").await;
        let old = LiveRun {
            duration: 2,
            expires_at: now_millis() + 1_500,
            ..run(now_millis() - 500)
        };
        store.start_question(&old, &meta()).await.unwrap();
        start(&node, old.clone(), meta(), Origin::Pushed);
        // Another runner of the conference takes the registry's place: the old one hears no
        // close request any more, and must neither stop nor give its lease up before its end.
        let newer = LiveRun {
            question_id: "q2".into(),
            ..run(now_millis())
        };
        start(&node, newer, meta(), Origin::Pushed);
        let closed = rooms
            .wait_for(event::QUESTION_CLOSED, |v| v["questionId"] == "q")
            .await
            .expect("the old run closes by itself");
        assert_eq!(closed["reason"], "timeout");
        stop_all(&node).await;
        let _ = std::fs::remove_file(results);
    }

    #[tokio::test]
    async fn votes_counted_before_the_runner_starts_get_their_vote_result() {
        let (node, store, rooms, _clock, results) = test_node("early").await;
        store.add_member("c", "u1", Role::Audience).await.unwrap();
        let r = run(now_millis());
        store.start_question(&r, &meta()).await.unwrap();
        // A voter answered `question:live` before the push registered the runner: nothing
        // was there to notify.
        let outcome = store.record_vote("c", "q", "u1", "B", now_millis()).await;
        assert!(matches!(outcome, Ok(VoteOutcome::Accepted { .. })));
        node.countdowns.vote_counted("c");

        start(&node, r, meta(), Origin::Pushed);

        let result = rooms
            .wait_for(event::VOTE_RESULT, |v| v["totalVotes"] == 1)
            .await
            .expect("the counted vote reaches vote:result without another vote");
        assert_eq!(
            result["optionCounts"],
            serde_json::json!({ "A": 0, "B": 1 })
        );
        stop_all(&node).await;
        let _ = std::fs::remove_file(results);
    }

    fn run(started_at: Millis) -> LiveRun {
        LiveRun {
            conference_id: "c".into(),
            question_id: "q".into(),
            started_at,
            expires_at: started_at + 45_000,
            duration: 45,
        }
    }

    #[test]
    fn a_pushed_or_taken_over_run_tries_tick_one_first() {
        // The store's claims skip a taken-over run past the ticks its dead node sent.
        assert_eq!(first_tick(Origin::Pushed), 1);
        assert_eq!(first_tick(Origin::TakenOver), 1);
    }

    #[test]
    fn a_handed_over_run_goes_on_from_the_tick_its_node_did_not_send() {
        assert_eq!(first_tick(Origin::HandedOver { next_tick: 7 }), 7);
        assert_eq!(first_tick(Origin::HandedOver { next_tick: 0 }), 1);
    }
}
