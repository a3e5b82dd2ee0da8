//! MongoDB as the source of truth (D23): the catalog comes from the existing backend's
//! collections (protocol §11), final results go to `conferencequestionanalytics`,
//! idempotently, and an outage delays them without losing them. Against a real MongoDB-wire server (`nx-27017`).

use std::sync::Arc;
use std::time::Duration;

use lcr_protocol::event;
use mongodb::bson::{Document, doc};
use reference_server::metrics::Histogram;
use reference_server::mongo::{ANALYTICS, CONFERENCES, MongoDb, QUESTIONS};

use crate::harness::{Env, Store};

async fn db(env: &Env) -> MongoDb {
    let url = env.mongo.as_ref().expect("mongo").url();
    MongoDb::connect(&url, "livepoll", Arc::new(Histogram::default()))
        .await
        .expect("mongo client")
}

async fn analytics(db: &MongoDb, cid: &str, qid: &str) -> Option<Document> {
    db.collection(ANALYTICS)
        .find_one(doc! {"conferenceId": cid, "questionId": qid})
        .await
        .ok()
        .flatten()
}

async fn wait_for_analytics(db: &MongoDb, cid: &str, qid: &str, within: Duration) -> Document {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(d) = analytics(db, cid, qid).await {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no analytics for {qid} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_and_results_live_in_mongodb() {
    let env = Env::start_full(Store::Redis, true, |_| {}).await;
    let db = db(&env).await;
    // A conference written straight into MongoDB, as the existing backend does.
    let cid = env.id("seeded");
    let qid = env.id("seeded-q");
    db.collection(CONFERENCES)
        .insert_one(doc! {"_id": &cid, "hostId": "hana", "status": "ACTIVE", "publicCode": "ABC123", "title": "Seeded"})
        .await
        .unwrap();
    db.collection(QUESTIONS)
        .insert_one(doc! {
            "_id": &qid, "conferenceId": &cid, "order": 0, "questionText": "Best?",
            "options": [{"key": "A", "text": "One"}, {"key": "B", "text": "Two"}],
            "correctOption": "B", "status": "IDLE", "isLive": false,
        })
        .await
        .unwrap();
    let (hana, joined) = env.joined("hana", &cid).await;
    assert_eq!(joined["role"], "HOST", "{joined}");
    let (mut ana, _) = env.joined("ana", &cid).await;
    hana.push(&cid, &qid, Some(30));
    let live = ana.expect(event::QUESTION_LIVE).await;
    assert_eq!(live["questionText"], "Best?");
    ana.vote(&cid, &qid, "b");
    assert_eq!(ana.expect(event::VOTE_ACCEPTED).await["isCorrect"], true);
    hana.close_question(&cid, &qid);
    let final_result = ana.expect(event::VOTE_FINAL_RESULT).await;
    let stored = wait_for_analytics(&db, &cid, &qid, Duration::from_secs(10)).await;
    assert_eq!(
        stored
            .get_i64("totalResponses")
            .ok()
            .or(stored.get_i32("totalResponses").ok().map(i64::from)),
        Some(1)
    );
    assert_eq!(final_result["optionCounts"]["B"], 1);
    assert_eq!(stored.get_str("correctOption").unwrap(), "B");
    // Writes through the Control API land in the same collections.
    let other = env.active_conference("hana").await;
    let found = db
        .collection(CONFERENCES)
        .find_one(doc! {"_id": &other})
        .await
        .unwrap()
        .expect("written");
    assert_eq!(found.get_str("status").unwrap(), "ACTIVE");
    assert_eq!(found.get_str("publicCode").unwrap().len(), 6);
    let questions = db
        .collection(QUESTIONS)
        .count_documents(doc! {"conferenceId": &other})
        .await
        .unwrap();
    assert!(questions >= 1);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mongodb_outage_delays_results_and_loses_none() {
    let mut env = Env::start_full(Store::Redis, true, |_| {}).await;
    let cid = env.active_conference("hana").await;
    let (hana, _) = env.joined("hana", &cid).await;
    let (mut ana, _) = env.joined("ana", &cid).await;
    hana.push(&cid, "q1", Some(30));
    let live = ana.expect(event::QUESTION_LIVE).await;
    let qid = live["questionId"].as_str().unwrap().to_owned();
    ana.vote(&cid, &qid, "A");
    ana.expect(event::VOTE_ACCEPTED).await;
    env.mongo.as_mut().unwrap().stop();
    hana.close_question(&cid, &qid);
    // Clients get the final result at once; the write waits for MongoDB.
    let final_result = ana.expect(event::VOTE_FINAL_RESULT).await;
    assert_eq!(final_result["totalVotes"], 1);
    let redis = env.redis.as_ref().unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pending = redis.cli(&["HLEN", "results:pending"]);
    assert_eq!(
        pending.trim(),
        "1",
        "the result waits in Redis while MongoDB is down"
    );
    let counts = redis.cli(&["EXISTS", &format!("question:{qid}:votes:counts")]);
    assert_eq!(
        counts.trim(),
        "1",
        "vote keys stay until the write is confirmed"
    );
    // MongoDB comes back (empty: the test server keeps data in memory); the result follows.
    env.mongo.as_mut().unwrap().restart();
    let db = db(&env).await;
    let stored = wait_for_analytics(&db, &cid, &qid, Duration::from_secs(40)).await;
    assert_eq!(stored.get_str("reason").unwrap(), "manual");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let pending = redis.cli(&["HLEN", "results:pending"]);
        let counts = redis.cli(&["EXISTS", &format!("question:{qid}:votes:counts")]);
        if pending.trim() == "0" && counts.trim() == "0" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pending {pending}, counts {counts}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_a_result_twice_keeps_one_document_and_the_newest_run() {
    use reference_server::results::{MongoSink, ResultSink};
    use reference_server::store::{FinalRecord, LiveRun, Tally};
    let env = Env::start_full(Store::Memory, true, |_| {}).await;
    let db = db(&env).await;
    let sink = MongoSink::new(db.clone());
    let record = |started_at: i64, total: u64| {
        let run = LiveRun {
            conference_id: "c-idem".into(),
            question_id: "q-idem".into(),
            started_at,
            expires_at: started_at + 1000,
            duration: 1,
        };
        let tally = Tally {
            total,
            counts: [("A".to_owned(), total), ("B".to_owned(), 0)].into(),
        };
        FinalRecord::new(
            &run,
            "A",
            tally,
            total,
            lcr_protocol::CloseReason::Timeout,
            started_at + 1000,
        )
    };
    sink.write(&record(1_000, 5)).await.unwrap();
    sink.write(&record(1_000, 5)).await.unwrap(); // a retry after an unconfirmed write
    sink.write(&record(2_000, 7)).await.unwrap(); // the question ran again
    sink.write(&record(1_000, 5)).await.unwrap(); // a late retry of the older run
    let n = db
        .collection(ANALYTICS)
        .count_documents(doc! {"questionId": "q-idem"})
        .await
        .unwrap();
    assert_eq!(n, 1);
    let d = analytics(&db, "c-idem", "q-idem").await.unwrap();
    let total = d
        .get_i64("totalResponses")
        .ok()
        .or(d.get_i32("totalResponses").ok().map(i64::from));
    assert_eq!(total, Some(7), "the newest run stays: {d}");
    env.shutdown().await;
}
