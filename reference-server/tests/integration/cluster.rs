//! Several nodes on one Redis behave as one server (D25): broadcasts, presence, duplicate
//! checks, locks and exactly one countdown per question cross nodes; when the node running a
//! countdown dies, another one closes the question by `expiresAt + 2 s` (D16).

use std::time::Duration;

use lcr_protocol::event;
use lcr_testkit::NodeProcess;
use serde_json::Value;

use crate::harness::{ADMIN_TOKEN, Env, JWT_SECRET, Store, actor_at, question};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_votes_and_results_cross_nodes() {
    let env = Env::start(Store::Redis).await;
    let node2 = env.another_node("node-2").await;
    let cid = env.active_conference("hana").await;
    let mut hana = env.actor("hana").await; // node 1
    hana.join(&cid).await;
    let mut ana = env.actor_at(&node2.url(), "ana").await; // node 2
    let joined = ana.join(&cid).await;
    assert_eq!(joined["audienceCount"], 1, "{joined}");
    let seen = hana.expect(event::AUDIENCE_JOINED).await;
    assert!(
        seen["userId"] == "ana",
        "host on node 1 hears the join on node 2: {seen}"
    );
    let count = hana.expect(event::AUDIENCE_COUNT).await;
    assert_eq!(count["audienceCount"], 1);

    hana.push(&cid, "q1", Some(30));
    ana.expect(event::QUESTION_LIVE).await;
    ana.vote(&cid, "q1", "B");
    ana.expect(event::VOTE_ACCEPTED).await;
    // The countdown runs on node 1; the vote was counted on node 2: vote:result still comes.
    let result = hana.expect(event::VOTE_RESULT).await;
    assert_eq!(result["optionCounts"]["B"], 1, "{result}");
    let result = ana.expect(event::VOTE_RESULT).await;
    assert_eq!(result["totalVotes"], 1, "{result}");

    // The same user on the other node is a duplicate.
    let mut ana_again = env.actor("ana").await; // node 1
    ana_again.join(&cid).await;
    ana_again.vote(&cid, "q1", "A");
    ana_again.expect_rejected("duplicate").await;

    hana.close_question(&cid, "q1");
    let final_2 = ana.expect(event::VOTE_FINAL_RESULT).await;
    let final_1 = hana.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(final_1, final_2);
    assert_eq!(final_2["totalVotes"], 1);
    node2.shutdown().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_timer_stream_and_one_push_lock_across_nodes() {
    let env = Env::start(Store::Redis).await;
    let node2 = env.another_node("node-2").await;
    let cid = env.active_conference("hana").await;
    let mut hana1 = env.actor("hana").await;
    hana1.join(&cid).await;
    let mut hana2 = env.actor_at(&node2.url(), "hana").await;
    hana2.join(&cid).await;
    let mut ana = env.actor_at(&node2.url(), "ana").await;
    ana.join(&cid).await;
    // Both of the host's sockets push at once, one per node: the lock is global.
    hana1.push(&cid, "q1", Some(3));
    hana2.push(&cid, "q2", Some(3));
    let live = ana.expect(event::QUESTION_LIVE).await;
    let events = ana.drain(Duration::from_secs(5)).await;
    let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
    let lives = names.iter().filter(|n| **n == event::QUESTION_LIVE).count();
    let ticks: Vec<u64> = events
        .iter()
        .filter(|e| e.name == event::QUESTION_TIMER_UPDATE)
        .map(|e| e.data["timeRemaining"].as_u64().unwrap_or(0))
        .collect();
    // Either both pushes ran one after the other (lock released in between: the first run is
    // replaced, D14) or the second was refused; never two countdowns at once.
    if lives == 0 {
        assert_eq!(ticks, vec![2, 1], "exactly one timer stream: {names:?}");
        let closed = events
            .iter()
            .find(|e| e.name == event::QUESTION_CLOSED)
            .expect("closed");
        assert_eq!(closed.data["questionId"], live["questionId"]);
        assert_eq!(closed.data["reason"], "timeout");
    } else {
        assert!(
            ticks.windows(2).all(|w| w[0] > w[1] || w[1] == 2),
            "one stream per run: {ticks:?}"
        );
    }
    node2.shutdown().await;
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_a_conference_on_one_node_frees_sockets_on_every_node() {
    let env = Env::start(Store::Redis).await;
    let node2 = env.another_node("node-2").await;
    let cid = env.active_conference("hana").await;
    let mut ana = env.actor_at(&node2.url(), "ana").await;
    ana.join(&cid).await;
    env.end(&cid).await; // through node 1's Control API
    let ended = ana.expect_received(event::CONFERENCE_STATUS_CHANGED).await;
    let ended_at = ended.at;
    let ended = ended.data;
    assert_eq!(ended["status"], "ENDED");
    assert_eq!(ended["conferenceId"], cid.as_str());
    // Node 2 forgot that ana's socket had joined: her vote is not an audience vote any more.
    ana.vote(&cid, "q1", "A");
    ana.expect_rejected("not_audience").await;
    // And she no longer hears the room: no periodic count (every 5 s while members remain).
    let heard = ana.drain(Duration::from_secs(6)).await;
    let after_end: Vec<&str> = heard
        .iter()
        .filter(|r| r.at > ended_at)
        .map(|r| r.name.as_str())
        .filter(|n| *n != event::VOTE_REJECTED)
        .collect();
    assert!(
        after_end.is_empty(),
        "nothing from the ended conference's room: {after_end:?}"
    );
    node2.shutdown().await;
    env.shutdown().await;
}

/// A node stopped gracefully (SIGTERM) hands its countdown over: the node that takes it on
/// goes on from the next tick, so no `question:timer_update` is sent twice or skipped (D16),
/// and the run still closes on time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_hand_over_neither_repeats_nor_skips_a_tick() {
    let mut env = Env::start(Store::Redis).await;
    let node2 = env.another_node("node-2").await;
    let cid = env.active_conference("hana").await;
    let mut hana = env.actor("hana").await; // node 1: it pushes, so it runs the countdown
    hana.join(&cid).await;
    let mut ana = env.actor_at(&node2.url(), "ana").await;
    ana.join(&cid).await;
    hana.push(&cid, "q1", Some(6));
    let live = ana.expect(event::QUESTION_LIVE).await;
    let first = ana.expect(event::QUESTION_TIMER_UPDATE).await;
    assert_eq!(first["timeRemaining"], 5, "{first}");
    // Right after tick 1, within the second: a taker that guessed from the clock would send
    // tick 1 again.
    env.server.take().expect("node 1 runs").shutdown().await;
    let heard = ana.drain(Duration::from_secs(8)).await;
    let mut ticks = vec![5];
    ticks.extend(
        heard
            .iter()
            .filter(|r| r.name == event::QUESTION_TIMER_UPDATE)
            .map(|r| r.data["timeRemaining"].as_u64().unwrap_or(0)),
    );
    assert_eq!(ticks, vec![5, 4, 3, 2, 1], "each tick once, in order");
    let closed = heard
        .iter()
        .find(|r| r.name == event::QUESTION_CLOSED)
        .expect("node 2 closes the run");
    assert_eq!(closed.data["reason"], "timeout", "{}", closed.data);
    let expires_at = live["expiresAt"].as_i64().unwrap();
    assert!(
        closed.at <= expires_at + 2000,
        "closed by expiresAt + 2 s: {} ms late",
        closed.at - expires_at
    );
    node2.shutdown().await;
    drop(env);
}

/// Two `reference-server` processes on `redis`, and an active conference `{prefix}-{now}` with
/// questions `{cid}-q1`, `{cid}-q2`… (correct options `correct`), made through node 2.
async fn two_node_processes(
    redis: &crate::harness::RedisProcess,
    prefix: &str,
    correct: &[&str],
) -> (NodeProcess, NodeProcess, String) {
    let url = redis.url();
    let env = [
        ("JWT_SECRET", JWT_SECRET),
        ("ADMIN_TOKEN", ADMIN_TOKEN),
        ("REDIS_URL", url.as_str()),
    ];
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_reference-server"));
    let node1 = NodeProcess::start(bin, "node-1", &env).expect("node 1");
    let node2 = NodeProcess::start(bin, "node-2", &env).expect("node 2");
    let cid = format!("{prefix}-{}", lcr_protocol::now_millis());
    let spec = lcr_testkit::conference::spec(
        "hana",
        Some(lcr_protocol::ConferenceStatus::Active),
        correct
            .iter()
            .enumerate()
            .map(|(i, c)| question(&format!("{cid}-q{}", i + 1), c))
            .collect(),
    );
    let addr: std::net::SocketAddr = node2.url().trim_start_matches("http://").parse().unwrap();
    let path = lcr_protocol::admin::conference_path(&cid);
    let body = serde_json::to_string(&spec).unwrap();
    let (code, answer) =
        crate::harness::http(addr, "PUT", &path, Some(ADMIN_TOKEN), Some(body)).await;
    assert_eq!(code, 200, "{answer}");
    (node1, node2, cid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_countdown_is_closed_by_another_node() {
    let redis = crate::harness::RedisProcess::start();
    let (mut node1, node2, cid) = two_node_processes(&redis, "failover", &["A"]).await;

    let mut hana = actor_at(&node1.url(), "hana").await;
    hana.join(&cid).await;
    let mut ana = actor_at(&node2.url(), "ana").await;
    ana.join(&cid).await;
    let qid = format!("{cid}-q1");
    hana.push(&cid, &qid, Some(4));
    let live = ana.expect(event::QUESTION_LIVE).await;
    ana.vote(&cid, &qid, "A");
    ana.expect(event::VOTE_ACCEPTED).await;
    node1.kill(); // SIGKILL: the countdown's node dies without a word
    let expires_at = live["expiresAt"].as_i64().unwrap();
    let closed = ana.expect_received(event::QUESTION_CLOSED).await;
    let closed_at = closed.at;
    assert_eq!(closed.data["reason"], "timeout", "{}", closed.data);
    assert!(
        closed_at <= expires_at + 2000,
        "closed by expiresAt + 2 s (D16): {} ms late",
        closed_at - expires_at
    );
    let final_result: Value = ana.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(
        final_result["totalVotes"], 1,
        "the vote counted before the crash is kept"
    );
    drop(node2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_right_after_the_countdown_node_died_first_closes_the_orphaned_run() {
    let redis = crate::harness::RedisProcess::start();
    let (mut node1, node2, cid) = two_node_processes(&redis, "orphan", &["A", "B"]).await;
    let (q1, q2) = (format!("{cid}-q1"), format!("{cid}-q2"));

    let mut hana = actor_at(&node1.url(), "hana").await;
    hana.join(&cid).await;
    let mut ana = actor_at(&node2.url(), "ana").await;
    ana.join(&cid).await;
    hana.push(&cid, &q1, Some(3));
    let live = ana.expect(event::QUESTION_LIVE).await;
    ana.vote(&cid, &q1, "A");
    ana.expect(event::VOTE_ACCEPTED).await;
    let expires_at = live["expiresAt"].as_i64().unwrap();
    // Node 1 dies just before the expiry; its lease outlives the live key by about a second.
    let wait = |at: i64| Duration::from_millis((at - lcr_protocol::now_millis()).max(0) as u64);
    tokio::time::sleep(wait(expires_at - 300)).await;
    node1.kill();
    tokio::time::sleep(wait(expires_at + 100)).await;
    // The host comes back on node 2 and pushes the next question before any takeover.
    let mut hana2 = actor_at(&node2.url(), "hana").await;
    hana2.join(&cid).await;
    hana2.push(&cid, &q2, Some(30));
    let closed = ana.expect(event::QUESTION_CLOSED).await;
    assert_eq!(closed["questionId"], q1.as_str(), "{closed}");
    let final_result = ana.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(final_result["questionId"], q1.as_str());
    assert_eq!(
        final_result["totalVotes"], 1,
        "the orphaned run keeps its vote"
    );
    let next = ana.expect(event::QUESTION_LIVE).await;
    assert_eq!(next["questionId"], q2.as_str());
    drop(node2);
}

/// Redis stalls for 2.5 s (SIGSTOP, then SIGCONT) mid-question, on two nodes: `/ready` says
/// unready while it lasts, the ticks due meanwhile come late, each once, none skipped (D16),
/// and the vote sent during the stall is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_stall_delays_ticks_without_skipping_or_repeating_one() {
    let env = Env::start(Store::Redis).await;
    let node2 = env.another_node("node-2").await;
    let cid = env.active_conference("hana").await;
    let mut hana = env.actor("hana").await;
    hana.join(&cid).await;
    let mut ana = env.actor_at(&node2.url(), "ana").await;
    ana.join(&cid).await;
    hana.push(&cid, "q1", Some(7));
    ana.expect(event::QUESTION_LIVE).await;
    let first = ana.expect(event::QUESTION_TIMER_UPDATE).await;
    assert_eq!(first["timeRemaining"], 6);
    let redis = env.redis.as_ref().expect("a Redis store").pid();
    signal(redis, "-STOP");
    ana.vote(&cid, "q1", "B");
    let (ready, _) = env.http("GET", "/ready", None, None).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    signal(redis, "-CONT");
    assert_eq!(ready, 503, "unready while Redis does not answer");
    ana.expect(event::VOTE_ACCEPTED).await;
    let events = ana.drain(Duration::from_secs(7)).await;
    let ticks: Vec<u64> = events
        .iter()
        .filter(|e| e.name == event::QUESTION_TIMER_UPDATE)
        .filter_map(|e| e.data["timeRemaining"].as_u64())
        .collect();
    assert_eq!(ticks, vec![5, 4, 3, 2, 1], "each tick once, none skipped");
    let fin = events
        .iter()
        .find(|e| e.name == event::VOTE_FINAL_RESULT)
        .expect("a final result");
    assert_eq!(fin.data["totalVotes"], 1, "{}", fin.data);
    node2.shutdown().await;
    env.shutdown().await;
}

/// Sends `signal` (`-STOP`, `-CONT`) to a process.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal} {pid}");
}

/// The Redis adapter publishes a broadcast before it emits to the node's own sockets. When the
/// publish fails the node still sends to its own sockets, and counts the broadcast as
/// unpublished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_publish_still_reaches_this_nodes_sockets() {
    let env = Env::start(Store::Redis).await;
    let cid = env.active_conference("hana").await;
    let mut hana = env.actor("hana").await;
    hana.join(&cid).await;
    let mut ana = env.actor("ana").await;
    ana.join(&cid).await;
    hana.push(&cid, "q1", Some(40));
    ana.expect(event::QUESTION_LIVE).await;
    let before = ana.expect(event::QUESTION_TIMER_UPDATE).await;
    // Redis refuses the adapter's (S)PUBLISH alone, while every other command, tick claims
    // among them, still runs: the publish fails, and the tick goes to this node's sockets.
    let redis = env.redis.as_ref().expect("a Redis store");
    assert_eq!(
        redis.cli(&["ACL", "SETUSER", "default", "-publish", "-spublish"]),
        "OK"
    );
    let during = ana.expect(event::QUESTION_TIMER_UPDATE).await;
    let (_, body) = env.http("GET", "/metrics", None, None).await;
    assert_eq!(
        redis.cli(&["ACL", "SETUSER", "default", "+publish", "+spublish"]),
        "OK"
    );
    assert!(
        during["timeRemaining"].as_i64() < before["timeRemaining"].as_i64(),
        "a later tick: {before} then {during}"
    );
    let text = body.as_str().unwrap_or_default();
    let unpublished = text
        .lines()
        .find(|l| l.starts_with("lcr_broadcasts_unpublished_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(unpublished.is_some_and(|n| n >= 1), "{text}");
    env.shutdown().await;
}
