//! JSON escapes in a Socket.IO packet, as some clients' JSON encoders write them, are read as the
//! characters they stand for: in the event name, in the first key of the payload and anywhere
//! else (the vendored parser, see vendor/README.md).

use lcr_protocol::event;

use crate::harness::*;

async fn escaped_packets_are_answered_like_plain_ones(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;

    // The event name with an escaped ':' (this closed the connection without an answer).
    let mut alex = env.actor("alex").await;
    alex.client
        .send_raw(format!(
            r#"42["conference\u003ajoin",{{"conferenceId":"{cid}"}}]"#
        ))
        .unwrap();
    let joined = alex.expect(event::CONFERENCE_JOINED).await;
    assert_eq!(joined["conferenceId"], cid.as_str());

    // The first key of the payload escaped (this was answered INVALID_PAYLOAD).
    let mut bo = env.actor("bo").await;
    bo.client
        .send_raw(format!(
            r#"42["conference:join",{{"conference\u0049d":"{cid}"}}]"#
        ))
        .unwrap();
    let joined = bo.expect(event::CONFERENCE_JOINED).await;
    assert_eq!(joined["conferenceId"], cid.as_str());

    // Everything escaped, on a socket that goes on being served: a vote and a leave.
    let mut hana = env.actor("hana").await;
    hana.join(&cid).await;
    hana.push(&cid, "q1", Some(60));
    bo.expect(event::QUESTION_LIVE).await;
    let escaped =
        |s: &str| -> String { s.chars().map(|c| format!("\\u{:04x}", c as u32)).collect() };
    bo.client
        .send_raw(format!(
            r#"42["{}",{{"{}":"{}","{}":"q1","selectedOption":"\u0061"}}]"#,
            escaped(event::VOTE_SUBMIT),
            escaped("conferenceId"),
            escaped(&cid),
            escaped("questionId"),
        ))
        .unwrap();
    let accepted = bo.expect(event::VOTE_ACCEPTED).await;
    assert_eq!(accepted["selectedOption"], "A", "{accepted}");
    bo.client
        .send_raw(format!(
            r#"42["conference\/leave",{{"conferenceId":"{cid}"}}]"#
        ))
        .unwrap();
    let e = bo.expect_error("INVALID_PAYLOAD").await;
    assert_eq!(e["context"]["event"], "conference/leave", "{e}");
    bo.client
        .send_raw(format!(
            r#"42 [ "conference\u003aleave" , {{ "conferenceId" : "{cid}" }} ]"#
        ))
        .unwrap();
    bo.expect(event::CONFERENCE_LEFT).await;

    // An unknown event is refused under its unescaped name.
    alex.client
        .send_raw(r#"42["vote\u003ahack",{"conferenceId":"c1"}]"#.into())
        .unwrap();
    let e = alex.expect_error("INVALID_PAYLOAD").await;
    assert_eq!(e["context"]["event"], "vote:hack", "{e}");
    assert!(alex.events.closed_reason().is_none());
    env.shutdown().await;
}

crate::both_stores!(escaped_packets_are_answered_like_plain_ones);
