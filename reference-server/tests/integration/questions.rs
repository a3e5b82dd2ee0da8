//! Spec §3.4, §4: push live, timer, close; D7, D14–D17, D21, D22.

use lcr_protocol::{ConferenceStatus, event};
use serde_json::json;

use crate::harness::*;

async fn push_live_broadcasts_the_question_without_its_answer(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    let before = lcr_protocol::now_millis();
    hana.push(&cid, "q1", Some(20));
    let live = alex.expect(event::QUESTION_LIVE).await;
    assert_eq!(live["conferenceId"], cid.as_str());
    assert_eq!(live["questionId"], "q1");
    assert_eq!(live["questionText"], "Question q1?");
    assert_eq!(
        live["options"],
        json!([{"key":"A","text":"Answer A"},{"key":"B","text":"Answer B"},{"key":"C","text":"Answer C"},{"key":"D","text":"Answer D"}])
    );
    assert_eq!(live["duration"], 20);
    let started = live["startedAt"].as_i64().unwrap();
    assert!(
        started >= before - 5 && started <= lcr_protocol::now_millis(),
        "startedAt is epoch ms (D6)"
    );
    assert_eq!(live["expiresAt"].as_i64().unwrap(), started + 20_000);
    assert!(
        lcr_protocol::server::forbidden_fields(event::QUESTION_LIVE, &live).is_empty(),
        "{live}"
    );
    assert_eq!(
        hana.expect(event::QUESTION_LIVE).await,
        live,
        "the host is in the room too"
    );
    env.shutdown().await;
}

async fn default_duration_is_45_seconds(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    hana.push(&cid, "q1", None);
    let live = hana.expect(event::QUESTION_LIVE).await;
    assert_eq!(live["duration"], 45);
    assert_eq!(
        live["expiresAt"].as_i64().unwrap() - live["startedAt"].as_i64().unwrap(),
        45_000
    );
    env.shutdown().await;
}

async fn push_live_checks_authority_status_and_question(store: Store) {
    let env = Env::start(store).await;
    let draft = env.conference("hana", ConferenceStatus::Draft).await;
    let (mut hana, _) = env.joined("hana", &draft).await;
    let (mut alex, _) = env.joined("alex", &draft).await;
    alex.push(&draft, "q1", Some(10));
    alex.expect_error("UNAUTHORIZED").await;
    hana.push(&draft, "q1", Some(10));
    let e = hana.expect_error("CONFERENCE_NOT_ACTIVE").await;
    assert_eq!(
        e["context"],
        json!({"event": event::QUESTION_PUSH_LIVE, "conferenceId": draft, "questionId": "q1"})
    );
    env.activate(&draft).await;
    hana.push(&draft, "nope", Some(10));
    hana.expect_error("QUESTION_NOT_FOUND").await;
    hana.push(&env.id("missing"), "q1", Some(10));
    hana.expect_error("CONFERENCE_NOT_FOUND").await;
    env.end(&draft).await;
    hana.push(&draft, "q1", Some(10));
    hana.expect_error("CONFERENCE_NOT_ACTIVE").await;
    alex.expect_none(event::QUESTION_LIVE).await;
    env.shutdown().await;
}

async fn pushing_the_live_question_again_is_in_progress(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    hana.push(&cid, "q1", Some(30));
    hana.expect(event::QUESTION_LIVE).await;
    hana.push(&cid, "q1", Some(30));
    hana.expect_error("OPERATION_IN_PROGRESS").await;
    hana.expect_none(event::QUESTION_CLOSED).await;
    env.shutdown().await;
}

async fn replacing_a_live_question_closes_it_fully_first(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    hana.push(&cid, "q1", Some(30));
    alex.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "B");
    alex.expect(event::VOTE_ACCEPTED).await;
    hana.push(&cid, "q2", Some(30));
    let order: Vec<String> = alex
        .drain(std::time::Duration::from_millis(800))
        .await
        .into_iter()
        .map(|r| r.name)
        .filter(|n| {
            [
                event::QUESTION_CLOSED,
                event::VOTE_FINAL_RESULT,
                event::QUESTION_LIVE,
            ]
            .contains(&n.as_str())
        })
        .collect();
    assert_eq!(
        order,
        [
            event::QUESTION_CLOSED,
            event::VOTE_FINAL_RESULT,
            event::QUESTION_LIVE
        ]
    );
    // The old run's result was kept (D14) and written (D23).
    wait_for_results(&env, 1).await;
    let rec = &env.results()[0];
    assert_eq!(rec["questionId"], "q1");
    assert_eq!(rec["totalResponses"], 1);
    assert_eq!(rec["reason"], "manual");
    env.shutdown().await;
}

