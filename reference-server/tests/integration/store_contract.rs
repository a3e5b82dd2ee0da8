//! The two stores keep the same contract, checked on the store itself.

use std::sync::Arc;
use std::time::Duration;

use lcr_protocol::server::QuestionOption;
use lcr_protocol::{CloseReason, ConferenceStatus, RejectReason, Role, now_millis};
use reference_server::store::memory::MemoryStore;
use reference_server::store::redis::RedisStore;
use reference_server::store::{
    Gate, Lease, LeaseGrant, LiveRun, QuestionMeta, RuntimeStore, TickClaim, VoteOutcome,
};

use crate::harness::*;

async fn store(kind: Store) -> (Arc<dyn RuntimeStore>, Option<RedisProcess>) {
    match kind {
        Store::Memory => (Arc::new(MemoryStore::default()), None),
        Store::Redis | Store::RedisAof(_) => {
            let redis = RedisProcess::start();
            let s = RedisStore::connect(&redis.url(), 2).await.unwrap();
            (Arc::new(s), Some(redis))
        }
    }
}

fn meta(q: &str) -> QuestionMeta {
    QuestionMeta {
        conference_id: "c".into(),
        question_id: q.into(),
        question_text: "t".into(),
        options: ["A", "B"]
            .iter()
            .map(|k| QuestionOption {
                key: (*k).into(),
                text: (*k).into(),
            })
            .collect(),
        correct_option: "A".into(),
    }
}

fn run(q: &str, duration: u32) -> LiveRun {
    let now = now_millis();
    LiveRun {
        conference_id: "c".into(),
        question_id: q.into(),
        started_at: now,
        expires_at: now + i64::from(duration) * 1000,
        duration,
    }
}

async fn push_lock_is_released_only_by_its_holder(kind: Store) {
    let (s, _redis) = store(kind).await;
    let first = s
        .try_lock_push("c", now_millis())
        .await
        .unwrap()
        .expect("free lock");
    assert!(
        s.try_lock_push("c", now_millis()).await.unwrap().is_none(),
        "held"
    );
    s.unlock_push("c", "someone-else").await.unwrap();
    assert!(
        s.try_lock_push("c", now_millis()).await.unwrap().is_none(),
        "a stranger cannot release it"
    );
    s.unlock_push("c", &first).await.unwrap();
    assert!(
        s.try_lock_push("c", now_millis()).await.unwrap().is_some(),
        "released by its holder"
    );
}

