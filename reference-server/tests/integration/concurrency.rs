//! D18/D19 under concurrency, and the connect-middleware trap: real sockets, many at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;
use lcr_protocol::event;
use serde_json::json;
use tokio::sync::Barrier;

use crate::harness::*;

/// Connects `n` actors (named `{prefix}{i}`) and joins them to `cid`, `batch` at a time.
async fn crowd(env: &Env, cid: &str, prefix: &str, n: usize, batch: usize) -> Vec<Actor> {
    let mut all = Vec::with_capacity(n);
    for start in (0..n).step_by(batch) {
        let joined = join_all((start..(start + batch).min(n)).map(|i| {
            let name = format!("{prefix}{i}");
            async move { env.joined(&name, cid).await.0 }
        }))
        .await;
        all.extend(joined);
    }
    all
}

async fn one_user_ten_sockets_two_hundred_votes_one_accepted(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let mut sockets = Vec::new();
    for _ in 0..10 {
        sockets.push(env.joined("alex", &cid).await.0);
    }
    hana.push(&cid, "q1", Some(60));
    for s in &mut sockets {
        s.expect(event::QUESTION_LIVE).await;
    }
    let barrier = Arc::new(Barrier::new(10));
    let outcomes = join_all(sockets.into_iter().map(|mut s| {
        let barrier = barrier.clone();
        let cid = cid.clone();
        async move {
            barrier.wait().await;
            for i in 0..20 {
                s.vote(&cid, "q1", ["A", "B", "C", "D"][i % 4]);
            }
            let (mut accepted, mut duplicate) = (0, 0);
            for r in s.drain(std::time::Duration::from_secs(3)).await {
                match r.name.as_str() {
                    event::VOTE_ACCEPTED => accepted += 1,
                    event::VOTE_REJECTED => {
                        assert_eq!(r.data["reason"], "duplicate", "{}", r.data);
                        duplicate += 1;
                    }
                    _ => {}
                }
            }
            (accepted, duplicate)
        }
    }))
    .await;
    let accepted: usize = outcomes.iter().map(|o| o.0).sum();
    let duplicate: usize = outcomes.iter().map(|o| o.1).sum();
    assert_eq!((accepted, duplicate), (1, 199), "per socket: {outcomes:?}");
    env.shutdown().await;
}

async fn five_hundred_voters_racing_a_close_lose_nothing(store: Store) {
    let env = Env::start(store).await;
    let cid = env.active_conference("hana").await;
    let (mut hana, _) = env.joined("hana", &cid).await;
    let voters = crowd(&env, &cid, "v", 500, 100).await;
    hana.push(&cid, "q1", Some(60));
    let barrier = Arc::new(Barrier::new(voters.len() + 1));
    let tasks: Vec<_> = voters
        .into_iter()
        .enumerate()
        .map(|(i, mut v)| {
            let barrier = barrier.clone();
            let cid = cid.clone();
            tokio::spawn(async move {
                v.expect(event::QUESTION_LIVE).await;
                barrier.wait().await;
                let option = ["A", "B", "C", "D"][i % 4];
                v.vote(&cid, "q1", option);
                loop {
                    let r = v.events.next().await.expect("answer to the vote");
                    match r.name.as_str() {
                        event::VOTE_ACCEPTED => return Some(option),
                        event::VOTE_REJECTED => {
                            assert_eq!(r.data["reason"], "question_closed", "{}", r.data);
                            return None;
                        }
                        _ => {}
                    }
                }
            })
        })
        .collect();
    barrier.wait().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    hana.close_question(&cid, "q1");
    let mut accepted: BTreeMap<String, u64> = ["A", "B", "C", "D"]
        .iter()
        .map(|k| ((*k).to_owned(), 0))
        .collect();
    for t in tasks {
        if let Some(option) = t.await.unwrap() {
            *accepted.get_mut(option).unwrap() += 1;
        }
    }
    let fin = hana.expect(event::VOTE_FINAL_RESULT).await;
    let total: u64 = accepted.values().sum();
    eprintln!("accepted before close: {total} of 500");
    assert_eq!(fin["totalVotes"], total, "D19: accepted = final totalVotes");
    assert_eq!(
        fin["optionCounts"],
        json!(accepted),
        "D19: option by option"
    );
    env.shutdown().await;
}

async fn joins_sent_right_after_connect_are_never_lost(store: Store) {
    let env = Env::start_with(store, |s| s.rate_limit_events = 1000).await;
    let cid = env.active_conference("hana").await;
    let n = 2000;
    let lost = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for start in (0..n).step_by(250) {
        join_all((start..start + 250).map(|i| {
            let (env, cid, lost) = (&env, cid.clone(), lost.clone());
            async move {
                let mut a = env.actor(&format!("fast{i}")).await;
                // No wait between the CONNECT ack and the first event.
                a.emit(event::CONFERENCE_JOIN, json!({"conferenceId": cid}));
                if a.events
                    .expect(event::CONFERENCE_JOINED, WAIT)
                    .await
                    .is_none()
                {
                    lost.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                a
            }
        }))
        .await;
    }
    assert_eq!(
        lost.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "joins lost out of {n}"
    );
    env.shutdown().await;
}

crate::both_stores!(
    one_user_ten_sockets_two_hundred_votes_one_accepted,
    five_hundred_voters_racing_a_close_lose_nothing,
    joins_sent_right_after_connect_are_never_lost,
);
