//! Given: a conference, its people, a live question.

use cucumber::given;
use lcr_protocol::{ConferenceStatus, event};
use serde_json::json;

use crate::world::{LiveWorld, StepResult};

/// `"alex", "bo" and "cy"` → names.
pub fn names(list: &str) -> Vec<String> {
    list.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, n)| n.to_owned())
        .collect()
}

async fn conference_with(
    w: &mut LiveWorld,
    status: &str,
    host: &str,
    audience: Option<String>,
) -> StepResult {
    let status = match status {
        "active" | "an active" => ConferenceStatus::Active,
        _ => ConferenceStatus::Draft,
    };
    w.create_conference(host, status).await?;
    w.join(host).await?;
    let mut seen = std::collections::HashSet::new();
    for name in audience.as_deref().map(names).unwrap_or_default() {
        w.join(&name).await?;
        // The host hears about each user's first socket (D10): wait, so later steps start clean.
        let user = w.user(&name);
        if seen.insert(user.clone()) {
            w.actor(host)?
                .take(event::AUDIENCE_JOINED, w.target.wait, |d| {
                    d["userId"] == user.as_str()
                })
                .await;
        }
    }
    w.settle().await;
    Ok(())
}

#[given(regex = r#"^an? (active|draft) conference with host "([^"]+)"(?: and audience (.+))?$"#)]
async fn conference(
    w: &mut LiveWorld,
    status: String,
    host: String,
    audience: String,
) -> StepResult {
    let audience = (!audience.is_empty()).then_some(audience);
    conference_with(w, &status, &host, audience).await
}

#[given(regex = r#"^an? (active|draft) conference hosted by "([^"]+)" that nobody joined$"#)]
async fn empty_conference(w: &mut LiveWorld, status: String, host: String) -> StepResult {
    let status = if status == "active" {
        ConferenceStatus::Active
    } else {
        ConferenceStatus::Draft
    };
    w.create_conference(&host, status).await
}

#[given(regex = r#"^(".+") (?:is|are) connected$"#)]
async fn connected(w: &mut LiveWorld, list: String) -> StepResult {
    for name in names(&list) {
        w.connect(&name).await?;
    }
    w.settle().await;
    Ok(())
}

#[given(regex = r#"^(".+") (?:has|have) joined the conference$"#)]
async fn joined(w: &mut LiveWorld, list: String) -> StepResult {
    for name in names(&list) {
        w.join(&name).await?;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    w.settle().await;
    Ok(())
}

#[given(regex = r#"^question "(q\d)" is live(?: for (\d+) seconds)?$"#)]
async fn live(w: &mut LiveWorld, q: String, secs: String) -> StepResult {
    let host = w.host.clone().ok_or("no conference yet")?;
    let mut payload = json!({ "conferenceId": w.conference(), "questionId": w.question(&q) });
    if !secs.is_empty() {
        payload["duration"] = json!(secs.parse::<u32>().map_err(|e| e.to_string())?);
    }
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

#[given(regex = r#"^"([^"]+)" has voted "([^"]*)" on question "(q\d)"$"#)]
async fn voted(w: &mut LiveWorld, name: String, option: String, q: String) -> StepResult {
    crate::steps::actions::vote(w, &name, &option, &q).await?;
    w.expect(&name, event::VOTE_ACCEPTED, &[]).await?;
    w.settle().await;
    Ok(())
}

#[given(regex = r#"^the conference (?:has been|is) (activated|ended)$"#)]
async fn status(w: &mut LiveWorld, what: String) -> StepResult {
    let status = if what == "activated" {
        ConferenceStatus::Active
    } else {
        ConferenceStatus::Ended
    };
    w.set_status(status).await?;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    w.settle().await;
    Ok(())
}
