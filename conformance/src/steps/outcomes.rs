//! Then: what each actor must, and must not, receive.

use cucumber::gherkin::Step;
use cucumber::{then, when};
use lcr_protocol::event;
use serde_json::{Value, json};

use crate::steps::setup::names;
use crate::world::{LiveWorld, StepResult, lookup, matches, parse_fields};

#[when(regex = r#"^(".+") (?:receives?) ([a-z_:]+)(?: with (.+))?$"#)]
#[then(regex = r#"^(".+") (?:receives?) ([a-z_:]+)(?: with (.+))?$"#)]
async fn receives(w: &mut LiveWorld, list: String, event: String, fields: String) -> StepResult {
    let fields = parse_fields(&fields)?;
    for name in names(&list) {
        w.expect(&name, &event, &fields).await?;
    }
    Ok(())
}

#[then(regex = r#"^"([^"]+)" receives ([a-z_:]+) matching:$"#)]
async fn receives_doc(w: &mut LiveWorld, name: String, event: String, step: &Step) -> StepResult {
    let text = w.resolve(
        step.docstring
            .as_deref()
            .ok_or("a JSON docstring is needed")?,
    );
    let want: Value = serde_json::from_str(&text).map_err(|e| format!("docstring: {e}"))?;
    let got = w.expect(&name, &event, &[]).await?;
    if matches(Some(&got), &want) {
        Ok(())
    } else {
        Err(format!(
            "{name} received {event} {got}\nexpected it to contain {want}"
        ))
    }
}

#[then(regex = r#"^(".+") (?:does|do) not receive ([a-z_:]+)$"#)]
async fn receives_not(w: &mut LiveWorld, list: String, event: String) -> StepResult {
    for name in names(&list) {
        w.expect_none(&name, &event).await?;
    }
    w.no_violations()
}

#[then(regex = r#"^"([^"]+)" does not receive ([a-z_:]+) for (\d+) seconds$"#)]
async fn receives_not_for(w: &mut LiveWorld, name: String, event: String, secs: u64) -> StepResult {
    let actor = w.actor(&name)?;
    match actor
        .take_after_seen(&event, std::time::Duration::from_secs(secs))
        .await
    {
        None => w.no_violations(),
        Some(v) => Err(format!(
            "{name} must not receive {event} for {secs} s, but received {v}"
        )),
    }
}

#[then(regex = r#"^"([^"]+)" received the timer updates about one second apart$"#)]
async fn ticks_apart(w: &mut LiveWorld, name: String) -> StepResult {
    // D16: ticks at startedAt + k·1000 ms. Receipt times carry the network and scheduling jitter
    // of the machine, so the check allows half a second either way.
    let ticks = w.actor(&name)?.all_timed(event::QUESTION_TIMER_UPDATE);
    if ticks.len() < 2 {
        return Err(format!(
            "{name} received {} timer updates, need at least 2",
            ticks.len()
        ));
    }
    for pair in ticks.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        if !(500..=1500).contains(&gap) {
            return Err(format!(
                "timer updates {} and {} arrived {gap} ms apart (D16: 1000 ms)",
                pair[0].1, pair[1].1
            ));
        }
    }
    Ok(())
}

#[then(regex = r#"^"([^"]+)" received question:closed within (\d+) seconds? after expiresAt$"#)]
async fn closed_on_time(w: &mut LiveWorld, name: String, secs: i64) -> StepResult {
    let actor = w.actor(&name)?;
    let (at, closed) = actor
        .all_timed(event::QUESTION_CLOSED)
        .into_iter()
        .last()
        .ok_or_else(|| format!("{name} got no question:closed"))?;
    let live = actor
        .all(event::QUESTION_LIVE)
        .into_iter()
        .find(|l| l["questionId"] == closed["questionId"])
        .ok_or_else(|| format!("{name} got no question:live for {closed}"))?;
    let expires = live["expiresAt"].as_i64().unwrap_or(0);
    if at >= expires - 200 && at <= expires + secs * 1000 {
        Ok(())
    } else {
        Err(format!(
            "question:closed arrived {} ms after expiresAt (D16: within 1 s)",
            at - expires
        ))
    }
}

