//! `@mongo` (D23): the catalog comes from MongoDB's collections and final results land in
//! `conferencequestionanalytics`; an outage delays them and loses none.

use std::time::Duration;

use cucumber::{given, then, when};
use lcr_testkit::conference;
use mongodb::bson::{Bson, Document, doc};
use reference_server::mongo::{ANALYTICS, CONFERENCES, MongoDb, QUESTIONS};
use serde_json::Value;

use crate::world::{LiveWorld, QUESTIONS as STANDARD, StepResult};

fn mongo(w: &LiveWorld) -> Result<&MongoDb, String> {
    w.target
        .mongo
        .as_ref()
        .ok_or_else(|| "@mongo scenario without --mongo-url".to_owned())
}

fn number(d: &Document, key: &str) -> Option<i64> {
    match d.get(key)? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}

#[given(regex = r#"^an active conference stored in MongoDB with host "([^"]+)"$"#)]
async fn stored(w: &mut LiveWorld, host: String) -> StepResult {
    let db = mongo(w)?.clone();
    let cid = w.conference();
    w.host = Some(host.clone());
    db.collection(CONFERENCES)
        .insert_one(doc! {
            "_id": &cid, "title": format!("Conference {cid}"), "hostId": w.user(&host),
            "ownerModel": "User", "status": "ACTIVE", "publicCode": reference_server::catalog::public_code(&cid),
        })
        .await
        .map_err(|e| format!("mongodb: {e}"))?;
    for (order, (q, correct)) in STANDARD.iter().enumerate() {
        let options = mongodb::bson::to_bson(&conference::options())
            .map_err(|e| format!("the standard options as BSON: {e}"))?;
        db.collection(QUESTIONS)
            .insert_one(doc! {
                "_id": w.question(q), "conferenceId": &cid, "order": order as i32,
                "isLive": false, "questionText": conference::question_text(q), "options": options,
                "correctOption": *correct, "status": "IDLE", "createdByRole": "HOST",
            })
            .await
            .map_err(|e| format!("mongodb: {e}"))?;
    }
    Ok(())
}

#[given(regex = r#"^MongoDB is down$"#)]
#[when(regex = r#"^MongoDB goes down$"#)]
async fn down(w: &mut LiveWorld) -> StepResult {
    w.target.controls.mongo_down().await?;
    w.mongo_down = true;
    Ok(())
}

#[when(regex = r#"^MongoDB is back$"#)]
async fn back(w: &mut LiveWorld) -> StepResult {
    w.target.controls.mongo_up().await?;
    w.mongo_down = false;
    Ok(())
}

/// The analytics document of `q`, waiting up to `secs`.
async fn analytics(w: &LiveWorld, q: &str, secs: u64) -> Result<Document, String> {
    let db = mongo(w)?;
    let filter = doc! {"conferenceId": w.conference(), "questionId": w.question(q)};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut last_error = String::new();
    loop {
        match db.collection(ANALYTICS).find_one(filter.clone()).await {
            Ok(Some(d)) => return Ok(d),
            Ok(None) => {}
            Err(e) => last_error = e.to_string(),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "no {ANALYTICS} document for {} within {secs} s {last_error}",
                w.question(q)
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[then(
    regex = r#"^within (\d+) seconds MongoDB holds the final result of question "(\w+)" that "([^"]+)" received$"#
)]
async fn holds_final(w: &mut LiveWorld, secs: String, q: String, name: String) -> StepResult {
    let secs: u64 = secs.parse().map_err(|e| format!("{e}"))?;
    let qid = w.question(&q);
    let finals: Vec<Value> = w
        .actor(&name)?
        .all(lcr_protocol::event::VOTE_FINAL_RESULT)
        .into_iter()
        .filter(|f| f["questionId"] == qid.as_str())
        .collect();
    let last = finals
        .last()
        .ok_or(format!("{name} received no final result of {q}"))?
        .clone();
    // Poll until the document matches: an earlier run's document may be there first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let d = analytics(w, &q, secs).await?;
        let problems = differences(&d, &last);
        if problems.is_empty() {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "{ANALYTICS} for {q} differs from the final result: {}",
                problems.join("; ")
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn differences(d: &Document, last: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if number(d, "totalResponses") != last["totalVotes"].as_i64() {
        problems.push(format!(
            "totalResponses {:?} ≠ totalVotes {}",
            d.get("totalResponses"),
            last["totalVotes"]
        ));
    }
    if number(d, "correctCount") != last["correctCount"].as_i64() {
        problems.push(format!(
            "correctCount {:?} ≠ {}",
            d.get("correctCount"),
            last["correctCount"]
        ));
    }
    match d.get_document("optionCounts") {
        Ok(counts) => {
            for (key, want) in last["optionCounts"].as_object().into_iter().flatten() {
                if number(counts, key) != want.as_i64() {
                    problems.push(format!("optionCounts.{key} {:?} ≠ {want}", counts.get(key)));
                }
            }
        }
        Err(e) => problems.push(format!("optionCounts: {e}")),
    }
    for field in [
        "percentageBreakdown",
        "startedAt",
        "closedAt",
        "lastUpdated",
    ] {
        if d.get(field).is_none() {
            problems.push(format!("no {field} (D23)"));
        }
    }
    problems
}

#[then(regex = r#"^MongoDB holds one result document for question "(\w+)"$"#)]
async fn one_document(w: &mut LiveWorld, q: String) -> StepResult {
    analytics(w, &q, 10).await?;
    let n = mongo(w)?
        .collection(ANALYTICS)
        .count_documents(doc! {"conferenceId": w.conference(), "questionId": w.question(&q)})
        .await
        .map_err(|e| format!("mongodb: {e}"))?;
    if n == 1 {
        Ok(())
    } else {
        Err(format!(
            "{n} documents for {q}, expected 1 (idempotent writes)"
        ))
    }
}
