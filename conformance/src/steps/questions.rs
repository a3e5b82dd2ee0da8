//! Questions: pushing one live, closing it, and its countdown (§4.1–§4.3; D14–D17).
//!
//! Timing checks compare times of one clock: the server's own timestamps with each other, or
//! the suite's receipt times with each other, never one with the other, so a server whose clock
//! differs from the suite's machine is judged fairly.

use cucumber::{given, then, when};
use lcr_protocol::event;
use serde_json::{Value, json};

use crate::world::{LiveWorld, StepResult};

/// Receipt times carry the network's and the machines' scheduling jitter: a timing check allows
/// this much either way.
const JITTER_MS: i64 = 500;

fn seconds(raw: &str) -> Result<Option<Value>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<u64>()
        .map(|s| Some(json!(s)))
        .map_err(|e| format!("{raw}: {e}"))
}

#[given(regex = r#"^question "(q\d)" is live(?: for (\d+) seconds)?$"#)]
async fn live(w: &mut LiveWorld, q: String, secs: String) -> StepResult {
    let host = w.host.clone().ok_or("no conference yet")?;
    let payload = w.push_payload(&q, seconds(&secs)?);
    w.emit(&host, event::QUESTION_PUSH_LIVE, Some(payload))
        .await?;
    w.expect(
        &host,
        event::QUESTION_LIVE,
        &[("questionId".into(), json!(q))],
    )
    .await?;
    w.settle().await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" pushes question "(\w+)" live(?: for (\d+) seconds?)?$"#)]
async fn pushes(w: &mut LiveWorld, name: String, q: String, secs: String) -> StepResult {
    let payload = w.push_payload(&q, seconds(&secs)?);
    w.emit(&name, event::QUESTION_PUSH_LIVE, Some(payload))
        .await
}

#[when(regex = r#"^"([^"]+)" pushes question "(\w+)" live with duration (.+)$"#)]
async fn pushes_duration(w: &mut LiveWorld, name: String, q: String, raw: String) -> StepResult {
    let duration: Value = serde_json::from_str(&raw).map_err(|e| format!("duration {raw}: {e}"))?;
    let payload = w.push_payload(&q, Some(duration));
    w.emit(&name, event::QUESTION_PUSH_LIVE, Some(payload))
        .await
}

#[when(regex = r#"^"([^"]+)" closes question "(\w+)"$"#)]
async fn closes(w: &mut LiveWorld, name: String, q: String) -> StepResult {
    let payload = json!({ "conferenceId": w.conference(), "questionId": w.question(&q) });
    w.emit(&name, event::QUESTION_CLOSE, Some(payload)).await
}

#[then(regex = r#"^"([^"]+)" received the timer updates about one second apart$"#)]
async fn ticks_apart(w: &mut LiveWorld, name: String) -> StepResult {
    // D16: ticks at startedAt + k·1000 ms; receipt gaps measure that on the suite's clock.
    let ticks = w.actor(&name)?.all_timed(event::QUESTION_TIMER_UPDATE);
    if ticks.len() < 2 {
        return Err(format!(
            "{name} received {} timer updates, need at least 2",
            ticks.len()
        ));
    }
    for pair in ticks.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        if !((1000 - JITTER_MS)..=(1000 + JITTER_MS)).contains(&gap) {
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
    let (closed_at_receipt, closed) = actor
        .all_timed(event::QUESTION_CLOSED)
        .into_iter()
        .last()
        .ok_or_else(|| format!("{name} got no question:closed"))?;
    let (live_receipt, live) = actor
        .all_timed(event::QUESTION_LIVE)
        .into_iter()
        .find(|(_, l)| l["questionId"] == closed["questionId"])
        .ok_or_else(|| format!("{name} got no question:live for {closed}"))?;
    let number = |v: &Value, field: &str| {
        v[field]
            .as_i64()
            .ok_or_else(|| format!("{field} missing in {v}"))
    };
    let (expires, started) = (number(&live, "expiresAt")?, number(&live, "startedAt")?);
    let closed_at = number(&closed, "closedAt")?;
    let within = secs * 1000;
    // The server's clock: closedAt at expiresAt or later, within the allowance.
    if !(-100..=within).contains(&(closed_at - expires)) {
        return Err(format!(
            "closedAt is {} ms after expiresAt by the server's own clock (D16: within {secs} s)",
            closed_at - expires
        ));
    }
    // The suite's clock: from question:live to question:closed about the question's duration.
    let lived = closed_at_receipt - live_receipt;
    let duration = expires - started;
    if lived < duration - JITTER_MS || lived > duration + within + JITTER_MS {
        return Err(format!(
            "question:closed arrived {lived} ms after question:live for a {duration} ms question \
             (D16: closed within {secs} s of expiresAt)"
        ));
    }
    Ok(())
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
