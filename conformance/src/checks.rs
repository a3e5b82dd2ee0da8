//! Strict checks of every message a scenario's actors receive, whether or not a step looks at
//! it: the payload must parse as the protocol crate's type (required fields, types, enum
//! values), respect the invariants the decisions state, and leak nothing (D22).
//!
//! ```
//! use conformance::checks::check;
//! let leak = serde_json::json!({"conferenceId": "c", "questionId": "q", "questionText": "t",
//!     "options": [], "duration": 5, "startedAt": 1, "expiresAt": 5001, "correctOption": "A"});
//! assert!(check("question:live", &leak, true, None).iter().any(|v| v.contains("D22")));
//! assert!(check("vote:accepted", &serde_json::json!({"conferenceId": "c"}), true, None)[0].contains("vote:accepted"));
//! // A payload may carry the recipient's own user id, never another's.
//! let mine = serde_json::json!({"conferenceId": "c", "audienceCount": 1, "timestamp": 1, "userId": "me"});
//! assert!(check("audience:count", &mine, true, Some("me")).is_empty());
//! assert!(!check("audience:count", &mine, true, Some("you")).is_empty());
//! // An error's context may echo what the caller sent, whatever its type (spec §9.2).
//! let echoed = serde_json::json!({"code": "INVALID_PAYLOAD", "message": "m", "timestamp": 1,
//!     "context": {"event": "conference:join", "conferenceId": 7}});
//! assert!(check("error", &echoed, true, None).is_empty());
//! assert!(!check("error", &serde_json::json!({"code": "NOPE", "message": "m", "timestamp": 1,
//!     "context": {"event": "x"}}), true, None).is_empty());
//! ```

use lcr_protocol::event;
use lcr_protocol::server::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn shape<T: DeserializeOwned>(name: &str, data: &Value) -> Result<T, String> {
    if !data.is_object() {
        return Err(format!("{name}: payload is not an object: {data}"));
    }
    T::deserialize(data).map_err(|e| format!("{name}: malformed payload ({e}): {data}"))
}

/// Problems with one received message; empty when it conforms. `audience` is true for an
/// AUDIENCE socket (D10, D22 apply); `own_user` is the recipient's user id, which it may see.
pub fn check(name: &str, data: &Value, audience: bool, own_user: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut add = |r: Result<(), String>| {
        if let Err(e) = r {
            problems.push(e);
        }
    };
    match name {
        event::CONFERENCE_JOINED => add(shape::<ConferenceJoined>(name, data).and_then(
            |j| match &j.live_question {
                Some(q) => live_invariants(name, q),
                None => Ok(()),
            },
        )),
        event::CONFERENCE_LEFT => add(shape::<ConferenceLeft>(name, data).map(drop)),
        event::CONFERENCE_STATUS_CHANGED => add(shape::<ConferenceStatusChanged>(name, data)
            .and_then(|s| {
                if s.status.is_runtime_status() {
                    Ok(())
                } else {
                    Err(format!("{name}: status must be ACTIVE or ENDED: {data}"))
                }
            })),
        event::QUESTION_LIVE => {
            add(shape::<QuestionLive>(name, data).and_then(|q| live_invariants(name, &q)))
        }
        event::QUESTION_CLOSED => add(shape::<QuestionClosed>(name, data).map(drop)),
        event::QUESTION_TIMER_UPDATE => add(shape::<QuestionTimerUpdate>(name, data).map(drop)),
        event::VOTE_ACCEPTED => add(shape::<VoteAccepted>(name, data).map(drop)),
        event::VOTE_REJECTED => add(shape::<VoteRejected>(name, data).map(drop)),
        event::VOTE_RESULT => add(shape::<VoteResult>(name, data).and_then(|r| {
            let sum: u64 = r.option_counts.values().sum();
            if sum == r.total_votes {
                Ok(())
            } else {
                Err(format!(
                    "{name}: totalVotes {} is not the sum of optionCounts {sum} (D20)",
                    r.total_votes
                ))
            }
        })),
        event::VOTE_FINAL_RESULT => {
            add(shape::<VoteFinalResult>(name, data).and_then(|f| final_invariants(name, &f)))
        }
        event::AUDIENCE_JOINED | event::AUDIENCE_LEFT => {
            add(shape::<AudiencePresence>(name, data).map(drop));
            if audience {
                add(Err(format!(
                    "D10: {name} reached an AUDIENCE socket: {data}"
                )));
            }
        }
        event::AUDIENCE_COUNT => add(shape::<AudienceCount>(name, data).map(drop)),
        event::ERROR => add(shape::<LenientError>(name, data).map(drop)),
        _ => {}
    }
    if audience {
        for path in forbidden_fields(name, data) {
            // Its own user id is not "another user's" (D22).
            let own = own_user.is_some()
                && crate::fields::lookup(data, &path).and_then(Value::as_str) == own_user;
            if !own {
                problems.push(format!(
                    "D22: {name} carries {path} to an AUDIENCE socket: {data}"
                ));
            }
        }
    }
    problems
}

/// The `error` event as the protocol fixes it (spec §9.2, D5): a known code, a message, a
/// timestamp, and a context naming the event. What else the context carries is the server's:
/// the spec's `[key: string]: any`, so an id echoed back with the caller's wrong type is no
/// violation.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct LenientError {
    code: lcr_protocol::ErrorCode,
    message: String,
    timestamp: lcr_protocol::Millis,
    context: LenientContext,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct LenientContext {
    event: String,
}

