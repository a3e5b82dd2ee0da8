//! `@cluster` (D25, D16 with several nodes): actors placed on named nodes, a node killed or
//! stopped.

use std::time::Duration;

use cucumber::{given, then, when};

use crate::world::{LiveWorld, StepResult};

fn node_index(w: &LiveWorld, n: &str) -> Result<usize, String> {
    let n: usize = n.parse().map_err(|e| format!("node {n}: {e}"))?;
    if n == 0 || n > w.target.nodes.len() {
        return Err(format!(
            "there is no node {n}: the target has {} nodes",
            w.target.nodes.len()
        ));
    }
    Ok(n)
}

#[given(regex = r#"^"([^"]+)" is connected to node (\d+)$"#)]
async fn connected_to(w: &mut LiveWorld, name: String, n: String) -> StepResult {
    let n = node_index(w, &n)?;
    w.placement.insert(name.clone(), n - 1);
    w.connect(&name).await?;
    w.settle().await;
    Ok(())
}

#[given(regex = r#"^"([^"]+)" has joined the conference on node (\d+)$"#)]
async fn joined_on(w: &mut LiveWorld, name: String, n: String) -> StepResult {
    let n = node_index(w, &n)?;
    w.placement.insert(name.clone(), n - 1);
    w.join(&name).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    w.settle().await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" joins the conference on node (\d+)$"#)]
async fn joins_on(w: &mut LiveWorld, name: String, n: String) -> StepResult {
    let n = node_index(w, &n)?;
    w.placement.insert(name.clone(), n - 1);
    w.join(&name).await
}

#[when(regex = r#"^node (\d+) is killed$"#)]
async fn killed(w: &mut LiveWorld, n: String) -> StepResult {
    let n = node_index(w, &n)?;
    w.target.controls.node_down(n).await?;
    w.killed_nodes.push(n);
    Ok(())
}

#[when(regex = r#"^node (\d+) is stopped$"#)]
async fn stopped(w: &mut LiveWorld, n: String) -> StepResult {
    let n = node_index(w, &n)?;
    // Brought back by the After hook, as a killed node is.
    w.killed_nodes.push(n);
    w.target.controls.node_stop(n).await
}

#[then(
    regex = r#"^"([^"]+)" received each question:timer_update of question "(\w+)" exactly once$"#
)]
async fn one_timer_stream(w: &mut LiveWorld, name: String, q: String) -> StepResult {
    let qid = w.question(&q);
    let actor = w.actor(&name)?;
    let mut remaining: Vec<u64> = actor
        .all(lcr_protocol::event::QUESTION_TIMER_UPDATE)
        .iter()
        .filter(|d| d["questionId"] == qid.as_str())
        .filter_map(|d| d["timeRemaining"].as_u64())
        .collect();
    let got = remaining.clone();
    remaining.sort_unstable();
    remaining.dedup();
    if remaining.len() != got.len() {
        return Err(format!(
            "{name} got a timer update twice (two countdowns, D16): {got:?}"
        ));
    }
    if got.windows(2).any(|p| p[0] <= p[1]) {
        return Err(format!("{name}'s timer updates do not count down: {got:?}"));
    }
    Ok(())
}
