//! D8: the Control API and probes.

use lcr_protocol::admin::{activate_path, conference_path, end_path};
use lcr_protocol::event;
use serde_json::json;

use crate::harness::*;

async fn admin_calls_need_the_token(store: Store) {
    let env = Env::start(store).await;
    let body = json!({"hostUserId": "hana"});
    let path = conference_path(&env.id("c"));
    let (code, err) = env.http("PUT", &path, None, Some(body.clone())).await;
    assert_eq!(code, 401);
    assert_eq!(err["error"], "UNAUTHORIZED");
    assert!(err["message"].as_str().unwrap().contains("admin token"));
    let (code, _) = env
        .http("PUT", &path, Some("wrong"), Some(body.clone()))
        .await;
    assert_eq!(code, 401);
    let (code, _) = env
        .http("POST", &activate_path(&env.id("c")), Some("wrong"), None)
        .await;
    assert_eq!(code, 401);
    let (code, _) = env.http("POST", &end_path(&env.id("c")), None, None).await;
    assert_eq!(code, 401);
    let (code, ok) = env.http("PUT", &path, Some(ADMIN_TOKEN), Some(body)).await;
    assert_eq!(code, 200, "{ok}");
    assert_eq!(ok["status"], "DRAFT");
    env.shutdown().await;
}

async fn bad_bodies_get_400_with_a_message(store: Store) {
    let env = Env::start(store).await;
    let path = conference_path(&env.id("c"));
    let q = |opts: serde_json::Value, correct: &str| json!({"hostUserId": "h", "questions": [{"questionId": "q1", "questionText": "t", "options": opts, "correctOption": correct}]});
    let ab = json!([{"key": "A", "text": "a"}, {"key": "B", "text": "b"}]);
    for body in [
        json!({}),
        json!({"hostUserId": 5}),
        json!({"hostUserId": "bad id"}),
        json!({"hostUserId": "h", "status": "LIVE"}),
        json!({"hostUserId": "h", "questions": "nope"}),
        q(json!([{"key": "A", "text": "a"}]), "A"),
        q(ab.clone(), "C"),
        q(
            json!([{"key": "a", "text": "a"}, {"key": "B", "text": "b"}]),
            "B",
        ),
        q(
            json!([{"key": "A", "text": "a"}, {"key": "A", "text": "b"}]),
            "A",
        ),
        json!({"hostUserId": "h", "questions": [{"questionId": "q 1", "questionText": "t", "options": ab, "correctOption": "A"}]}),
    ] {
        let (code, err) = env
            .http("PUT", &path, Some(ADMIN_TOKEN), Some(body.clone()))
            .await;
        assert_eq!(code, 400, "{body} -> {err}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{err}"
        );
    }
    let (code, err) = crate::harness::http(
        env.addr,
        "PUT",
        &path,
        Some(ADMIN_TOKEN),
        Some("{not json".into()),
    )
    .await;
    assert_eq!(code, 400, "{err}");
    let (code, _) = env
        .http(
            "PUT",
            &conference_path("bad:id"),
            Some(ADMIN_TOKEN),
            Some(json!({"hostUserId": "h"})),
        )
        .await;
    assert_eq!(code, 400);
    env.shutdown().await;
}

async fn question_ids_belong_to_one_conference(store: Store) {
    let env = Env::start(store).await;
    let first = env
        .conference("hana", lcr_protocol::ConferenceStatus::Draft)
        .await;
    let body = serde_json::to_value(lcr_protocol::admin::ConferenceSpec {
        host_user_id: "ivy".into(),
        status: None,
        questions: vec![crate::harness::question("q1", "A")],
    })
    .unwrap();
    let (code, err) = env
        .http(
            "PUT",
            &conference_path(&env.id("other")),
            Some(ADMIN_TOKEN),
            Some(body.clone()),
        )
        .await;
    assert_eq!(code, 409, "{err}");
    assert!(err["message"].as_str().unwrap().contains(&first), "{err}");
    // Replacing the conference that owns it is fine.
    let (code, _) = env
        .http(
            "PUT",
            &conference_path(&first),
            Some(ADMIN_TOKEN),
            Some(body),
        )
        .await;
    assert_eq!(code, 200);
    env.shutdown().await;
}

