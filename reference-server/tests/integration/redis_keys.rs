//! Spec §2: after each step of the lifecycle the keys exist with the right types and TTLs, and
//! are cleaned up as §4.3 says, after the results are written.

use lcr_protocol::event;

use crate::harness::*;

struct Keys<'a>(&'a RedisProcess);

impl Keys<'_> {
    fn kind(&self, key: &str) -> String {
        self.0.cli(&["TYPE", key])
    }
    fn ttl(&self, key: &str) -> i64 {
        self.0.cli(&["TTL", key]).parse().unwrap()
    }
    fn expect(&self, key: &str, kind: &str, ttl: impl Fn(i64) -> bool, what: &str) {
        assert_eq!(self.kind(key), kind, "{key} type");
        let t = self.ttl(key);
        assert!(ttl(t), "{key} TTL {t}: expected {what}");
    }
    fn absent(&self, key: &str) {
        assert_eq!(self.kind(key), "none", "{key} must not exist");
    }
    fn get(&self, key: &str) -> String {
        self.0.cli(&["GET", key])
    }
    fn hget(&self, key: &str, field: &str) -> String {
        self.0.cli(&["HGET", key, field])
    }
    fn members(&self, key: &str) -> Vec<String> {
        let mut m: Vec<String> = self
            .0
            .cli(&["SMEMBERS", key])
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect();
        m.sort();
        m
    }
}

