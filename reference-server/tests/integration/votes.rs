//! Spec §5, §6.1: votes and real-time results; D18–D20.

use lcr_protocol::event;
use serde_json::json;

use crate::harness::*;

async fn vote_checks_run_in_order(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    let mut stranger = env.actor("sid").await;
    // No live question yet.
    alex.vote(&cid, "q1", "A");
    let r = alex.expect_rejected("question_closed").await;
    assert_eq!(r["conferenceId"], cid.as_str());
    assert_eq!(r["questionId"], "q1");
    assert!(r["timestamp"].as_i64().is_some());
    hana.push(&cid, "q1", Some(30));
    alex.expect(event::QUESTION_LIVE).await;
    hana.vote(&cid, "q1", "A");
    hana.expect_rejected("not_audience").await;
    stranger.vote(&cid, "q1", "A");
    stranger.expect_rejected("not_audience").await;
    alex.vote(&cid, "q2", "A");
    alex.expect_rejected("question_closed").await;
    alex.vote(&cid, "q1", "Z");
    alex.expect_rejected("invalid_option").await;
    alex.vote(&cid, "q1", "a");
    let acc = alex.expect(event::VOTE_ACCEPTED).await;
    assert_eq!(acc["selectedOption"], "A");
    assert_eq!(acc["isCorrect"], true);
    assert_eq!(acc["questionId"], "q1");
    // Invalid option beats duplicate (D18 order), then duplicate.
    alex.vote(&cid, "q1", "Z");
    alex.expect_rejected("invalid_option").await;
    alex.vote(&cid, "q1", "B");
    alex.expect_rejected("duplicate").await;
    env.shutdown().await;
}

async fn a_second_socket_of_the_same_user_is_a_duplicate(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex1, _) = env.joined("alex", &cid).await;
    let (mut alex2, _) = env.joined("alex", &cid).await;
    hana.push(&cid, "q1", Some(30));
    alex1.expect(event::QUESTION_LIVE).await;
    alex1.vote(&cid, "q1", "D");
    let acc = alex1.expect(event::VOTE_ACCEPTED).await;
    assert_eq!(acc["isCorrect"], false);
    alex2.vote(&cid, "q1", "A");
    alex2.expect_rejected("duplicate").await;
    env.shutdown().await;
}

async fn vote_result_shows_every_option_and_coalesces(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut watcher, _) = env.joined("watcher", &cid).await;
    let mut voters = Vec::new();
    for i in 0..20 {
        voters.push(env.joined(&format!("v{i}"), &cid).await.0);
    }
    hana.push(&cid, "q1", Some(30));
    watcher.expect(event::QUESTION_LIVE).await;
    for (i, v) in voters.iter_mut().enumerate() {
        v.expect(event::QUESTION_LIVE).await;
        v.vote(&cid, "q1", ["A", "B", "C"][i % 3]);
    }
    let mut results = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        let r = watcher.expect_received(event::VOTE_RESULT).await;
        let total = r.data["totalVotes"].as_u64().unwrap();
        results.push(r);
        if total == 20 {
            break;
        }
    }
    let last = &results.last().unwrap().data;
    assert_eq!(
        last["optionCounts"],
        json!({"A": 7, "B": 7, "C": 6, "D": 0}),
        "zeros included (D20)"
    );
    assert_eq!(last["totalVotes"], 20);
    assert!(
        results.len() < 20,
        "20 votes in a burst must coalesce, got {} vote:result",
        results.len()
    );
    // No more results without more votes; and the host gets them as well (spec §3.2).
    watcher.expect_none(event::VOTE_RESULT).await;
    env.shutdown().await;
}

async fn votes_after_close_are_rejected_and_never_counted(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    let (mut bo, _) = env.joined("bo", &cid).await;
    hana.push(&cid, "q1", Some(30));
    alex.expect(event::QUESTION_LIVE).await;
    bo.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    hana.close_question(&cid, "q1");
    let fin = hana.expect(event::VOTE_FINAL_RESULT).await;
    bo.vote(&cid, "q1", "A");
    bo.expect_rejected("question_closed").await;
    assert_eq!(fin["totalVotes"], 1);
    env.shutdown().await;
}

crate::both_stores!(
    vote_checks_run_in_order,
    a_second_socket_of_the_same_user_is_a_duplicate,
    vote_result_shows_every_option_and_coalesces,
    votes_after_close_are_rejected_and_never_counted,
);
