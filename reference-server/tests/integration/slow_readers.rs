//! Slow readers: a socket whose queue passes `--socket-queue` is disconnected and counted; the
//! rest of its room keeps receiving everything.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use lcr_client::{ClientConfig, Connection};
use lcr_protocol::event;
use serde_json::{Value, json};

use crate::harness::*;

fn config(env: &Env, user: &str) -> ClientConfig {
    let token = lcr_protocol::token::mint(JWT_SECRET, user, 3600).unwrap();
    ClientConfig::new(env.url()).auth(json!({ "token": token }))
}

/// `user` on a raw connection with a 4 KiB receive buffer, joined to `cid`: it has read up to
/// its `conference:joined` and reads nothing more unless the test asks.
async fn joined_raw(env: &Env, user: &str, cid: &str) -> Connection {
    let mut c = Connection::open(&config(env, user).recv_buffer(4096))
        .await
        .expect("connects");
    c.emit(event::CONFERENCE_JOIN, &json!({ "conferenceId": cid }))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(WAIT, c.recv())
            .await
            .expect("conference:joined in time")
            .expect("connected");
        if matches!(frame.parse::<Value>(), Some((name, _)) if name == event::CONFERENCE_JOINED) {
            return c;
        }
    }
}

/// Votes of `user` (connect, join, vote, close), each making a `vote:result`.
/// How many slow sockets the node has cut so far.
fn slow_disconnects(env: &Env) -> u64 {
    let metrics = &env.server.as_ref().unwrap().node.metrics;
    metrics.slow_sockets_disconnected.load(Ordering::Relaxed)
}

async fn one_vote(env: &Env, cid: &str, user: String) {
    let mut a = env.actor(&user).await;
    a.join(cid).await;
    a.vote(cid, "q1", "A");
    a.expect(event::VOTE_ACCEPTED).await;
    a.client.close();
}

async fn a_socket_that_stops_reading_is_disconnected(store: Store) {
    let env = Env::start_configured(store, false, |mut c| {
        c.socket_queue = 16;
        c.socket_send_buffer = Some(4096);
        c.settings.result_interval = Duration::from_millis(1);
        c
    })
    .await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let (mut bo, _) = env.joined("bo", &cid).await;
    hana.expect(event::AUDIENCE_JOINED).await;

    // The slow reader joins, then never reads again (a small receive buffer: the kernel holds
    // little for it).
    let mut slow = joined_raw(&env, "slo", &cid).await;
    assert_eq!(hana.expect(event::AUDIENCE_JOINED).await["userId"], "slo");

    hana.push(&cid, "q1", Some(120));
    hana.expect(event::QUESTION_LIVE).await;
    bo.expect(event::QUESTION_LIVE).await;

    // Broadcasts flow until the server cuts the slow reader off (bounded: thousands of votes,
    // each a vote:result, far more than a 16-packet queue and 4 KiB buffers hold).
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut votes: u64 = 0;
    while slow_disconnects(&env) == 0 {
        assert!(
            votes < 4000 && Instant::now() < deadline,
            "the slow reader was not disconnected after {votes} votes"
        );
        one_vote(&env, &cid, format!("v{votes}")).await;
        votes += 1;
    }
    // One more vote after the cut: the others still get it.
    one_vote(&env, &cid, format!("v{votes}")).await;
    votes += 1;

    // The slow reader sees its connection reset, without reading...
    let until = Instant::now() + WAIT;
    let error = loop {
        if let Some(e) = slow.transport_error() {
            break e;
        }
        assert!(
            Instant::now() < until,
            "the slow reader's connection was not reset"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    // ...and once it reads again, the connection ends.
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            if slow.recv().await.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the slow reader's connection did not end");

    // The server ran its disconnect: the host hears that slo left.
    let left = loop {
        let l = hana.expect(event::AUDIENCE_LEFT).await;
        if l["userId"] == "slo" {
            break l;
        }
    };
    assert!(left["audienceCount"].as_u64().is_some());

    // bo, reading all along, got every vote: its last vote:result counts them all.
    let mut last_total = 0;
    while last_total < votes {
        let r = bo.expect(event::VOTE_RESULT).await;
        last_total = r["totalVotes"].as_u64().unwrap();
    }
    assert_eq!(last_total, votes);
    // Only the slow reader was disconnected, once; the others are still there.
    assert_eq!(slow_disconnects(&env), 1);
    bo.vote(&cid, "q1", "B");
    bo.expect(event::VOTE_ACCEPTED).await;
    let (_, metrics) = env.http("GET", "/metrics", Some(ADMIN_TOKEN), None).await;
    let text = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        text.lines()
            .any(|l| l.starts_with("lcr_slow_sockets_disconnected_total{") && l.ends_with(" 1")),
        "{text}"
    );
    env.shutdown().await;
}

/// A host's socket is not cut for a full queue (it hears a message per audience join and
/// leave, so a large audience's bursts fill a small bound): what does not fit is dropped, and
/// the host stays connected.
async fn a_host_that_stops_reading_stays_connected(store: Store) {
    let env = Env::start_configured(store, false, |mut c| {
        c.socket_queue = 16;
        c.socket_send_buffer = Some(4096);
        c
    })
    .await;
    let cid = env.active_conference("hana").await;
    let hana = joined_raw(&env, "hana", &cid).await;
    // The host reads no more; 300 members join and leave, each an audience:joined and an
    // audience:left for it: far more than its 16 places and 4 KiB buffers hold.
    let (mut bo, _) = env.joined("bo", &cid).await;
    for n in 0..300 {
        let (a, _) = env.joined(&format!("m{n}"), &cid).await;
        a.client.close();
    }
    // bo still hears the room, the host is still connected, and nobody was cut.
    let count = bo.expect(event::AUDIENCE_COUNT).await;
    assert!(count["audienceCount"].as_u64().is_some(), "{count}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        hana.transport_error().is_none(),
        "the host's connection was cut: {:?}",
        hana.transport_error()
    );
    assert_eq!(slow_disconnects(&env), 0);
    env.shutdown().await;
}

crate::both_stores!(
    a_socket_that_stops_reading_is_disconnected,
    a_host_that_stops_reading_stays_connected,
);