async fn votes_after_expiry_are_refused_and_the_run_still_closes(kind: Store) {
    let (s, _redis) = store(kind).await;
    s.put_conference("c", "hana", ConferenceStatus::Active)
        .await
        .unwrap();
    let r = run("q", 1);
    s.start_question(&r, &meta("q")).await.unwrap();
    assert_eq!(
        s.record_vote("c", "q", "hana", "A", now_millis())
            .await
            .unwrap(),
        VoteOutcome::Rejected(RejectReason::NotAudience)
    );
    assert_eq!(
        s.record_vote("c", "q", "alex", "A", now_millis())
            .await
            .unwrap(),
        VoteOutcome::Accepted { is_correct: true }
    );
    assert_eq!(
        s.record_vote("c", "q", "alex", "B", now_millis())
            .await
            .unwrap(),
        VoteOutcome::Rejected(RejectReason::Duplicate)
    );
    assert_eq!(
        s.record_vote("c", "q", "bo", "Z", now_millis())
            .await
            .unwrap(),
        VoteOutcome::Rejected(RejectReason::InvalidOption)
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(
        s.live_question("c").await.unwrap().is_none(),
        "the live question expires with its TTL"
    );
    assert_eq!(
        s.record_vote("c", "q", "bo", "B", now_millis())
            .await
            .unwrap(),
        VoteOutcome::Rejected(RejectReason::QuestionClosed)
    );
    let rec = s
        .close_question(&r, CloseReason::Timeout, now_millis())
        .await
        .unwrap()
        .expect("closes after expiry");
    assert_eq!((rec.total_responses, rec.correct_count), (1, 1));
    assert!(
        s.close_question(&r, CloseReason::Manual, now_millis())
            .await
            .unwrap()
            .is_none(),
        "closes once"
    );
    assert_eq!(s.pending_results().await.unwrap().len(), 1);
    s.result_persisted(&rec).await.unwrap();
    assert!(s.pending_results().await.unwrap().is_empty());
    assert!(
        s.close_question(&r, CloseReason::Manual, now_millis())
            .await
            .unwrap()
            .is_none(),
        "still closed after cleanup"
    );
}

async fn confirming_an_old_run_keeps_the_open_rerun(kind: Store) {
    let (s, _redis) = store(kind).await;
    s.put_conference("c", "hana", ConferenceStatus::Active)
        .await
        .unwrap();
    let first = run("q", 60);
    s.start_question(&first, &meta("q")).await.unwrap();
    s.record_vote("c", "q", "alex", "A", now_millis())
        .await
        .unwrap();
    let old = s
        .close_question(&first, CloseReason::Manual, now_millis())
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // The rerun is open but its live key has expired (its timeout close has not run yet) when
    // the old run's write is confirmed.
    let second = run("q", 1);
    s.start_question(&second, &meta("q")).await.unwrap();
    s.record_vote("c", "q", "bo", "B", now_millis())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    s.result_persisted(&old).await.unwrap();
    let rec = s
        .close_question(&second, CloseReason::Manual, now_millis())
        .await
        .unwrap()
        .expect("rerun closes");
    assert_eq!(
        rec.total_responses, 1,
        "the rerun's votes survived the old run's cleanup"
    );
    assert_eq!(rec.option_counts["B"], 1);
}

async fn presence_counts_users_once(kind: Store) {
    let (s, _redis) = store(kind).await;
    s.put_conference("c", "hana", ConferenceStatus::Active)
        .await
        .unwrap();
    assert!(
        s.add_member("c", "alex", Role::Audience)
            .await
            .unwrap()
            .user_changed
    );
    assert!(
        !s.add_member("c", "alex", Role::Audience)
            .await
            .unwrap()
            .user_changed
    );
    let host = s.add_member("c", "hana", Role::Host).await.unwrap();
    assert_eq!(host.audience_count, 1);
    assert!(
        !s.remove_member("c", "alex", Role::Audience)
            .await
            .unwrap()
            .user_changed
    );
    let last = s.remove_member("c", "alex", Role::Audience).await.unwrap();
    assert!(last.user_changed);
    assert_eq!(last.audience_count, 0);
    // A leave the store never saw (presence cleared meanwhile) changes nothing.
    assert!(
        !s.remove_member("c", "alex", Role::Audience)
            .await
            .unwrap()
            .user_changed
    );
    assert_eq!(s.audience_count("c").await.unwrap(), 0);
}

/// A node can hear of a conference's end after its socket heard `conference:status_changed`
/// (the cluster message and the room broadcast travel apart): the store refuses the vote itself.
async fn a_vote_in_an_ended_conference_has_no_audience(kind: Store) {
    let (s, _redis) = store(kind).await;
    s.put_conference("c", "hana", ConferenceStatus::Active)
        .await
        .unwrap();
    let r = run("q", 30);
    s.start_question(&r, &meta("q")).await.unwrap();
    assert_eq!(
        s.record_vote("c", "q", "alex", "A", now_millis())
            .await
            .unwrap(),
        VoteOutcome::Accepted { is_correct: true }
    );
    s.set_status("c", ConferenceStatus::Ended).await.unwrap();
    assert_eq!(
        s.record_vote("c", "q", "bo", "A", now_millis())
            .await
            .unwrap(),
        VoteOutcome::Rejected(RejectReason::NotAudience)
    );
    let rec = s
        .close_question(&r, CloseReason::Manual, now_millis())
        .await
        .unwrap()
        .expect("still open until closed");
    assert_eq!(rec.total_responses, 1, "the refused vote was not counted");
}

async fn a_shut_gate_says_when_it_opens(kind: Store) {
    let (s, _redis) = store(kind).await;
    let ttl = Duration::from_secs(30);
    assert_eq!(s.pass_gate("g", ttl).await.unwrap(), Gate::Passed);
    let shut = s.pass_gate("g", ttl).await.unwrap();
    assert!(!shut.passed(), "the second caller is gated out");
    let left = shut.opens_in();
    assert!(
        left > Duration::from_secs(20) && left <= ttl,
        "opens within the window: {left:?}"
    );
    assert_eq!(
        s.pass_gate("other", ttl).await.unwrap(),
        Gate::Passed,
        "gates are per key"
    );
    let brief = Duration::from_millis(50);
    assert_eq!(s.pass_gate("brief", brief).await.unwrap(), Gate::Passed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        s.pass_gate("brief", brief).await.unwrap(),
        Gate::Passed,
        "open again once the window is over"
    );
}

/// Countdown leases between nodes (Redis only: the memory store has one node, which holds every
/// lease): one holder per run, a crashed holder's lease is free after its TTL, and a graceful
/// hand-over tells the taker which tick comes next (D16, D25).
#[tokio::test]
async fn countdown_leases_pass_between_nodes_with_the_next_tick() {
    let (s, _redis) = store(Store::Redis).await;
    let r = run("q", 30);
    let ttl = Duration::from_secs(30);
    assert_eq!(
        s.timer_lease(&r, "n1", ttl, Lease::Hold).await.unwrap(),
        LeaseGrant::Granted
    );
    assert_eq!(
        s.timer_lease(&r, "n2", ttl, Lease::Take).await.unwrap(),
        LeaseGrant::Refused,
        "held by n1"
    );
    s.hand_over_timer(&r, "n2", 9, ttl).await.unwrap();
    assert_eq!(
        s.timer_lease(&r, "n1", ttl, Lease::Hold).await.unwrap(),
        LeaseGrant::Granted,
        "only the holder hands over: n1 still holds it"
    );
    s.hand_over_timer(&r, "n1", 7, ttl).await.unwrap();
    assert_eq!(
        s.timer_lease(&r, "n1", ttl, Lease::Hold).await.unwrap(),
        LeaseGrant::Refused,
        "a late renewal of the node that handed it over does not take it back"
    );
    assert_eq!(
        s.timer_lease(&r, "n2", ttl, Lease::Take).await.unwrap(),
        LeaseGrant::HandedOver { next_tick: 7 }
    );
    assert_eq!(
        s.timer_lease(&r, "n3", ttl, Lease::Take).await.unwrap(),
        LeaseGrant::Refused,
        "taken once"
    );
    assert_eq!(
        s.timer_lease(&r, "n2", ttl, Lease::Hold).await.unwrap(),
        LeaseGrant::Granted,
        "renewed as a plain lease"
    );
    // A hand-over marker of an earlier run of the question is not this run's.
    s.hand_over_timer(&r, "n2", 12, ttl).await.unwrap();
    let rerun = LiveRun {
        started_at: r.started_at + 60_000,
        ..r.clone()
    };
    assert_eq!(
        s.timer_lease(&rerun, "n3", ttl, Lease::Take).await.unwrap(),
        LeaseGrant::Granted
    );
    // A holder that dies without a word: free once its TTL is over, for a plain takeover.
    let brief = Duration::from_millis(100);
    let other = run("q2", 30);
    assert!(
        s.timer_lease(&other, "n1", brief, Lease::Hold)
            .await
            .unwrap()
            .granted()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.timer_lease(&other, "n2", ttl, Lease::Take).await.unwrap(),
        LeaseGrant::Granted
    );
}

/// Tick claims (D16, D25, D26; Redis: the memory store has one node, whose ticker never goes
/// back): each tick is claimed once across nodes, a node that takes the countdown over learns
/// the first tick not sent, a closed run claims nothing, and a run whose conference vanished
/// with it says the store lost data.
#[tokio::test]
async fn each_tick_is_claimed_once_across_nodes_and_a_lost_run_says_so() {
    let (s, redis) = store(Store::Redis).await;
    let redis = redis.unwrap();
    let ttl = Duration::from_secs(30);
    s.put_conference("c", "host", ConferenceStatus::Active)
        .await
        .unwrap();
    let r = run("q", 30);
    s.start_question(&r, &meta("q")).await.unwrap();
    assert_eq!(
        s.claim_tick(&r, "n1", 1, ttl).await.unwrap(),
        TickClaim::Claimed
    );
    assert_eq!(
        s.claim_tick(&r, "n1", 2, ttl).await.unwrap(),
        TickClaim::Claimed
    );
    assert_eq!(
        s.claim_tick(&r, "n2", 3, ttl).await.unwrap(),
        TickClaim::Held,
        "n1 holds the countdown"
    );
    assert_eq!(
        s.claim_tick(&r, "n1", 2, ttl).await.unwrap(),
        TickClaim::Sent { next_tick: 3 },
        "a tick is claimed once"
    );
    // n1 dies: its lease lapses, n2 takes over and learns where to go on.
    redis.cli(&["DEL", "question:q:timer:lease"]);
    assert_eq!(
        s.claim_tick(&r, "n2", 1, ttl).await.unwrap(),
        TickClaim::Sent { next_tick: 3 }
    );
    assert_eq!(
        s.claim_tick(&r, "n2", 3, ttl).await.unwrap(),
        TickClaim::Claimed
    );
    assert_eq!(
        s.claim_tick(&r, "n1", 4, ttl).await.unwrap(),
        TickClaim::Held,
        "the node that lost its lease sends nothing more"
    );
    // Another run of the question, or a closed one, claims nothing.
    let older = LiveRun {
        started_at: r.started_at - 60_000,
        ..r.clone()
    };
    assert_eq!(
        s.claim_tick(&older, "n2", 4, ttl).await.unwrap(),
        TickClaim::Closed
    );
    s.close_question(&r, CloseReason::Manual, now_millis())
        .await
        .unwrap()
        .expect("closed");
    assert_eq!(
        s.claim_tick(&r, "n2", 4, ttl).await.unwrap(),
        TickClaim::Closed
    );
    // Everything gone at once (a restart without persistence): lost, not closed.
    let r2 = run("q2", 30);
    s.start_question(&r2, &meta("q2")).await.unwrap();
    redis.cli(&["FLUSHALL"]);
    assert_eq!(
        s.claim_tick(&r2, "n1", 1, ttl).await.unwrap(),
        TickClaim::StateLost
    );
    assert_eq!(
        s.record_vote("c", "q2", "u1", "A", now_millis())
            .await
            .unwrap(),
        VoteOutcome::StateLost,
        "a vote on lost state is not a vote on a closed question"
    );
}

crate::both_stores!(
    a_shut_gate_says_when_it_opens,
    a_vote_in_an_ended_conference_has_no_audience,
    push_lock_is_released_only_by_its_holder,
    votes_after_expiry_are_refused_and_the_run_still_closes,
    confirming_an_old_run_keeps_the_open_rerun,
    presence_counts_users_once,
);