fn live_invariants(name: &str, q: &QuestionLive) -> Result<(), String> {
    if q.expires_at != q.started_at + i64::from(q.duration) * 1000 {
        return Err(format!(
            "{name}: expiresAt {} must be startedAt {} + duration {} s (D6)",
            q.expires_at, q.started_at, q.duration
        ));
    }
    if q.started_at < 1_000_000_000_000 {
        return Err(format!(
            "{name}: startedAt {} is not epoch milliseconds (D6)",
            q.started_at
        ));
    }
    Ok(())
}

fn final_invariants(name: &str, f: &VoteFinalResult) -> Result<(), String> {
    let sum: u64 = f.option_counts.values().sum();
    if sum != f.total_votes {
        return Err(format!(
            "{name}: totalVotes {} is not the sum of optionCounts {sum} (D21)",
            f.total_votes
        ));
    }
    let correct = f.option_counts.get(&f.correct_option).copied().unwrap_or(0);
    if correct != f.correct_count {
        return Err(format!(
            "{name}: correctCount {} but optionCounts[{}] is {correct} (D21)",
            f.correct_count, f.correct_option
        ));
    }
    if let Some((k, v)) = f
        .percentage_breakdown
        .iter()
        .find(|(_, v)| ((*v * 100.0) - (*v * 100.0).round()).abs() > 1e-6)
    {
        return Err(format!(
            "{name}: percentageBreakdown[{k}] = {v} has more than two decimals (D21)"
        ));
    }
    let expected = percentages(&f.option_counts, f.total_votes);
    let keys_match = expected.keys().eq(f.percentage_breakdown.keys());
    let values_match = expected.iter().all(|(k, v)| {
        f.percentage_breakdown
            .get(k)
            .is_some_and(|got| (got - v).abs() < 0.005)
    });
    if !keys_match || !values_match {
        return Err(format!(
            "{name}: percentageBreakdown {:?}, expected {:?} (D21: count / total × 100, 2 decimals)",
            f.percentage_breakdown, expected
        ));
    }
    Ok(())
}

/// What one socket heard of each question, for the checks that span several messages: the
/// ordering guarantees of one question run (D16, D17) — ticks strictly decreasing, each within
/// the run's duration and with its `expiresAt`, none after `question:closed`, and
/// `question:closed` before `vote:final_result`.
///
/// ```
/// use conformance::checks::Sequence;
/// use serde_json::json;
/// let mut s = Sequence::default();
/// let live = json!({"questionId": "q", "duration": 5, "startedAt": 1_700_000_000_000i64, "expiresAt": 1_700_000_005_000i64});
/// assert!(s.observe("question:live", &live).is_empty());
/// let tick = |left: i64| json!({"questionId": "q", "timeRemaining": left, "expiresAt": 1_700_000_005_000i64});
/// assert!(s.observe("question:timer_update", &tick(4)).is_empty());
/// assert!(s.observe("question:timer_update", &tick(4))[0].contains("D16"));
/// assert!(s.observe("vote:final_result", &json!({"questionId": "q"}))[0].contains("D17"));
/// assert!(s.observe("question:closed", &json!({"questionId": "q"})).is_empty());
/// assert!(s.observe("question:timer_update", &tick(1))[0].contains("after question:closed"));
/// ```
#[derive(Debug, Default)]
pub struct Sequence {
    runs: std::collections::HashMap<String, Run>,
}

#[derive(Debug, Default)]
struct Run {
    duration: Option<i64>,
    expires_at: Option<i64>,
    last_remaining: Option<i64>,
    closed: bool,
}

impl Sequence {
    /// Problems with `name` given what came before; empty when it fits.
    pub fn observe(&mut self, name: &str, data: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let live = |q: &Value| {
            q["questionId"].as_str().map(|id| {
                (
                    id.to_owned(),
                    Run {
                        duration: q["duration"].as_i64(),
                        expires_at: q["expiresAt"].as_i64(),
                        ..Run::default()
                    },
                )
            })
        };
        match name {
            event::QUESTION_LIVE => {
                if let Some((id, run)) = live(data) {
                    self.runs.insert(id, run);
                }
            }
            event::CONFERENCE_JOINED => {
                if let Some((id, run)) = live(&data["liveQuestion"]) {
                    self.runs.entry(id).or_insert(run);
                }
            }
            event::QUESTION_TIMER_UPDATE => {
                let (Some(id), Some(left)) =
                    (data["questionId"].as_str(), data["timeRemaining"].as_i64())
                else {
                    return problems;
                };
                let run = self.runs.entry(id.to_owned()).or_default();
                if run.closed {
                    problems.push(format!(
                        "{name} for {id} after question:closed (D16, D17): {data}"
                    ));
                }
                if let Some(last) = run.last_remaining.filter(|last| left >= *last) {
                    problems.push(format!(
                        "{name} for {id}: timeRemaining {left} after {last}: each tick once, in order (D16)"
                    ));
                }
                if let Some(d) = run.duration.filter(|d| left < 1 || left > d - 1) {
                    problems.push(format!(
                        "{name} for {id}: timeRemaining {left} outside 1…{} for a {d} s run (D16)",
                        d - 1
                    ));
                }
                if let (Some(e), Some(got)) = (run.expires_at, data["expiresAt"].as_i64())
                    && e != got
                {
                    problems.push(format!(
                        "{name} for {id}: expiresAt {got}, but the run's is {e} (D16)"
                    ));
                }
                run.last_remaining = Some(left);
            }
            event::QUESTION_CLOSED => {
                if let Some(id) = data["questionId"].as_str() {
                    self.runs.entry(id.to_owned()).or_default().closed = true;
                }
            }
            event::VOTE_FINAL_RESULT => {
                if let Some(id) = data["questionId"].as_str()
                    && let Some(run) = self.runs.get(id)
                    && !run.closed
                {
                    problems.push(format!(
                        "{name} for {id} before its question:closed (D17): {data}"
                    ));
                }
            }
            _ => {}
        }
        problems
    }
}
