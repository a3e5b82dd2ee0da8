//! What a Redis restart under a live question does (D16, D26): with an append-only file every
//! accepted vote and the countdown survive, each tick sent exactly once; without one the run's
//! state is gone, a vote is never answered as if the question had closed, the loss is counted
//! in `/metrics`, and the run is restored so that it still closes with a final result.

use std::time::Duration;

use lcr_protocol::event;
use serde_json::Value;

use crate::harness::*;

/// The value of `name` (any labels) in `/metrics`, and its labels.
async fn metric(env: &Env, name: &str) -> Vec<(String, f64)> {
    let (_, body) = env.http("GET", "/metrics", None, None).await;
    let text = match body {
        Value::String(s) => s,
        other => other.to_string(),
    };
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter_map(|l| {
            let (labels, value) = l.rsplit_once(' ')?;
            Some((labels.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// Every `timeRemaining` of `question:timer_update` in `events`.
fn ticks(events: &[lcr_client::Received]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.name == event::QUESTION_TIMER_UPDATE)
        .filter_map(|e| e.data["timeRemaining"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_an_append_only_file_keeps_every_vote_and_sends_each_tick_once() {
    let mut env = Env::start_full(Store::RedisAof("everysec"), true, |_| {}).await;
    let durability = metric(&env, "lcr_store_durability").await;
    assert!(
        durability
            .iter()
            .any(|(l, v)| l.contains("mode=\"aof-everysec\"") && *v == 1.0),
        "{durability:?}"
    );
    // Two nodes: the countdown runs on node 1, Alex listens on node 2, so every tick after the
    // restart crosses the Socket.IO adapter, whose subscriptions must come back too.
    let node2 = env.another_node("node-2").await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let mut alex = env.actor_at(&node2.url(), "alex").await;
    alex.join(&cid).await;
    hana.push(&cid, "q1", Some(6));
    alex.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    // Mid-question, between two ticks: SIGKILL, and back on the same port and file.
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    env.redis.as_mut().unwrap().restart();
    let events = alex.drain(Duration::from_secs(7)).await;
    assert_eq!(
        ticks(&events),
        vec![5, 4, 3, 2, 1],
        "each tick exactly once, none skipped, across the restart"
    );
    let fin = events
        .iter()
        .find(|e| e.name == event::VOTE_FINAL_RESULT)
        .map(|e| e.data.clone())
        .expect("a final result");
    assert_eq!(
        fin["totalVotes"], 1,
        "the vote before the restart kept: {fin}"
    );
    let lost = metric(&env, "lcr_runtime_state_lost_total").await;
    assert_eq!(lost.first().map(|(_, v)| *v), Some(0.0), "{lost:?}");
    node2.shutdown().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_persistence_is_counted_never_answered_as_a_close_and_restored() {
    // The catalog in MongoDB survives the Redis restart; the runtime state does not.
    let mut env = Env::start_full(Store::Redis, true, |_| {}).await;
    let durability = metric(&env, "lcr_store_durability").await;
    assert!(
        durability.iter().any(|(l, _)| l.contains("mode=\"none\"")),
        "{durability:?}"
    );
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    let (mut bob, _) = env.joined("bob", &cid).await;
    hana.push(&cid, "q1", Some(6));
    alex.expect(event::QUESTION_LIVE).await;
    bob.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    env.redis.as_mut().unwrap().restart();

    // Bob votes at once: an error to try again, or, once restored, accepted; never a close.
    let mut accepted = false;
    let mut answers = Vec::new();
    for _ in 0..30 {
        bob.vote(&cid, "q1", "B");
        let answer = bob
            .events
            .expect_any(
                &[event::VOTE_ACCEPTED, event::VOTE_REJECTED, event::ERROR],
                WAIT,
            )
            .await
            .expect("an answer to the vote");
        answers.push(answer.data.to_string());
        match answer.name.as_str() {
            event::VOTE_ACCEPTED => {
                accepted = true;
                break;
            }
            event::ERROR => {
                assert_eq!(answer.data["code"], "TIMEOUT", "{}", answer.data);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            _ => panic!("a vote on lost state answered as a close: {}", answer.data),
        }
    }
    assert!(
        accepted,
        "votes are accepted again once the run is restored: {answers:?}"
    );
    let lost = metric(&env, "lcr_runtime_state_lost_total").await;
    assert_eq!(lost.first().map(|(_, v)| *v), Some(1.0), "{lost:?}");

    let events = alex.drain(Duration::from_secs(6)).await;
    let t = ticks(&events);
    assert!(
        t.windows(2).all(|w| w[0] > w[1]),
        "no tick repeated across the loss: {t:?}"
    );
    let fin = events
        .iter()
        .find(|e| e.name == event::VOTE_FINAL_RESULT)
        .map(|e| e.data.clone())
        .expect("the restored run closes with a final result");
    // Alex's vote went with the lost state; Bob's, after the restore, is counted.
    assert_eq!(fin["optionCounts"]["B"], 1, "{fin}");
    assert_eq!(fin["optionCounts"]["A"], 0, "{fin}");
    env.shutdown().await;
}
