//! What actors receive (any event, with fields, in order, within a time, how many), and raw
//! events they send (any payload, well-formed or not).

use cucumber::gherkin::Step;
use cucumber::{then, when};
use serde_json::{Value, json};

use crate::fields::{expand_repeats, lookup, matches, names, parse_fields};
use crate::world::{LiveWorld, StepResult};

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

#[when(regex = r#"^"([^"]+)" sends (\d+) ([a-z_:]+) events in a row$"#)]
async fn floods(w: &mut LiveWorld, name: String, n: usize, event: String) -> StepResult {
    let cid = w.conference();
    for _ in 0..n {
        w.emit(&name, &event, Some(json!({ "conferenceId": cid })))
            .await?;
    }
    Ok(())
}

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

#[then(regex = r#"^no actor received a malformed or leaking message$"#)]
async fn clean(w: &mut LiveWorld) -> StepResult {
    w.no_violations()
}
