//! Joining and leaving (§7.1–§7.3; D3, D7, D9, D12).

use cucumber::{given, when};
use lcr_protocol::event;
use serde_json::json;

use crate::fields::names;
use crate::world::{LiveWorld, StepResult};

#[given(regex = r#"^(".+") (?:has|have) joined the conference$"#)]
async fn joined(w: &mut LiveWorld, list: String) -> StepResult {
    for name in names(&list) {
        w.join(&name).await?;
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    w.settle().await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" joins the conference$"#)]
async fn joins(w: &mut LiveWorld, name: String) -> StepResult {
    w.send_join(&name).await
}

#[when(regex = r#"^(".+") (?:join|joins) the conference together$"#)]
async fn join_together(w: &mut LiveWorld, list: String) -> StepResult {
    for name in names(&list) {
        w.send_join(&name).await?;
    }
    Ok(())
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