#[when(regex = r#"^"([^"]+)" receives error ([A-Z_]+)(?: for ([a-z_:]+))?$"#)]
#[then(regex = r#"^"([^"]+)" receives error ([A-Z_]+)(?: for ([a-z_:]+))?$"#)]
async fn receives_error(w: &mut LiveWorld, name: String, code: String, on: String) -> StepResult {
    let mut fields = vec![("code".to_owned(), json!(code))];
    if !on.is_empty() {
        fields.push(("context.event".to_owned(), json!(on)));
    }
    let e = w.expect(&name, event::ERROR, &fields).await?;
    for required in ["message", "timestamp", "context.event"] {
        if lookup(&e, required).is_none_or(|v| v.is_null() || v == "") {
            return Err(format!("error {e} lacks {required} (D5)"));
        }
    }
    Ok(())
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

#[then(regex = r#"^"([^"]+)" receives ([a-z_:]+) and then ([a-z_:]+)$"#)]
async fn in_order(w: &mut LiveWorld, name: String, first: String, second: String) -> StepResult {
    let actor = w.actor(&name)?;
    let deadline = tokio::time::Instant::now() + w.target.wait;
    while actor.all(&second).is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let order: Vec<String> = actor.inbox.transcript();
    let is = |l: &String, e: &str| l.trim_start_matches('*').split(' ').next() == Some(e);
    let after_first = order
        .iter()
        .position(|l| is(l, &first))
        .is_some_and(|a| order[a..].iter().any(|l| is(l, &second)));
    if after_first {
        Ok(())
    } else {
        Err(format!(
            "{name} must receive {first} and then {second}; received:\n  {}",
            order.join("\n  ")
        ))
    }
}

#[then(regex = r#"^within (\d+) seconds "([^"]+)" receives ([a-z_:]+)(?: with (.+))?$"#)]
async fn within(
    w: &mut LiveWorld,
    secs: u64,
    name: String,
    event: String,
    fields: String,
) -> StepResult {
    let want = w.wanted(&fields)?;
    let actor = w.actor(&name)?;
    actor
        .take(&event, std::time::Duration::from_secs(secs), |d| {
            want.iter().all(|(p, v)| matches(lookup(d, p), v))
        })
        .await
        .map(drop)
        .ok_or_else(|| {
            format!(
                "{name} did not receive {event} within {secs} s; received:\n  {}",
                actor.inbox.transcript().join("\n  ")
            )
        })
}

#[then(regex = r#"^"([^"]+)" receives at least (\d+) ([a-z_:]+) within (\d+) seconds$"#)]
async fn at_least(
    w: &mut LiveWorld,
    name: String,
    n: usize,
    event: String,
    secs: u64,
) -> StepResult {
    let actor = w.actor(&name)?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut got = 0;
    while got < n {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if actor.take(&event, left, |_| true).await.is_none() {
            return Err(format!(
                "{name} received {got} {event} in {secs} s, expected at least {n}"
            ));
        }
        got += 1;
    }
    Ok(())
}

#[then(regex = r#"^"([^"]+)" received fewer than (\d+) ([a-z_:]+)$"#)]
async fn fewer(w: &mut LiveWorld, name: String, n: usize, event: String) -> StepResult {
    tokio::time::sleep(w.target.quiet).await;
    let got = w.actor(&name)?.all(&event).len();
    if got < n {
        Ok(())
    } else {
        Err(format!(
            "{name} received {got} {event}, expected fewer than {n} (coalescing)"
        ))
    }
}

#[then(regex = r#"^"([^"]+)" received (\d+) ([a-z_:]+)$"#)]
async fn exactly_n(w: &mut LiveWorld, name: String, n: usize, event: String) -> StepResult {
    let actor = w.actor(&name)?;
    let deadline = tokio::time::Instant::now() + w.target.wait;
    while actor.all(&event).len() < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(w.target.quiet).await;
    let got = actor.all(&event).len();
    if got == n {
        Ok(())
    } else {
        Err(format!(
            "{name} received {got} {event}, expected exactly {n}"
        ))
    }
}

#[then(regex = r#"^"([^"]+)" received an error with (.+)$"#)]
async fn error_with(w: &mut LiveWorld, name: String, fields: String) -> StepResult {
    let want = w.wanted(&fields)?;
    let errors = w.actor(&name)?.all(event::ERROR);
    if errors
        .iter()
        .any(|e| want.iter().all(|(p, v)| matches(lookup(e, p), v)))
    {
        Ok(())
    } else {
        Err(format!(
            "no error of {name} has {want:?}; errors: {errors:?}"
        ))
    }
}

#[then(
    regex = r#"^every question:timer_update "([^"]+)" received has the expiresAt of its question:live$"#
)]
async fn timer_expires(w: &mut LiveWorld, name: String) -> StepResult {
    let actor = w.actor(&name)?;
    let live = actor.all(event::QUESTION_LIVE);
    let ticks = actor.all(event::QUESTION_TIMER_UPDATE);
    if ticks.is_empty() {
        return Err(format!("{name} received no question:timer_update"));
    }
    for t in ticks {
        let question = live
            .iter()
            .find(|l| l["questionId"] == t["questionId"])
            .ok_or_else(|| format!("{t} has no question:live"))?;
        if t["expiresAt"] != question["expiresAt"] {
            return Err(format!(
                "timer update {t} vs question:live {question} (D16)"
            ));
        }
    }
    Ok(())
}

