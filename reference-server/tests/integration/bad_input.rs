//! D4, D5, D15, D24: malformed payloads answer INVALID_PAYLOAD and never hurt the server.

use lcr_protocol::event;
use serde_json::{Value, json};

use crate::harness::*;

/// Payloads each client event must refuse, with why.
fn bad_payloads(cid: &str) -> Vec<(&'static str, Value)> {
    let long = "x".repeat(65);
    let huge = "y".repeat(20_000);
    let mut cases = Vec::new();
    for e in event::CLIENT_EVENTS {
        cases.push((e, json!(null)));
        cases.push((e, json!("a string")));
        cases.push((e, json!(42)));
        cases.push((e, json!([cid])));
        cases.push((e, json!({})));
        cases.push((e, json!({"conferenceId": 7})));
        cases.push((e, json!({"conferenceId": ""})));
        cases.push((e, json!({"conferenceId": long})));
        cases.push((e, json!({"conferenceId": huge})));
        cases.push((e, json!({"conferenceId": "a:b"})));
        cases.push((e, json!({"conferenceId": "conf ✓"})));
    }
    for e in [
        event::QUESTION_PUSH_LIVE,
        event::QUESTION_CLOSE,
        event::VOTE_SUBMIT,
    ] {
        cases.push((e, json!({"conferenceId": cid})));
        cases.push((e, json!({"conferenceId": cid, "questionId": null})));
        cases.push((e, json!({"conferenceId": cid, "questionId": "q 1"})));
        cases.push((e, json!({"conferenceId": cid, "questionId": ["q1"]})));
    }
    for d in [
        json!(0),
        json!(3601),
        json!(-5),
        json!(1.5),
        json!("45"),
        json!(null),
        json!(1e20),
    ] {
        cases.push((
            event::QUESTION_PUSH_LIVE,
            json!({"conferenceId": cid, "questionId": "q1", "duration": d}),
        ));
    }
    for o in [
        json!(""),
        json!(null),
        json!(1),
        json!("ABCDEFGHIJKLMNOPQ"),
        json!({"k": "A"}),
    ] {
        cases.push((
            event::VOTE_SUBMIT,
            json!({"conferenceId": cid, "questionId": "q1", "selectedOption": o}),
        ));
    }
    cases
}

async fn malformed_payloads_answer_invalid_payload(store: Store) {
    let env = Env::start_with(store, |s| s.rate_limit_events = 10_000).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    hana.push(&cid, "q1", Some(60));
    alex.expect(event::QUESTION_LIVE).await;
    for actor in [&mut hana, &mut alex] {
        for (name, payload) in bad_payloads(&cid) {
            actor.emit(name, payload.clone());
            let e = actor.expect_error("INVALID_PAYLOAD").await;
            assert_eq!(e["context"]["event"], name, "{name} {payload} -> {e}");
        }
    }
    // An event without any argument.
    alex.client
        .send_raw(lcr_client::packet::encode_bare_event(event::VOTE_SUBMIT))
        .unwrap();
    alex.expect_error("INVALID_PAYLOAD").await;
    // Unknown events are refused by name.
    alex.emit("vote:hack", json!({"conferenceId": cid}));
    let e = alex.expect_error("INVALID_PAYLOAD").await;
    assert_eq!(e["context"]["event"], "vote:hack");
    // Garbage Socket.IO frames do not take the server down.
    let _ = alex.client.send_raw("42[not json".into());
    // The error context names the ids when they are valid.
    hana.emit(
        event::QUESTION_PUSH_LIVE,
        json!({"conferenceId": cid, "questionId": "q2", "duration": 0}),
    );
    let e = hana.expect_error("INVALID_PAYLOAD").await;
    assert_eq!(
        e["context"],
        json!({"event": event::QUESTION_PUSH_LIVE, "conferenceId": cid, "questionId": "q2"})
    );
    // Still serving: a fresh actor joins and votes.
    let (mut bo, _) = env.joined("bo", &cid).await;
    bo.vote(&cid, "q1", "A");
    bo.expect(event::VOTE_ACCEPTED).await;
    env.shutdown().await;
}

async fn oversized_frames_are_refused_without_harm(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    // Past the 64 KiB limit: the server drops that connection, and only that one.
    let _ = alex.client.emit(
        event::VOTE_SUBMIT,
        &json!({"conferenceId": "z".repeat(70_000)}),
    );
    let after = alex.drain(WAIT).await;
    assert!(
        alex.events.closed_reason().is_some(),
        "connection still open; got {after:?}"
    );
    // Just under the limit: an ordinary INVALID_PAYLOAD.
    let (mut cy, _) = env.joined("cy", &cid).await;
    cy.emit(
        event::VOTE_SUBMIT,
        json!({"conferenceId": "z".repeat(60_000)}),
    );
    cy.expect_error("INVALID_PAYLOAD").await;
    let (mut bo, joined) = env.joined("bo", &cid).await;
    assert_eq!(joined["conferenceId"], cid.as_str());
    bo.emit(event::CONFERENCE_LEAVE, json!({"conferenceId": cid}));
    bo.expect(event::CONFERENCE_LEFT).await;
    env.shutdown().await;
}

async fn rate_limit_drops_events_past_the_limit(store: Store) {
    let env = Env::start_with(store, |s| {
        s.rate_limit_events = 5;
        s.rate_limit_window = std::time::Duration::from_secs(60);
    })
    .await;
    let cid = env.active_conference("hana").await;
    let mut alex = env.actor("alex").await;
    for _ in 0..5 {
        alex.emit(event::CONFERENCE_LEAVE, json!({"conferenceId": cid}));
    }
    for _ in 0..5 {
        alex.expect(event::CONFERENCE_LEFT).await;
    }
    alex.emit(event::CONFERENCE_JOIN, json!({"conferenceId": cid}));
    let e = alex.expect_error("RATE_LIMITED").await;
    assert_eq!(e["context"]["event"], event::CONFERENCE_JOIN);
    assert_eq!(e["context"]["conferenceId"], cid.as_str());
    alex.expect_none(event::CONFERENCE_JOINED).await;
    // Another socket has its own budget.
    let (_bo, joined) = env.joined("bo", &cid).await;
    assert_eq!(joined["role"], "AUDIENCE");
    env.shutdown().await;
}

crate::both_stores!(
    malformed_payloads_answer_invalid_payload,
    oversized_frames_are_refused_without_harm,
    rate_limit_drops_events_past_the_limit,
);
