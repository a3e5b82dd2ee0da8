//! D2: the handshake token (HS256 with the secret, or RS256 / ES256 with a public key);
//! D3: roles.

use lcr_client::{ClientConfig, ConnectError};
use lcr_protocol::token::{Claims, Signer, SigningAlgorithm, encode};
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

/// An example key of `profiles/keys/` (public test keys).
fn example_key(name: &str) -> Vec<u8> {
    let path = format!("{}/../profiles/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A signer with the example private key of `alg` (RS256 or ES256).
fn example_signer(alg: SigningAlgorithm) -> Signer {
    let name = format!("{}-private.pem", alg.as_str().to_ascii_lowercase());
    Signer::from_private_key_pem(alg, &example_key(&name)).unwrap()
}

fn claims(user: &str, exp: u64) -> Claims {
    Claims {
        user_id: Some(user.into()),
        sub: None,
        account_type: Some("user".into()),
        exp,
    }
}

/// A server verifying tokens with the example public key of `alg` accepts tokens signed with
/// its private key (a whole join, for the host and the audience, by auth payload or header)
/// and refuses with `connect_error` UNAUTHORIZED: an HS256 token whose secret is the public
/// key's text (algorithm confusion), one with the harness's JWT secret, one signed with the
/// other key pair's algorithm, an expired one, one carrying another token's signature and an
/// unsigned `alg: none` one.
async fn a_public_key_server_accepts_its_algorithm_only(
    alg: SigningAlgorithm,
    other: SigningAlgorithm,
) {
    let public = example_key(&format!("{}-public.pem", alg.as_str().to_ascii_lowercase()));
    let verifier = lcr_protocol::token::Verifier::from_public_key_pem(&public).unwrap();
    assert_eq!(verifier.algorithm(), alg);
    let env = Env::start_configured(Store::Memory, false, |config| {
        config.with_verifier(verifier)
    })
    .await;
    let url = env.url();
    let cid = env.active_conference("hana").await;
    let signer = example_signer(alg);

    let host_token = signer.sign(&claims("hana", exp_in(60))).unwrap();
    let mut hana = env
        .actor_with(
            "hana",
            ClientConfig::new(url.clone()).auth(json!({ "token": host_token })),
        )
        .await
        .unwrap_or_else(|e| panic!("{alg} token refused: {e}"));
    assert_eq!(hana.join(&cid).await["role"], "HOST");
    let audience_token = signer.sign(&claims("ana", exp_in(60))).unwrap();
    let mut ana = env
        .actor_with(
            "ana",
            ClientConfig::new(url.clone())
                .header("Authorization", format!("Bearer {audience_token}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{alg} token in the header refused: {e}"));
    let joined = ana.join(&cid).await;
    assert_eq!(joined["role"], "AUDIENCE", "{joined}");
    hana.expect(lcr_protocol::event::AUDIENCE_JOINED).await;

    let pem_text = String::from_utf8(public).unwrap();
    let confused = Signer::hs256(&pem_text)
        .sign(&claims("eve", exp_in(60)))
        .unwrap();
    let old_secret = encode(JWT_SECRET, &claims("eve", exp_in(60))).unwrap();
    let other_alg = example_signer(other)
        .sign(&claims("eve", exp_in(60)))
        .unwrap();
    let expired = signer.sign(&claims("eve", exp_in(-60))).unwrap();
    // Eve's claims with the signature of a token the key's owner signed for ana: the right
    // algorithm, a signature that does not match.
    let eve = signer.sign(&claims("eve", exp_in(60))).unwrap();
    let (eve_signed, _) = eve.rsplit_once('.').unwrap();
    let (_, ana_signature) = audience_token.rsplit_once('.').unwrap();
    let transplanted = format!("{eve_signed}.{ana_signature}");
    let none = lcr_protocol::token::unsigned(&claims("eve", exp_in(60)));
    for (what, token) in [
        ("HS256 with the public key as secret", confused),
        ("HS256 with a shared secret", old_secret),
        (other.as_str(), other_alg),
        ("expired", expired),
        ("another token's signature", transplanted),
        ("alg none", none),
    ] {
        let v = refused(
            env.actor_with(
                "eve",
                ClientConfig::new(url.clone()).auth(json!({ "token": token })),
            )
            .await,
        );
        assert_unauthorized(&v);
        eprintln!("{alg} server, {what}: {v}");
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rs256_server_accepts_rs256_tokens_only() {
    a_public_key_server_accepts_its_algorithm_only(
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Es256,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_es256_server_accepts_es256_tokens_only() {
    a_public_key_server_accepts_its_algorithm_only(
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
    )
    .await;
}
