//! A conference's host: joins, waits for the audience present from the start, pushes the
//! questions one after another (closing each by hand when the workload says so), and waits for
//! each final result.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lcr_client::connect;
use lcr_protocol::event;
use serde_json::json;

use super::timeline::{Live, Timelines};
use super::{Sink, client_config};
use crate::plan::Plan;
use crate::workload::Close;

/// Why a host could not run its questions.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The host's socket failed.
    #[error("host of {conference}: socket: {why}")]
    Socket {
        /// The conference.
        conference: String,
        /// What happened.
        why: String,
    },
    /// The audience did not all join before the deadline.
    #[error("host of {conference}: only {have} of {want} voters joined before the deadline")]
    Audience {
        /// The conference.
        conference: String,
        /// Present.
        have: u64,
        /// Expected.
        want: u64,
    },
}

/// Runs the host of conference `c`; returns how many final results it received.
pub async fn run_host(
    plan: Arc<Plan>,
    c: usize,
    _sink: Sink,
    timelines: Arc<Timelines>,
    end: Instant,
) -> Result<u64, HostError> {
    let conference = plan.conferences[c].clone();
    let socket = |why: String| HostError::Socket {
        conference: conference.id.clone(),
        why,
    };
    let host_at = |target: String| {
        let (plan, user, cid) = (
            plan.clone(),
            conference.host_user.clone(),
            conference.id.clone(),
        );
        async move {
            let cfg = client_config(&plan, &target, &user).await?;
            let (client, events) = connect(&cfg).await.map_err(|e| e.to_string())?;
            client
                .emit(event::CONFERENCE_JOIN, &json!({ "conferenceId": cid }))
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((client, events))
        }
    };
    let (mut client, mut events) = host_at(plan.host_target(c, 0).to_owned())
        .await
        .map_err(socket)?;
    let mut lost = 0;
    let want = plan.initial_audience(c);
    let mut have = 0;
    // Wait for the audience present from the start: the count comes with conference:joined,
    // audience:joined and audience:count.
    while have < want {
        let Ok(Some(r)) = tokio::time::timeout_at(end.into(), events.next()).await else {
            timelines.heard_over(c);
            return Err(HostError::Audience {
                conference: conference.id.clone(),
                have,
                want,
            });
        };
        if matches!(
            r.name.as_str(),
            event::CONFERENCE_JOINED | event::AUDIENCE_COUNT | event::AUDIENCE_JOINED
        ) {
            have = have.max(r.data["audienceCount"].as_u64().unwrap_or(0));
        }
    }
    let w = &plan.workload;
    let mut finals = 0;
    for (k, qid) in conference.question_ids.iter().enumerate() {
        let payload =
            json!({"conferenceId": conference.id, "questionId": qid, "duration": w.duration(k)});
        client
            .emit(event::QUESTION_PUSH_LIVE, &payload)
            .map_err(|e| socket(e.to_string()))?;
        let mut close_at = None;
        let mut live = false;
        loop {
            let wait_until = close_at.map_or(end, |c: Instant| c.min(end));
            match tokio::time::timeout_at(wait_until.into(), events.next()).await {
                Ok(Some(r))
                    if r.name == event::QUESTION_LIVE && r.data["questionId"] == qid.as_str() =>
                {
                    live = true;
                    if let Some(started_at) = r.data["startedAt"].as_i64() {
                        timelines.heard_live(
                            c,
                            k,
                            Live {
                                started_at,
                                at: r.at,
                                instant: r.instant,
                            },
                        );
                    }
                    close_at = match w.questions.close {
                        Close::Manual { after_s } => {
                            Some(r.instant + Duration::from_secs_f64(after_s))
                        }
                        Close::Timeout => None,
                    };
                }
                Ok(Some(r))
                    if r.name == event::VOTE_FINAL_RESULT
                        && r.data["questionId"] == qid.as_str() =>
                {
                    finals += 1;
                    break;
                }
                // A push refused for a passing reason (the server's store or catalog did not
                // answer, a lock held) is tried again a second later, as a host would.
                Ok(Some(r))
                    if r.name == event::ERROR
                        && !live
                        && r.data["context"]["event"] == event::QUESTION_PUSH_LIVE
                        && matches!(
                            r.data["code"].as_str(),
                            Some("TIMEOUT" | "OPERATION_IN_PROGRESS")
                        ) =>
                {
                    tracing::warn!(conference = %conference.id, error = %r.data,
                        "push refused for now; pushing again in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    client
                        .emit(event::QUESTION_PUSH_LIVE, &payload)
                        .map_err(|e| socket(e.to_string()))?;
                }
                Ok(Some(r)) if r.name == event::ERROR => {
                    tracing::warn!(conference = %conference.id, error = %r.data, "host got an error");
                }
                Ok(Some(_)) => {}
                Ok(None) if plan.reconnect && plan.targets.len() > 1 => {
                    // The host's node died: the question goes on (another node closes it, D16);
                    // wait for its final result from the next node.
                    lost += 1;
                    tracing::warn!(
                        lost,
                        "host connection lost; reconnecting to the next target"
                    );
                    (client, events) = host_at(plan.host_target(c, lost).to_owned())
                        .await
                        .map_err(socket)?;
                }
                Ok(None) => {
                    timelines.heard_over(c);
                    return Err(socket("connection closed".into()));
                }
                Err(_) if Instant::now() >= end => {
                    timelines.heard_over(c);
                    return Ok(finals);
                }
                Err(_) => {
                    close_at = None;
                    let _ = client.emit(
                        event::QUESTION_CLOSE,
                        &json!({"conferenceId": conference.id, "questionId": qid}),
                    );
                }
            }
        }
        if k + 1 < conference.question_ids.len() {
            tokio::time::sleep(Duration::from_secs_f64(w.questions.gap_s)).await;
        }
    }
    timelines.heard_over(c);
    client.close();
    Ok(finals)
}
