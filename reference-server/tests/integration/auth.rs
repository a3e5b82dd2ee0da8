//! D2: the handshake token; D3: roles.

use lcr_client::{ClientConfig, ConnectError};
use lcr_protocol::token::{Claims, encode};
use serde_json::json;

use crate::harness::*;

fn refused(r: Result<Actor, ConnectError>) -> serde_json::Value {
    match r {
        Err(ConnectError::Refused(v)) => v,
        Err(e) => panic!("expected connect_error, got {e}"),
        Ok(_) => panic!("expected connect_error, connection was accepted"),
    }
}

fn assert_unauthorized(v: &serde_json::Value) {
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v["data"]["code"], "UNAUTHORIZED", "{v}");
    assert!(
        v["data"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

fn exp_in(secs: i64) -> u64 {
    (lcr_protocol::now_millis() / 1000 + secs) as u64
}

async fn bad_tokens_are_refused(store: Store) {
    let env = Env::start(store).await;
    let url = env.url();
    let expired = encode(
        JWT_SECRET,
        &Claims {
            user_id: Some("u".into()),
            sub: None,
            account_type: None,
            exp: exp_in(-60),
        },
    )
    .unwrap();
    let wrong_secret = encode(
        "not-the-secret",
        &Claims {
            user_id: Some("u".into()),
            sub: None,
            account_type: None,
            exp: exp_in(60),
        },
    )
    .unwrap();
    let none = lcr_protocol::token::unsigned(&Claims {
        user_id: Some("u".into()),
        sub: None,
        account_type: None,
        exp: exp_in(60),
    });
    let epoch_exp = encode(
        JWT_SECRET,
        &Claims {
            user_id: Some("u".into()),
            sub: None,
            account_type: None,
            exp: 0,
        },
    )
    .unwrap();
    let bad_user = encode(
        JWT_SECRET,
        &Claims {
            user_id: Some("has space".into()),
            sub: None,
            account_type: None,
            exp: exp_in(60),
        },
    )
    .unwrap();
    for (what, auth) in [
        ("missing token", json!({})),
        ("garbage", json!({"token": "not-a-jwt"})),
        ("expired", json!({"token": expired})),
        ("wrong secret", json!({"token": wrong_secret})),
        ("alg none", json!({"token": none})),
        ("exp at the epoch", json!({"token": epoch_exp})),
        ("bad userId", json!({"token": bad_user})),
        ("token not a string", json!({"token": 42})),
    ] {
        let v = refused(
            env.actor_with("x", ClientConfig::new(url.clone()).auth(auth))
                .await,
        );
        assert_unauthorized(&v);
        eprintln!("{what}: {v}");
    }
    let v = refused(env.actor_with("x", ClientConfig::new(url.clone())).await);
    assert_unauthorized(&v);
    env.shutdown().await;
}

async fn sub_claim_and_bearer_header_are_accepted(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let by_sub = encode(
        JWT_SECRET,
        &Claims {
            user_id: None,
            sub: Some("sam".into()),
            account_type: Some("user".into()),
            exp: exp_in(60),
        },
    )
    .unwrap();
    let mut sam = env
        .actor_with(
            "sam",
            ClientConfig::new(env.url()).auth(json!({"token": by_sub})),
        )
        .await
        .unwrap();
    let joined = sam.join(&cid).await;
    assert_eq!(joined["role"], "AUDIENCE");
    let token = lcr_protocol::token::mint(JWT_SECRET, "hana", 60).unwrap();
    let mut hana = env
        .actor_with(
            "hana",
            ClientConfig::new(env.url()).header("Authorization", format!("Bearer {token}")),
        )
        .await
        .unwrap();
    let joined = hana.join(&cid).await;
    assert_eq!(joined["role"], "HOST");
    env.shutdown().await;
}

async fn client_role_is_ignored(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let mut alex = env.actor("alex").await;
    alex.emit(
        lcr_protocol::event::CONFERENCE_JOIN,
        json!({"conferenceId": cid, "role": "HOST"}),
    );
    let joined = alex.expect(lcr_protocol::event::CONFERENCE_JOINED).await;
    assert_eq!(joined["role"], "AUDIENCE");
    alex.push(&cid, "q1", Some(10));
    alex.expect_error("UNAUTHORIZED").await;
    env.shutdown().await;
}

crate::both_stores!(
    bad_tokens_are_refused,
    sub_claim_and_bearer_header_are_accepted,
    client_role_is_ignored
);