#[then(regex = r#"^"([^"]+)" receives question:timer_update counting down from (\d+) to 1$"#)]
async fn countdown(w: &mut LiveWorld, name: String, from: u32) -> StepResult {
    for remaining in (1..=from).rev() {
        w.expect(
            &name,
            event::QUESTION_TIMER_UPDATE,
            &[("timeRemaining".into(), json!(remaining))],
        )
        .await?;
    }
    Ok(())
}

#[then(regex = r#"^the connection of "([^"]+)" is refused with ([A-Z_]+)$"#)]
async fn refused(w: &mut LiveWorld, name: String, code: String) -> StepResult {
    let actor = w.actor(&name)?;
    if actor.is_connected() {
        return Err(format!(
            "{name} was accepted; expected connect_error {code} (D2)"
        ));
    }
    let data = actor
        .connect_error()
        .ok_or_else(|| format!("{name} got no connect_error"))?;
    if data["data"]["code"] == code.as_str() && data["message"].is_string() {
        Ok(())
    } else {
        Err(format!(
            "connect_error {data}: expected data.code {code} and a message (D2)"
        ))
    }
}

#[then(regex = r#"^"([^"]+)" is connected$"#)]
async fn is_connected(w: &mut LiveWorld, name: String) -> StepResult {
    let actor = w.actor(&name)?;
    if actor.is_connected() {
        Ok(())
    } else {
        Err(format!(
            "{name} is not connected: {:?}",
            actor.connect_error()
        ))
    }
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

#[then(regex = r#"^the Control API answers (\d+)(?: with error "([A-Z_]+)")?$"#)]
async fn api_answers(w: &mut LiveWorld, status: u16, code: String) -> StepResult {
    let (got, body) = w.last_http.clone().ok_or("no Control API call was made")?;
    if got != status {
        return Err(format!(
            "Control API answered {got} {body}, expected {status}"
        ));
    }
    if status >= 400 {
        if body["message"].as_str().is_none_or(str::is_empty) {
            return Err(format!("a {status} must carry a message: {body}"));
        }
        if !code.is_empty() && body["error"] != code.as_str() {
            return Err(format!("expected error {code}, got {body}"));
        }
    }
    Ok(())
}

#[then(regex = r#"^the Control API answer has (.+)$"#)]
async fn api_body(w: &mut LiveWorld, fields: String) -> StepResult {
    let (_, body) = w.last_http.clone().ok_or("no Control API call was made")?;
    for (path, want) in w.wanted(&fields)? {
        if !matches(lookup(&body, &path), &want) {
            return Err(format!("Control API answer {body}: {path} is not {want}"));
        }
    }
    Ok(())
}

#[then(regex = r#"^no actor received a malformed or leaking message$"#)]
async fn clean(w: &mut LiveWorld) -> StepResult {
    w.no_violations()
}
