//! The conference: created, activated and ended through the profile's fixture (the Control API,
//! the deployment's own API, commands, or the stores), never another way.

use cucumber::gherkin::{Step, StepType};
use cucumber::{given, when};
use lcr_protocol::{ConferenceStatus, event};

use crate::fields::names;
use crate::world::{LiveWorld, StepResult};

fn status_of(word: &str) -> ConferenceStatus {
    match word {
        "active" => ConferenceStatus::Active,
        "ended" => ConferenceStatus::Ended,
        _ => ConferenceStatus::Draft,
    }
}

#[given(regex = r#"^an? (active|draft) conference with host "([^"]+)"(?: and audience (.+))?$"#)]
async fn conference(
    w: &mut LiveWorld,
    status: String,
    host: String,
    audience: String,
) -> StepResult {
    w.create_conference(&host, status_of(&status)).await?;
    w.join(&host).await?;
    // With D10 the host hears of each user's first socket: wait for it, so later steps start
    // clean. Without the claim there is nothing to wait for.
    let presence_to_host = w.target.profile.capabilities.follows(10);
    let mut seen = std::collections::HashSet::new();
    for name in names(&audience) {
        w.join(&name).await?;
        let user = w.user(&name);
        if presence_to_host && seen.insert(user.clone()) {
            w.actor(&host)?
                .take(event::AUDIENCE_JOINED, w.target.wait, |d| {
                    d["userId"] == user.as_str()
                })
                .await;
        }
    }
    if !presence_to_host {
        tokio::time::sleep(w.target.quiet).await;
    }
    w.settle().await;
    Ok(())
}

#[given(regex = r#"^an? (active|draft|ended) conference hosted by "([^"]+)" that nobody joined$"#)]
async fn empty_conference(w: &mut LiveWorld, status: String, host: String) -> StepResult {
    w.create_conference(&host, status_of(&status)).await
}

#[given(regex = r#"^the conference (?:has been|is) (activated|ended)$"#)]
#[when(regex = r#"^the conference (?:has been|is) (activated|ended)$"#)]
async fn status(w: &mut LiveWorld, what: String, step: &Step) -> StepResult {
    let status = if what == "activated" {
        ConferenceStatus::Active
    } else {
        ConferenceStatus::Ended
    };
    w.set_status(status).await?;
    if step.ty == StepType::Given {
        // A Given leaves the world settled: what the change broadcast is not what a Then
        // looks at.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        w.settle().await;
    }
    Ok(())
}
