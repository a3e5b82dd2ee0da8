//! Votes, their answers and the counts (§5; D18 check order, D19 no lost or phantom votes).

use std::sync::Arc;

use cucumber::{given, then, when};
use futures_util::future::join_all;
use lcr_protocol::event;
use rust_socketio::TransportType;
use serde_json::json;

use crate::actor::Actor;
use crate::fields::names;
use crate::world::{LiveWorld, StepResult};

#[given(regex = r#"^"([^"]+)" has voted "([^"]*)" on question "(q\d)"$"#)]
async fn voted(w: &mut LiveWorld, name: String, option: String, q: String) -> StepResult {
    w.vote(&name, &option, &q).await?;
    w.expect(&name, event::VOTE_ACCEPTED, &[]).await?;
    w.settle().await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" votes "([^"]*)" on question "(\w+)"$"#)]
async fn votes(w: &mut LiveWorld, name: String, option: String, q: String) -> StepResult {
    w.vote(&name, &option, &q).await
}

#[when(regex = r#"^(".+") vote "([^"]*)" on question "(\w+)" at once$"#)]
async fn votes_at_once(w: &mut LiveWorld, list: String, option: String, q: String) -> StepResult {
    let voters = names(&list);
    let sent = join_all(voters.iter().map(|v| w.vote(v, &option, &q))).await;
    sent.into_iter().collect()
}

#[when(regex = r#"^"([^"]+)" votes "([^"]*)" on the live question$"#)]
async fn votes_live(w: &mut LiveWorld, name: String, option: String) -> StepResult {
    w.vote(&name, &option, "q1").await
}

/// Connects `n` sockets of one user (`name#1`…), joined, and has each send `each` votes at once.
#[when(regex = r#"^"([^"]+)" sends (\d+) votes at once from (\d+) sockets on question "(\w+)"$"#)]
async fn many_votes(
    w: &mut LiveWorld,
    name: String,
    total: usize,
    sockets: usize,
    q: String,
) -> StepResult {
    let mut socket_names = Vec::new();
    for i in 1..=sockets {
        let s = format!("{name}#{i}");
        w.join(&s).await?;
        socket_names.push(s);
    }
    let (cid, qid) = (w.conference(), w.question(&q));
    let per = total.div_ceil(sockets);
    let actors: Vec<&Actor> = socket_names
        .iter()
        .map(|s| w.actor(s))
        .collect::<Result<_, _>>()?;
    let sent = join_all(actors.iter().enumerate().map(|(i, a)| {
        let (cid, qid) = (cid.clone(), qid.clone());
        async move {
            for k in 0..per {
                let option = ["A", "B", "C", "D"][(i + k) % 4];
                a.emit(
                    event::VOTE_SUBMIT,
                    Some(
                        json!({ "conferenceId": cid, "questionId": qid, "selectedOption": option }),
                    ),
                )
                .await?;
            }
            Ok::<usize, String>(per)
        }
    }))
    .await;
    let sent: usize = sent
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .sum();
    collect_answers(w, &socket_names, sent).await
}

/// Waits until `expected` vote answers arrived over `sockets` and counts them in the tally.
async fn collect_answers(w: &mut LiveWorld, sockets: &[String], expected: usize) -> StepResult {
    let deadline = tokio::time::Instant::now() + w.target.wait;
    loop {
        let answered: usize = sockets
            .iter()
            .filter_map(|s| w.actors.get(s))
            .map(|a| a.all(event::VOTE_ACCEPTED).len() + a.all(event::VOTE_REJECTED).len())
            .sum();
        if answered >= expected || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let answered: usize = sockets
        .iter()
        .filter_map(|s| w.actors.get(s))
        .map(|a| a.all(event::VOTE_ACCEPTED).len() + a.all(event::VOTE_REJECTED).len())
        .sum();
    if answered < expected {
        return Err(format!(
            "only {answered} of {expected} votes were answered (D19: every vote is accepted or rejected)"
        ));
    }
    for s in sockets {
        let (accepted, rejected) = {
            let a = w.actor(s)?;
            (a.all(event::VOTE_ACCEPTED), a.all(event::VOTE_REJECTED))
        };
        for acc in accepted {
            w.tally.accepted += 1;
            let option = acc["selectedOption"].as_str().unwrap_or("?").to_owned();
            *w.tally.per_option.entry(option).or_default() += 1;
        }
        for rej in rejected {
            *w.tally
                .rejected
                .entry(rej["reason"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }
    }
    Ok(())
}

#[when(regex = r#"^(\d+) audience members vote on question "(\w+)" while "([^"]+)" closes it$"#)]
async fn race_close(w: &mut LiveWorld, n: usize, q: String, host: String) -> StepResult {
    let voters: Vec<String> = (0..n).map(|i| format!("voter{i}")).collect();
    for chunk in voters.chunks(50) {
        let url = w.target.url().to_owned();
        let path = w.target.path().to_owned();
        let wait = w.target.wait;
        let mut credentials = Vec::new();
        for name in chunk {
            credentials.push(w.credentials(name).await?);
        }
        let connected = join_all(chunk.iter().zip(credentials).map(|(name, credentials)| {
            let (url, path, user) = (url.clone(), path.clone(), w.user(name));
            async move {
                Actor::connect(
                    (&url, &path),
                    name,
                    &user,
                    credentials,
                    TransportType::Websocket,
                    wait,
                )
                .await
            }
        }))
        .await;
        for a in connected {
            w.actors.insert(a.name.clone(), a);
        }
    }
    let cid = w.conference();
    for v in &voters {
        w.emit(
            v,
            event::CONFERENCE_JOIN,
            Some(json!({ "conferenceId": cid })),
        )
        .await?;
    }
    for v in &voters {
        w.expect(v, event::CONFERENCE_JOINED, &[]).await?;
    }
    let qid = w.question(&q);
    let start = Arc::new(tokio::sync::Barrier::new(voters.len() + 1));
    let voting = join_all(voters.iter().enumerate().map(|(i, v)| {
        let (start, cid, qid) = (start.clone(), cid.clone(), qid.clone());
        let actor = w.actor(v);
        async move {
            let a = actor?;
            let option = ["A", "B", "C", "D"][i % 4];
            start.wait().await;
            a.emit(
                event::VOTE_SUBMIT,
                Some(json!({ "conferenceId": cid, "questionId": qid, "selectedOption": option })),
            )
            .await
        }
    }));
    let closing = async {
        start.wait().await;
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        w.emit(
            &host,
            event::QUESTION_CLOSE,
            Some(json!({ "conferenceId": cid, "questionId": qid })),
        )
        .await
    };
    let (sent, closed) = tokio::join!(voting, closing);
    closed?;
    sent.into_iter().collect::<Result<Vec<_>, _>>()?;
    collect_answers(w, &voters, voters.len()).await
}

#[then(
    regex = r#"^"([^"]+)" receives vote:rejected because (duplicate|question_closed|invalid_option|not_audience)$"#
)]
async fn rejected(w: &mut LiveWorld, name: String, reason: String) -> StepResult {
    w.expect(
        &name,
        event::VOTE_REJECTED,
        &[("reason".into(), json!(reason))],
    )
    .await
    .map(drop)
}

#[then(regex = r#"^exactly (\d+) votes? (?:is|are) accepted and (\d+) rejected as (\w+)$"#)]
async fn exactly(w: &mut LiveWorld, accepted: u64, rejected: u64, reason: String) -> StepResult {
    let got_rejected = w.tally.rejected.get(&reason).copied().unwrap_or(0);
    if w.tally.accepted == accepted && got_rejected == rejected {
        Ok(())
    } else {
        Err(format!(
            "expected {accepted} accepted and {rejected} {reason}; got {} accepted, rejected {:?}",
            w.tally.accepted, w.tally.rejected
        ))
    }
}

#[then(regex = r#"^"([^"]+)" receives a final result that counts exactly the accepted votes$"#)]
async fn final_counts_accepted(w: &mut LiveWorld, name: String) -> StepResult {
    let fin = w.expect(&name, event::VOTE_FINAL_RESULT, &[]).await?;
    let mut want = json!({"A": 0, "B": 0, "C": 0, "D": 0});
    for (k, v) in &w.tally.per_option {
        want[k] = json!(v);
    }
    if fin["totalVotes"] == json!(w.tally.accepted) && fin["optionCounts"] == want {
        Ok(())
    } else {
        Err(format!(
            "D19: accepted {} ({:?}) but final result {fin}",
            w.tally.accepted, w.tally.per_option
        ))
    }
}
