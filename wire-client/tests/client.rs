//! The lean client (`lcr-client`) against the reference server: handshake, CONNECT with auth,
//! events both ways, `connect_error`, and ping/pong over several heartbeats; the same for the
//! task-less [`lcr_client::Connection`] the voters use, with typed decoding.

use std::time::Duration;

use lcr_client::{ClientConfig, ConnectError, Connection, connect};
use lcr_protocol::event;
use serde_json::json;

async fn server(ping_ms: u64) -> reference_server::RunningServer {
    let mut config = reference_server::ServerConfig::embedded("s", "a");
    config.ping = (
        Duration::from_millis(ping_ms),
        Duration::from_millis(ping_ms),
    );
    reference_server::start(config).await.unwrap()
}

fn auth(user: &str) -> serde_json::Value {
    json!({ "token": lcr_protocol::token::mint("s", user, 60).unwrap() })
}

#[tokio::test]
async fn connects_sends_and_receives_events() {
    let srv = server(25_000).await;
    let (client, mut events) = connect(&ClientConfig::new(srv.url()).auth(auth("alex")))
        .await
        .unwrap();
    assert!(!client.sid.is_empty(), "CONNECT carries the Socket.IO sid");
    client
        .emit(event::CONFERENCE_LEAVE, &json!({"conferenceId": "c1"}))
        .unwrap();
    let left = events
        .expect(event::CONFERENCE_LEFT, Duration::from_secs(5))
        .await
        .expect("answer");
    assert_eq!(left.data, json!({"conferenceId": "c1"}));
    assert!(left.at > 1_600_000_000_000);
    client.close();
    assert!(events.next().await.is_none(), "closed after close()");
    assert!(events.closed_reason().is_some());
    srv.shutdown().await;
}

#[tokio::test]
async fn a_refused_token_is_a_connect_error_with_its_data() {
    let srv = server(25_000).await;
    match connect(&ClientConfig::new(srv.url()).auth(json!({"token": "nope"}))).await {
        Err(ConnectError::Refused(v)) => assert_eq!(v["data"]["code"], "UNAUTHORIZED", "{v}"),
        other => panic!("expected connect_error, got {:?}", other.map(|_| ())),
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn a_connection_answers_pings_inside_recv_even_when_recv_is_cancelled() {
    // As in a voter's select!, recv is dropped every 30 ms for 1.5 s (over seven heartbeats of
    // 200 ms): a pong cut short must still go out, or the server drops the socket.
    let srv = server(200).await;
    let mut conn = Connection::open(&ClientConfig::new(srv.url()).auth(auth("bo")))
        .await
        .unwrap();
    let quiet_until = std::time::Instant::now() + Duration::from_millis(1500);
    while std::time::Instant::now() < quiet_until {
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(30), conn.recv()).await {
            panic!("nothing was due, got {:?}", r.map(|f| f.text().to_owned()));
        }
    }
    conn.emit(event::CONFERENCE_LEAVE, &json!({"conferenceId": "c1"}))
        .await
        .unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(5), conn.recv())
        .await
        .expect("an answer")
        .expect("still connected");
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Left<'a> {
        conference_id: &'a str,
    }
    let (name, left) = frame.parse::<Left>().expect("an event");
    assert_eq!(name, event::CONFERENCE_LEFT);
    assert_eq!(left.expect("with its payload").conference_id, "c1");
    assert_eq!(
        frame.received().map(|r| r.data["conferenceId"].clone()),
        Some(json!("c1"))
    );
    conn.close().await;
    srv.shutdown().await;
}

#[tokio::test]
async fn answers_pings_and_stays_connected() {
    // The server pings every 200 ms and drops a client that does not pong within 200 ms.
    let srv = server(200).await;
    let (client, mut events) = connect(&ClientConfig::new(srv.url()).auth(auth("bo")))
        .await
        .unwrap();
    let quiet = events.drain_for(Duration::from_millis(1500)).await;
    assert!(
        events.closed_reason().is_none(),
        "dropped after {quiet:?}: {:?}",
        events.closed_reason()
    );
    client
        .emit(event::CONFERENCE_LEAVE, &json!({"conferenceId": "c1"}))
        .unwrap();
    assert!(
        events
            .expect(event::CONFERENCE_LEFT, Duration::from_secs(5))
            .await
            .is_some()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn binds_the_requested_local_address() {
    let srv = server(25_000).await;
    let cfg = ClientConfig::new(srv.url())
        .auth(auth("cy"))
        .local_ip("127.0.0.7".parse().unwrap());
    let (client, mut events) = connect(&cfg).await.unwrap();
    client
        .emit(event::CONFERENCE_LEAVE, &json!({"conferenceId": "c1"}))
        .unwrap();
    assert!(
        events
            .expect(event::CONFERENCE_LEFT, Duration::from_secs(5))
            .await
            .is_some()
    );
    srv.shutdown().await;
}
