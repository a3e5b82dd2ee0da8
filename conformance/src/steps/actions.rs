//! When: what actors and the operator do.

use std::sync::Arc;

use cucumber::when;
use futures_util::future::join_all;
use lcr_protocol::token::{Claims, encode, unsigned};
use lcr_protocol::{ConferenceStatus, event};
use rust_socketio::TransportType;
use serde_json::{Value, json};

use crate::actor::{Actor, Credentials};
use crate::steps::setup::names;
use crate::world::{LiveWorld, StepResult};

fn exp_in(secs: i64) -> u64 {
    (lcr_protocol::now_millis() / 1000 + secs).max(0) as u64
}

#[when(regex = r#"^"([^"]+)" connects(?: with (.+))?$"#)]
async fn connects(w: &mut LiveWorld, name: String, how: String) -> StepResult {
    let secret = w.target.jwt_secret.clone();
    let user = w.user(&name);
    let claims = |user_id: Option<String>, sub: Option<String>, exp: u64| Claims {
        user_id,
        sub,
        account_type: Some("user".into()),
        exp,
    };
    let sign = |c: &Claims, key: &str| encode(key, c).unwrap_or_default();
    let (credentials, transport) = match how.as_str() {
        "" | "a valid token" => (Credentials::Token(w.token(&name)), TransportType::Websocket),
        "the polling transport" => (Credentials::Token(w.token(&name)), TransportType::Polling),
        "a token in the Authorization header" => (
            Credentials::Header(w.token(&name)),
            TransportType::Websocket,
        ),
        "a token whose user is in sub" => (
            Credentials::Token(sign(&claims(None, Some(user), exp_in(600)), &secret)),
            TransportType::Websocket,
        ),
        "an expired token" => (
            Credentials::Token(sign(&claims(Some(user), None, exp_in(-120)), &secret)),
            TransportType::Websocket,
        ),
        "a token signed with another secret" => (
            Credentials::Token(sign(
                &claims(Some(user), None, exp_in(600)),
                "not-the-secret",
            )),
            TransportType::Websocket,
        ),
        "an unsigned alg none token" => (
            Credentials::Token(unsigned(&claims(Some(user), None, exp_in(600)))),
            TransportType::Websocket,
        ),
        "a malformed token" => (
            Credentials::Token("not.a.jwt".into()),
            TransportType::Websocket,
        ),
        "a token without a user" => (
            Credentials::Token(sign(&claims(None, None, exp_in(600)), &secret)),
            TransportType::Websocket,
        ),
        "a token whose user id is invalid" => (
            Credentials::Token(sign(
                &claims(Some("no spaces allowed".into()), None, exp_in(600)),
                &secret,
            )),
            TransportType::Websocket,
        ),
        "no token" => (Credentials::Raw(None), TransportType::Websocket),
        "a token that is not a string" => (
            Credentials::Raw(Some(json!({"token": 12345}))),
            TransportType::Websocket,
        ),
        other => return Err(format!("unknown way to connect: {other}")),
    };
    w.connect_with(&name, credentials, transport).await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" joins the conference$"#)]
async fn joins(w: &mut LiveWorld, name: String) -> StepResult {
    if !w.actors.contains_key(&name) {
        w.connect(&name).await?;
    }
    let cid = w.conference();
    w.emit(
        &name,
        event::CONFERENCE_JOIN,
        Some(json!({ "conferenceId": cid })),
    )
    .await
}

#[when(regex = r#"^"([^"]+)" joins an unknown conference$"#)]
async fn joins_unknown(w: &mut LiveWorld, name: String) -> StepResult {
    let cid = format!("nowhere-{}", w.tag);
    w.emit(
        &name,
        event::CONFERENCE_JOIN,
        Some(json!({ "conferenceId": cid })),
    )
    .await
}

#[when(regex = r#"^"([^"]+)" leaves the conference$"#)]
async fn leaves(w: &mut LiveWorld, name: String) -> StepResult {
    let cid = w.conference();
    w.emit(
        &name,
        event::CONFERENCE_LEAVE,
        Some(json!({ "conferenceId": cid })),
    )
    .await
}

#[when(regex = r#"^"([^"]+)" disconnects$"#)]
async fn disconnects(w: &mut LiveWorld, name: String) -> StepResult {
    w.actor(&name)?.disconnect().await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" pushes question "(\w+)" live(?: for (\d+) seconds?)?$"#)]
async fn pushes(w: &mut LiveWorld, name: String, q: String, secs: String) -> StepResult {
    let mut payload = json!({ "conferenceId": w.conference(), "questionId": w.question(&q) });
    if !secs.is_empty() {
        payload["duration"] = json!(secs.parse::<u64>().map_err(|e| e.to_string())?);
    }
    w.emit(&name, event::QUESTION_PUSH_LIVE, Some(payload))
        .await
}

#[when(regex = r#"^"([^"]+)" pushes question "(\w+)" live with duration (.+)$"#)]
async fn pushes_duration(w: &mut LiveWorld, name: String, q: String, raw: String) -> StepResult {
    let duration: Value = serde_json::from_str(&raw).map_err(|e| format!("duration {raw}: {e}"))?;
    let payload = json!({ "conferenceId": w.conference(), "questionId": w.question(&q), "duration": duration });
    w.emit(&name, event::QUESTION_PUSH_LIVE, Some(payload))
        .await
}

#[when(regex = r#"^"([^"]+)" closes question "(\w+)"$"#)]
async fn closes(w: &mut LiveWorld, name: String, q: String) -> StepResult {
    let payload = json!({ "conferenceId": w.conference(), "questionId": w.question(&q) });
    w.emit(&name, event::QUESTION_CLOSE, Some(payload)).await
}

/// `name` votes `option` on logical question `q`.
pub async fn vote(w: &LiveWorld, name: &str, option: &str, q: &str) -> StepResult {
    let payload = json!({ "conferenceId": w.conference(), "questionId": w.question(q), "selectedOption": option });
    w.emit(name, event::VOTE_SUBMIT, Some(payload)).await
}

#[when(regex = r#"^"([^"]+)" votes "([^"]*)" on question "(\w+)"$"#)]
async fn votes(w: &mut LiveWorld, name: String, option: String, q: String) -> StepResult {
    vote(w, &name, &option, &q).await
}

#[when(regex = r#"^(".+") vote "([^"]*)" on question "(\w+)" at once$"#)]
async fn votes_at_once(w: &mut LiveWorld, list: String, option: String, q: String) -> StepResult {
    let voters = names(&list);
    let sent = join_all(voters.iter().map(|v| vote(w, v, &option, &q))).await;
    sent.into_iter().collect()
}

#[when(regex = r#"^"([^"]+)" votes "([^"]*)" on the live question$"#)]
async fn votes_live(w: &mut LiveWorld, name: String, option: String) -> StepResult {
    vote(w, &name, &option, "q1").await
}

#[when(regex = r#"^"([^"]+)" sends ([a-z_:]+) with (.+)$"#)]
async fn sends(w: &mut LiveWorld, name: String, event: String, raw: String) -> StepResult {
    if raw == "no payload" {
        return w.emit(&name, &event, None).await;
    }
    let text = w.resolve(&raw);
    let text = expand_repeats(&text);
    let payload: Value = serde_json::from_str(&text).map_err(|e| format!("payload {text}: {e}"))?;
    w.emit(&name, &event, Some(payload)).await
}

/// `"x"*65` in a payload stands for a string of 65 x's.
fn expand_repeats(text: &str) -> String {
    let mut out = text.to_owned();
    while let Some(star) = out.find("\"*") {
        let open = out[..star].rfind('"').unwrap_or(0);
        let digits: String = out[star + 2..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(n) = digits.parse::<usize>() else {
            break;
        };
        let unit = out[open + 1..star].to_owned();
        out.replace_range(
            open..star + 2 + digits.len(),
            &format!("\"{}\"", unit.repeat(n)),
        );
    }
    out
}

#[when(regex = r#"^"([^"]+)" sends (\d+) ([a-z_:]+) events in a row$"#)]
async fn floods(w: &mut LiveWorld, name: String, n: usize, event: String) -> StepResult {
    let cid = w.conference();
    for _ in 0..n {
        w.emit(&name, &event, Some(json!({ "conferenceId": cid })))
            .await?;
    }
    Ok(())
}

#[when(regex = r#"^the conference is (activated|ended)$"#)]
async fn status(w: &mut LiveWorld, what: String) -> StepResult {
    let status = if what == "activated" {
        ConferenceStatus::Active
    } else {
        ConferenceStatus::Ended
    };
    w.set_status(status).await
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
        let url = w.target.url.clone();
        let wait = w.target.wait;
        let connected = join_all(chunk.iter().map(|name| {
            let (url, user, token) = (url.clone(), w.user(name), w.token(name));
            async move {
                Actor::connect(
                    &url,
                    name,
                    &user,
                    Credentials::Token(token),
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

#[when(
    regex = r#"^the operator calls (PUT|POST|GET) (\S+) with (the admin token|no token|a wrong token)(?: and body (.+))?$"#
)]
async fn operator(
    w: &mut LiveWorld,
    method: String,
    path: String,
    token: String,
    body: String,
) -> StepResult {
    let path = w.resolve(&path);
    let admin = w.target.admin_token.clone();
    let token = match token.as_str() {
        "the admin token" => Some(admin.as_str()),
        "a wrong token" => Some("definitely-wrong"),
        _ => None,
    };
    let body = (!body.is_empty()).then(|| w.resolve(&body));
    w.admin(&method, &path, token, body).await
}

#[when(regex = r#"^(".+") (?:join|joins) the conference together$"#)]
async fn join_together(w: &mut LiveWorld, list: String) -> StepResult {
    for name in names(&list) {
        joins(w, name).await?;
    }
    Ok(())
}