const NONE: fn(i64) -> bool = |t| t == -1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_follow_the_lifecycle() {
    let env = Env::start(Store::Redis).await;
    let keys = Keys(env.redis.as_ref().unwrap());
    let cid = env
        .conference("hana", lcr_protocol::ConferenceStatus::Draft)
        .await;
    let c = |s: &str| format!("conference:{cid}:{s}");

    // Created (DRAFT): host key, no status key (§2.6, §2.1).
    keys.expect(&c("host"), "string", NONE, "no TTL");
    assert_eq!(keys.get(&c("host")), "hana");
    keys.absent(&c("status"));

    env.activate(&cid).await;
    keys.expect(&c("status"), "string", NONE, "no TTL");
    assert_eq!(keys.get(&c("status")), "ACTIVE");

    // Join (§2.5).
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    keys.expect(&c("audience"), "set", NONE, "no TTL");
    assert_eq!(
        keys.members(&c("audience")),
        ["alex"],
        "the host is not audience (D9)"
    );
    keys.expect(
        &c("audience:count"),
        "string",
        |t| (1..=10).contains(&t),
        "10 s",
    );
    assert_eq!(keys.get(&c("audience:count")), "1");
    keys.expect("user:alex:conferences", "set", NONE, "no TTL");
    assert_eq!(
        keys.members("user:alex:conferences"),
        std::slice::from_ref(&cid)
    );
    assert_eq!(
        keys.members("user:hana:conferences"),
        std::slice::from_ref(&cid)
    );

    // Push live (§2.1, §2.2, §2.3, §2.4, §2.7).
    hana.push(&cid, "q1", Some(30));
    alex.expect(event::QUESTION_LIVE).await;
    keys.expect(
        &c("live_question"),
        "hash",
        |t| (25..=30).contains(&t),
        "the duration",
    );
    assert_eq!(keys.hget(&c("live_question"), "questionId"), "q1");
    assert_eq!(keys.hget(&c("live_question"), "duration"), "30");
    let started: i64 = keys.hget(&c("live_question"), "startedAt").parse().unwrap();
    let expires: i64 = keys.hget(&c("live_question"), "expiresAt").parse().unwrap();
    assert_eq!(expires - started, 30_000);
    keys.expect(
        "question:q1:timer",
        "hash",
        |t| (25..=30).contains(&t),
        "the duration",
    );
    assert_eq!(
        keys.hget("question:q1:timer", "startedAt"),
        started.to_string()
    );
    keys.expect(
        "question:q1:meta",
        "hash",
        |t| (3500..=3600).contains(&t),
        "1 hour",
    );
    assert_eq!(keys.hget("question:q1:meta", "conferenceId"), cid);
    assert_eq!(keys.hget("question:q1:meta", "correctOption"), "A");
    assert_eq!(keys.hget("question:q1:meta", "status"), "LIVE");
    let options: serde_json::Value =
        serde_json::from_str(&keys.hget("question:q1:meta", "options")).unwrap();
    assert_eq!(options[0]["key"], "A");
    keys.expect(
        "question:q1:votes:counts",
        "hash",
        |t| t > 3600 && t <= 3630,
        "1 hour after close",
    );
    assert_eq!(keys.hget("question:q1:votes:counts", "total"), "0");
    assert_eq!(keys.hget("question:q1:votes:counts", "D"), "0");
    keys.expect(
        "question:q1:votes:correct",
        "string",
        |t| t > 3600 && t <= 3630,
        "1 hour after close",
    );
    keys.absent(&c("lock:push_question"));

    // Vote (§2.3, §2.7).
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    keys.expect(
        "question:q1:votes:users",
        "set",
        |t| t > 3600 && t <= 3630,
        "1 hour after close",
    );
    assert_eq!(keys.members("question:q1:votes:users"), ["alex"]);
    assert_eq!(keys.hget("question:q1:votes:counts", "total"), "1");
    assert_eq!(keys.hget("question:q1:votes:counts", "A"), "1");
    assert_eq!(keys.get("question:q1:votes:correct"), "1");
    keys.absent("question:q1:lock:vote:alex");

    // Close (§4.3): live question and timer go at once, vote keys once the result is written.
    hana.close_question(&cid, "q1");
    alex.expect(event::VOTE_FINAL_RESULT).await;
    keys.absent(&c("live_question"));
    keys.absent("question:q1:timer");
    assert_eq!(keys.hget("question:q1:meta", "status"), "CLOSED");
    crate::questions::wait_for_results(&env, 1).await;
    for _ in 0..100 {
        if keys.kind("question:q1:votes:counts") == "none" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    keys.absent("question:q1:votes:counts");
    keys.absent("question:q1:votes:users");
    keys.absent("question:q1:votes:correct");
    keys.absent("results:pending");

    // Leave (§7.2).
    alex.emit(
        event::CONFERENCE_LEAVE,
        serde_json::json!({"conferenceId": cid}),
    );
    alex.expect(event::CONFERENCE_LEFT).await;
    assert!(keys.members(&c("audience")).is_empty());
    keys.absent("user:alex:conferences");

    // End (§2.5: presence deleted on conference end).
    let (_bo, _) = env.joined("bo", &cid).await;
    env.end(&cid).await;
    assert_eq!(keys.get(&c("status")), "ENDED");
    keys.absent(&c("audience"));
    keys.absent(&c("audience:count"));
    keys.absent("user:bo:conferences");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_whose_live_key_expired_still_closes_with_its_votes() {
    // The live question key's TTL is the duration: Redis itself refuses votes after expiresAt,
    // and the timer's close still finds the frozen counts.
    let env = Env::start(Store::Redis).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    hana.push(&cid, "q2", Some(1));
    alex.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q2", "B");
    alex.expect(event::VOTE_ACCEPTED).await;
    let fin = alex.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(fin["totalVotes"], 1);
    assert_eq!(fin["correctCount"], 1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_pending_at_shutdown_survive_a_restart() {
    // D23: a result frozen in Redis but not yet written is written by the next server.
    let redis = RedisProcess::start();
    let file = std::env::temp_dir().join(format!("lcr-restart-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&file);
    redis.cli(&[
        "HSET", "results:pending", "c9:q9:1000",
        r#"{"conferenceId":"c9","questionId":"q9","startedAt":"1000","closedAt":"2000","reason":"timeout","counts":["total","3","A","2","B","1"],"correct":"2","options":"[{\"key\":\"A\",\"text\":\"a\"},{\"key\":\"B\",\"text\":\"b\"}]","correctOption":"A"}"#,
    ]);
    let mut config = reference_server::ServerConfig::embedded(JWT_SECRET, ADMIN_TOKEN);
    config.store = reference_server::StoreConfig::Redis {
        url: redis.url(),
        pool_size: 2,
    };
    config.results_file = file.clone();
    let server = reference_server::start(config).await.unwrap();
    let mut written = String::new();
    for _ in 0..100 {
        written = std::fs::read_to_string(&file).unwrap_or_default();
        if !written.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let rec: serde_json::Value =
        serde_json::from_str(written.lines().next().expect("written")).unwrap();
    assert_eq!(rec["totalResponses"], 3);
    assert_eq!(rec["optionCounts"], serde_json::json!({"A": 2, "B": 1}));
    assert_eq!(
        rec["percentageBreakdown"],
        serde_json::json!({"A": 66.67, "B": 33.33})
    );
    assert_eq!(rec["correctCount"], 2);
    server.shutdown().await;
    assert_eq!(redis.cli(&["EXISTS", "results:pending"]), "0");
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_key_lost_early_still_closes_the_question_at_its_expiry_with_its_votes() {
    let env = Env::start(Store::Redis).await;
    let redis = env.redis.as_ref().unwrap();
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut alex, _) = env.joined("alex", &cid).await;
    hana.push(&cid, "q3", Some(4));
    alex.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q3", "C");
    alex.expect(event::VOTE_ACCEPTED).await;
    // The key disappears long before expiresAt (eviction, or a clock ahead): the countdown,
    // whose ticks are claimed on the run itself, goes on, and the close still comes.
    redis.cli(&["DEL", "question:q3:timer"]);
    let tick = alex.expect(event::QUESTION_TIMER_UPDATE).await;
    assert!(tick["timeRemaining"].as_u64().is_some(), "{tick}");
    let closed = alex.expect(event::QUESTION_CLOSED).await;
    assert_eq!(closed["reason"], "timeout");
    let fin = alex.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(fin["totalVotes"], 1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_recovers_when_redis_restarts() {
    // The catalog in MongoDB, the source of truth (a Redis-only catalog would be as durable
    // as that Redis).
    let mut env = Env::start_full(Store::Redis, true, |_| {}).await;
    let cid = env.active_conference("hana").await;
    let (_hana, _) = env.joined("hana", &cid).await;
    env.redis.as_mut().unwrap().restart();
    // A restarted Redis is empty: the conference comes back from the catalog, the scripts are
    // loaded again, the connection pool and the Socket.IO adapter reconnect by themselves.
    let mut ready = 0;
    for _ in 0..100 {
        ready = env.http("GET", "/ready", None, None).await.0;
        if ready == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(ready, 200, "/ready after the restart");
    let (mut alex, joined) = env.joined("alex", &cid).await;
    assert_eq!(
        joined["conferenceStatus"], "ACTIVE",
        "the status comes back from the catalog: {joined}"
    );
    let (hana2, _) = env.joined("hana", &cid).await;
    hana2.push(&cid, "q1", Some(30));
    alex.expect(event::QUESTION_LIVE).await;
    alex.vote(&cid, "q1", "A");
    alex.expect(event::VOTE_ACCEPTED).await;
    env.shutdown().await;
}