pub async fn wait_for_results(env: &Env, n: usize) {
    for _ in 0..200 {
        if env.results().len() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{n} results were not written; have {:?}", env.results());
}

async fn timer_ticks_then_closes_on_timeout(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    hana.push(&cid, "q1", Some(3));
    let live = alex.expect(event::QUESTION_LIVE).await;
    let expires = live["expiresAt"].as_i64().unwrap();
    for remaining in [2, 1] {
        let t = alex.expect(event::QUESTION_TIMER_UPDATE).await;
        assert_eq!(t["timeRemaining"], remaining, "{t}");
        assert_eq!(t["expiresAt"], expires);
        assert_eq!(t["questionId"], "q1");
    }
    let closed = alex.expect(event::QUESTION_CLOSED).await;
    assert_eq!(closed["reason"], "timeout");
    assert_eq!(closed["questionId"], "q1");
    assert!(closed["closedAt"].as_i64().unwrap() >= expires);
    let fin = alex.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(fin["totalVotes"], 0);
    assert_eq!(fin["correctOption"], "A");
    assert_eq!(
        fin["percentageBreakdown"],
        json!({"A":0.0,"B":0.0,"C":0.0,"D":0.0})
    );
    alex.expect_none(event::QUESTION_TIMER_UPDATE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect_rejected("question_closed").await;
    env.shutdown().await;
}

async fn manual_close_checks_authority_and_liveness(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    hana.close_question(&cid, "q1");
    hana.expect_error("QUESTION_NOT_LIVE").await;
    hana.push(&cid, "q1", Some(30));
    alex.expect(event::QUESTION_LIVE).await;
    alex.close_question(&cid, "q1");
    alex.expect_error("UNAUTHORIZED").await;
    hana.close_question(&cid, "q2");
    hana.expect_error("QUESTION_NOT_LIVE").await;
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    hana.close_question(&cid, "q1");
    let names: Vec<String> = alex
        .drain(std::time::Duration::from_millis(600))
        .await
        .into_iter()
        .map(|r| r.name)
        .collect();
    let closed_at = names
        .iter()
        .position(|n| n == event::QUESTION_CLOSED)
        .expect("closed");
    let final_at = names
        .iter()
        .position(|n| n == event::VOTE_FINAL_RESULT)
        .expect("final");
    assert!(
        closed_at < final_at,
        "D17: closed then final, got {names:?}"
    );
    hana.close_question(&cid, "q1");
    hana.expect_error("QUESTION_NOT_LIVE").await;
    env.shutdown().await;
}

async fn final_result_reveals_answer_counts_and_percentages(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let mut voters = Vec::new();
    for (user, option) in [("v1", "A"), ("v2", "A"), ("v3", "b")] {
        let (a, _) = env.joined(user, &cid).await;
        voters.push((a, option));
    }
    hana.push(&cid, "q1", Some(30));
    for (a, option) in &mut voters {
        a.expect(event::QUESTION_LIVE).await;
        a.vote(&cid, "q1", option);
        let acc = a.expect(event::VOTE_ACCEPTED).await;
        assert_eq!(acc["selectedOption"], option.to_uppercase());
        assert_eq!(acc["isCorrect"], *option == "A");
    }
    hana.close_question(&cid, "q1");
    hana.expect(event::QUESTION_CLOSED).await;
    let fin = hana.expect(event::VOTE_FINAL_RESULT).await;
    let closed_at = fin["closedAt"].clone();
    assert_eq!(
        fin,
        json!({
            "conferenceId": cid, "questionId": "q1", "totalVotes": 3,
            "optionCounts": {"A": 2, "B": 1, "C": 0, "D": 0},
            "correctOption": "A", "correctCount": 2,
            "percentageBreakdown": {"A": 66.67, "B": 33.33, "C": 0.0, "D": 0.0},
            "closedAt": closed_at,
        })
    );
    for (a, _) in &mut voters {
        assert_eq!(a.expect(event::VOTE_FINAL_RESULT).await, fin);
    }
    wait_for_results(&env, 1).await;
    let rec = &env.results()[0];
    assert_eq!(rec["totalResponses"], 3);
    assert_eq!(rec["correctCount"], 2);
    assert_eq!(rec["optionCounts"], fin["optionCounts"]);
    assert_eq!(rec["percentageBreakdown"], fin["percentageBreakdown"]);
    for field in [
        "conferenceId",
        "questionId",
        "startedAt",
        "closedAt",
        "lastUpdated",
    ] {
        assert!(!rec[field].is_null(), "D23 field {field} in {rec}");
    }
    env.shutdown().await;
}

async fn a_closed_question_can_run_again_from_zero(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    for round in 0..2 {
        hana.push(&cid, "q1", Some(30));
        alex.expect(event::QUESTION_LIVE).await;
        alex.vote(&cid, "q1", "C");
        alex.expect(event::VOTE_ACCEPTED).await;
        hana.close_question(&cid, "q1");
        let fin = alex.expect(event::VOTE_FINAL_RESULT).await;
        assert_eq!(fin["totalVotes"], 1, "round {round}: {fin}");
    }
    wait_for_results(&env, 2).await;
    env.shutdown().await;
}

crate::both_stores!(
    push_live_broadcasts_the_question_without_its_answer,
    default_duration_is_45_seconds,
    push_live_checks_authority_status_and_question,
    pushing_the_live_question_again_is_in_progress,
    replacing_a_live_question_closes_it_fully_first,
    timer_ticks_then_closes_on_timeout,
    manual_close_checks_authority_and_liveness,
    final_result_reveals_answer_counts_and_percentages,
    a_closed_question_can_run_again_from_zero,
);