async fn activate_and_end_drive_the_conference(store: Store) {
    let env = Env::start(store).await;
    let (code, _) = env
        .http(
            "POST",
            &activate_path(&env.id("nope")),
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(code, 404);
    let (code, _) = env
        .http("POST", &end_path(&env.id("nope")), Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(code, 404);
    let cid = env
        .conference("hana", lcr_protocol::ConferenceStatus::Draft)
        .await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    env.activate(&cid).await;
    let s = alex.expect(event::CONFERENCE_STATUS_CHANGED).await;
    assert_eq!(s["status"], "ACTIVE");
    assert_eq!(s["conferenceId"], cid.as_str());
    assert!(s["timestamp"].as_i64().is_some());
    hana.expect(event::CONFERENCE_STATUS_CHANGED).await;
    hana.push(&cid, "q1", Some(60));
    alex.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    let (code, body) = env
        .http("POST", &end_path(&cid), Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!((code, body["status"].as_str()), (200, Some("ENDED")));
    let closed = alex.expect(event::QUESTION_CLOSED).await;
    assert_eq!(closed["reason"], "manual");
    assert_eq!(alex.expect(event::VOTE_FINAL_RESULT).await["totalVotes"], 1);
    assert_eq!(
        alex.expect(event::CONFERENCE_STATUS_CHANGED).await["status"],
        "ENDED"
    );
    alex.expect_none(event::QUESTION_TIMER_UPDATE).await;
    let (code, body) = env
        .http("POST", &activate_path(&cid), Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(code, 409, "{body}");
    let (code, _) = env
        .http("POST", &end_path(&cid), Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(code, 200, "ending twice is harmless");
    let mut bo = env.actor("bo").await;
    bo.emit(event::CONFERENCE_JOIN, json!({"conferenceId": cid}));
    bo.expect_error("CONFERENCE_ENDED").await;
    crate::questions::wait_for_results(&env, 1).await;
    env.shutdown().await;
}

async fn sockets_of_an_ended_conference_are_out_of_it(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (_hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    env.end(&cid).await;
    alex.expect(event::CONFERENCE_STATUS_CHANGED).await;
    // The same id comes back as a new conference: the old socket is not in it.
    let spec = json!({"hostUserId": "hana", "status": "ACTIVE", "questions": [crate::harness::question("q1", "A")]});
    let (code, _) = env
        .http("PUT", &conference_path(&cid), Some(ADMIN_TOKEN), Some(spec))
        .await;
    assert_eq!(code, 200);
    let (hana2, _) = env.joined("hana", &cid).await;
    hana2.push(&cid, "q1", Some(30));
    alex.expect_none(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect_rejected("not_audience").await;
    env.shutdown().await;
}

async fn metrics_count_what_happened(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    hana.push(&cid, "q1", Some(60));
    alex.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    alex.vote(&cid, "q1", "B");
    alex.expect_rejected("duplicate").await;
    alex.emit(event::VOTE_SUBMIT, json!("garbage"));
    alex.expect_error("INVALID_PAYLOAD").await;
    let (code, body) = env.http("GET", "/metrics", None, None).await;
    assert_eq!(code, 200);
    let text = body.as_str().unwrap_or_default().to_owned();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    };
    assert_eq!(value("lcr_connections_open{"), 2.0);
    assert_eq!(value("lcr_joins_total{"), 2.0);
    assert_eq!(value("lcr_questions_live{"), 1.0);
    assert!(text.contains("outcome=\"accepted\"} 1\n"), "{text}");
    assert!(text.contains("reason=\"duplicate\"} 1\n"), "{text}");
    assert!(text.contains("code=\"INVALID_PAYLOAD\"} 1\n"), "{text}");
    assert!(value("lcr_broadcast_seconds_count{") >= 1.0);
    assert!(text.contains("# TYPE lcr_broadcast_seconds histogram"));
    // Two joins, the push and three votes (the garbage one included) each waited in a queue.
    assert_eq!(value("lcr_event_queue_seconds_count{"), 6.0);
    for thread in ["clock", "sockets"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("lcr_timer_lag_seconds_count{")
                    && l.contains(&format!("thread=\"{thread}\""))),
            "no timer lag of the {thread} runtime in\n{text}"
        );
    }
    env.shutdown().await;
}

async fn probes_answer(store: Store) {
    let env = Env::start(store).await;
    let (code, body) = env.http("GET", "/health", None, None).await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "ok");
    // Which process answered (several nodes behind a balancer, or a port taken by another).
    assert_eq!(body["pid"], std::process::id());
    let (code, body) = env.http("GET", "/ready", None, None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["pid"], std::process::id());
    assert!(body["node"].is_string(), "{body}");
    if let Some(redis) = &env.redis {
        redis.cli(&["shutdown", "nosave"]);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (code, body) = env.http("GET", "/ready", None, None).await;
        assert_eq!(code, 503, "{body}");
        assert_eq!(body["ready"], false);
    }
    env.shutdown().await;
}

crate::both_stores!(
    admin_calls_need_the_token,
    bad_bodies_get_400_with_a_message,
    question_ids_belong_to_one_conference,
    activate_and_end_drive_the_conference,
    sockets_of_an_ended_conference_are_out_of_it,
    metrics_count_what_happened,
    probes_answer,
);

/// `--control-api off` in process: no `/admin` route (404 even with the right token, where a
/// served Control API would answer 200 or 401); the probes and Socket.IO stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_control_api_admin_paths_are_unknown() {
    let env = Env::start_configured(Store::Memory, false, |c| c.without_control_api()).await;
    let cid = env.id("c");
    let body = json!({"hostUserId": "hana"});
    for token in [Some(ADMIN_TOKEN), None] {
        let (code, _) = env
            .http("PUT", &conference_path(&cid), token, Some(body.clone()))
            .await;
        assert_eq!(code, 404, "PUT with {token:?}");
        for path in [activate_path(&cid), end_path(&cid)] {
            let (code, _) = env.http("POST", &path, token, None).await;
            assert_eq!(code, 404, "POST {path} with {token:?}");
        }
    }
    for probe in ["/health", "/ready", "/metrics"] {
        let (code, _) = env.http("GET", probe, None, None).await;
        assert_eq!(code, 200, "{probe}");
    }
    let mut alex = env.actor("alex").await;
    alex.emit(event::CONFERENCE_JOIN, json!({"conferenceId": cid}));
    alex.expect_error("CONFERENCE_NOT_FOUND").await;
    env.shutdown().await;
}
