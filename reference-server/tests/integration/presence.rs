//! Spec §7 join/leave/disconnect, D7, D9–D13.

use lcr_protocol::{ConferenceStatus, event};
use serde_json::json;

use crate::harness::*;

async fn join_reports_status_role_and_count(store: Store) {
    let env = Env::start(store).await;
    let cid = env.conference("hana", ConferenceStatus::Draft).await;
    let (mut hana, joined) = env.joined("hana", &cid).await;
    assert_eq!(
        joined,
        json!({"conferenceId": cid, "conferenceStatus": "DRAFT", "liveQuestion": null, "audienceCount": 0, "role": "HOST"})
    );
    let (_alex, joined) = env.joined("alex", &cid).await;
    assert_eq!(joined["conferenceStatus"], "DRAFT");
    assert_eq!(joined["audienceCount"], 1);
    assert_eq!(joined["role"], "AUDIENCE");
    let a = hana.expect(event::AUDIENCE_JOINED).await;
    assert_eq!(a["userId"], "alex");
    assert_eq!(a["audienceCount"], 1);
    assert_eq!(a["conferenceId"], cid.as_str());
    assert!(a["timestamp"].as_i64().unwrap() > 1_600_000_000_000);
    env.shutdown().await;
}

async fn unknown_and_ended_conferences_refuse_joins(store: Store) {
    let env = Env::start(store).await;
    let mut alex = env.actor("alex").await;
    alex.emit(
        event::CONFERENCE_JOIN,
        json!({"conferenceId": env.id("nope")}),
    );
    let e = alex.expect_error("CONFERENCE_NOT_FOUND").await;
    assert_eq!(e["context"]["event"], event::CONFERENCE_JOIN);
    assert_eq!(e["context"]["conferenceId"], env.id("nope"));
    let cid = env.active_conference("hana").await;
    env.end(&cid).await;
    alex.emit(event::CONFERENCE_JOIN, json!({"conferenceId": cid}));
    alex.expect_error("CONFERENCE_ENDED").await;
    alex.expect_none(event::CONFERENCE_JOINED).await;
    env.shutdown().await;
}

async fn audience_presence_is_per_user_and_host_only(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut bo, _) = env.joined("bo", &cid).await;
    assert_eq!(hana.expect(event::AUDIENCE_JOINED).await["userId"], "bo");
    let (mut alex1, _) = env.joined("alex", &cid).await;
    assert_eq!(
        hana.expect(event::AUDIENCE_JOINED).await["audienceCount"],
        2
    );
    // A second socket of alex: counted once, no second audience:joined (D9).
    let (alex2, joined) = env.joined("alex", &cid).await;
    assert_eq!(joined["audienceCount"], 2);
    hana.expect_none(event::AUDIENCE_JOINED).await;
    // Audience members never see presence events or user ids (D10, D22).
    bo.expect_none(event::AUDIENCE_JOINED).await;
    alex1.emit(event::CONFERENCE_LEAVE, json!({"conferenceId": cid}));
    assert_eq!(
        alex1.expect(event::CONFERENCE_LEFT).await,
        json!({"conferenceId": cid})
    );
    hana.expect_none(event::AUDIENCE_LEFT).await;
    // The last socket goes: now alex left.
    alex2.client.close();
    let left = hana.expect(event::AUDIENCE_LEFT).await;
    assert_eq!(left["userId"], "alex");
    assert_eq!(left["audienceCount"], 1);
    bo.expect_none(event::AUDIENCE_LEFT).await;
    // The host is not audience: its joining and leaving announce nothing.
    let (mut hana2, joined) = env.joined("hana", &cid).await;
    assert_eq!(joined["audienceCount"], 1);
    hana2.emit(event::CONFERENCE_LEAVE, json!({"conferenceId": cid}));
    hana2.expect(event::CONFERENCE_LEFT).await;
    hana.expect_none(event::AUDIENCE_LEFT).await;
    env.shutdown().await;
}

async fn leaving_a_conference_not_joined_still_answers(store: Store) {
    let env = Env::start(store).await;
    let mut alex = env.actor("alex").await;
    let cid = env.id("never-joined");
    alex.emit(event::CONFERENCE_LEAVE, json!({"conferenceId": cid}));
    assert_eq!(
        alex.expect(event::CONFERENCE_LEFT).await,
        json!({"conferenceId": cid})
    );
    env.shutdown().await;
}

async fn disconnect_leaves_every_conference(store: Store) {
    let env = Env::start(store).await;
    let c1 = env.active_conference("hana").await;
    let c2 = env.active_conference_with("hana", &[("x1", "A")]).await;
    let (mut hana1, _) = env.joined("hana", &c1).await;
    let (mut hana2, _) = env.joined("hana", &c2).await;
    let mut alex = env.actor("alex").await;
    alex.join(&c1).await;
    alex.join(&c2).await;
    hana1.expect(event::AUDIENCE_JOINED).await;
    hana2.expect(event::AUDIENCE_JOINED).await;
    alex.client.close();
    assert_eq!(hana1.expect(event::AUDIENCE_LEFT).await["audienceCount"], 0);
    assert_eq!(
        hana2.expect(event::AUDIENCE_LEFT).await["conferenceId"],
        c2.as_str()
    );
    env.shutdown().await;
}

async fn audience_count_is_broadcast_to_the_room(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut bo, _) = env.joined("bo", &cid).await;
    let (_alex, _) = env.joined("alex", &cid).await;
    // A change: at most one per second, the latest count within it (D11).
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let c = bo.expect(event::AUDIENCE_COUNT).await;
        assert_eq!(c["conferenceId"], cid.as_str());
        assert!(c["timestamp"].as_i64().is_some());
        if c["audienceCount"] == 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "count never reached 2"
        );
    }
    // Periodic: another one within the 5 s period, with no change.
    let again = bo
        .events
        .expect(event::AUDIENCE_COUNT, std::time::Duration::from_secs(7))
        .await;
    assert_eq!(
        again.expect("periodic audience:count").data["audienceCount"],
        2
    );
    env.shutdown().await;
}

async fn late_join_sees_the_live_question_without_the_answer(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    hana.push(&cid, "q1", Some(30));
    let live = hana.expect(event::QUESTION_LIVE).await;
    let (_alex, joined) = env.joined("alex", &cid).await;
    assert_eq!(
        joined["liveQuestion"], live,
        "D13: same shape as question:live"
    );
    assert!(joined.to_string().find("correctOption").is_none());
    env.shutdown().await;
}

crate::both_stores!(
    join_reports_status_role_and_count,
    unknown_and_ended_conferences_refuse_joins,
    audience_presence_is_per_user_and_host_only,
    leaving_a_conference_not_joined_still_answers,
    disconnect_leaves_every_conference,
    audience_count_is_broadcast_to_the_room,
    late_join_sees_the_live_question_without_the_answer,
);
