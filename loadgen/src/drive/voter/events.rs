//! What a voter does with each message: fan-out and the session's record for a broadcast, the
//! question's state, the vote answers and the final counts; and its tallies at the end.

use lcr_client::EventFrame;
use lcr_protocol::{RejectReason, event};

use super::Voter;
use crate::clock::wall_micros;
use crate::drive::seen::{Seen, seen};
use crate::drive::timeline::Live;
use crate::record::attendance::Kind;
use crate::record::faults::Outcome;
use crate::record::metric;

impl Voter {
    /// Handles one message; true when the conference is over for this voter.
    pub(super) fn on_event(&mut self, frame: &EventFrame) -> bool {
        let sink = &self.sink;
        let Some((name, data)) = seen(frame) else {
            sink.rec.delivered(frame.at, false);
            sink.rec.error("UNREADABLE", frame.at);
            tracing::warn!(voter = self.i, frame = frame.text(), "unreadable event");
            return false;
        };
        let at = frame.at;
        let qid = data.question_id.as_deref().unwrap_or_default();
        let k = self.plan.question_index(self.c, qid);
        let kind = Kind::of_event(&name);
        // A broadcast: its fan-out delay, and the session's record of it.
        if let Some(kind) = kind {
            let stamp = match kind {
                Kind::Live => data.started_at,
                // When the tick was due by D16, expiresAt − timeRemaining·1000: spec fields,
                // so this works against any server.
                Kind::Tick => data
                    .expires_at
                    .zip(data.time_remaining)
                    .map(|(e, left)| e - left * 1000),
                Kind::Result => data.timestamp,
                Kind::Closed | Kind::Final => data.closed_at,
            };
            match stamp {
                Some(s) => {
                    sink.fanout(fanout_metric(kind), kind.event(), qid, s, at);
                    if let (Some(k), Some(session)) = (k, self.session.as_mut()) {
                        session.heard(k, kind, s);
                    }
                }
                None => sink.rec.delivered(at, false),
            }
        } else {
            let vote = name == event::VOTE_ACCEPTED || name == event::VOTE_REJECTED;
            sink.rec.delivered(at, vote);
        }
        if name == event::ERROR {
            let code = data.code.as_deref().unwrap_or("?");
            sink.rec.error(code, at);
            // An error in answer to a vote is that vote's answer: refused.
            let voted = data.context.as_ref().and_then(|c| {
                (c.event.as_deref() == Some(event::VOTE_SUBMIT))
                    .then_some(c.question_id.as_deref())
                    .flatten()
            });
            if let Some(k) = voted.and_then(|q| self.plan.question_index(self.c, q)) {
                let code = code.to_owned();
                self.on_vote_error(&code, frame, k);
            }
            return false;
        }
        let Some(k) = k else {
            return false;
        };
        match &*name {
            event::QUESTION_LIVE => {
                if let Some(started) = data.started_at {
                    let l = Live {
                        started_at: started,
                        at,
                        instant: frame.instant,
                    };
                    self.timelines.heard_live(self.c, k, l);
                    if !self.questions.contains_key(&k) {
                        self.learn(k, l);
                    }
                }
            }
            event::QUESTION_TIMER_UPDATE => {
                if let Some(q) = self.questions.get_mut(&k) {
                    q.heard_tick(data.time_remaining);
                }
            }
            event::QUESTION_CLOSED => {
                if let Some(q) = self.questions.get_mut(&k) {
                    q.closed = true;
                    q.closed_at = data.closed_at;
                }
            }
            event::VOTE_FINAL_RESULT => {
                if let Some(q) = self.questions.get_mut(&k) {
                    q.fin = true;
                }
                let counts: std::collections::BTreeMap<String, u64> = data
                    .option_counts
                    .and_then(|raw| serde_json::from_str(raw.get()).ok())
                    .unwrap_or_default();
                let total = data.total_votes;
                sink.rec.question(qid, |t| match &t.final_counts {
                    None => {
                        t.final_counts = Some(counts);
                        t.final_total = total;
                    }
                    Some(c) if *c != counts || t.final_total != total => t.final_disagreements += 1,
                    Some(_) => {}
                });
                if k + 1 == self.plan.questions() {
                    self.timelines.heard_over(self.c);
                    return true;
                }
            }
            event::VOTE_ACCEPTED | event::VOTE_REJECTED => self.on_answer(&name, &data, frame, k),
            _ => {}
        }
        false
    }

    /// `vote:accepted` or `vote:rejected` on question `k`.
    fn on_answer(&mut self, name: &str, data: &Seen, frame: &EventFrame, k: usize) {
        let sink = &self.sink;
        let qid = &self.plan.conferences[self.c].question_ids[k];
        let Some(q) = self.questions.get_mut(&k) else {
            return;
        };
        let accepted = name == event::VOTE_ACCEPTED;
        let reason = data.reason.as_deref().unwrap_or("?");
        if let (Some(due), 0) = (q.due_at, q.answers) {
            let micros = frame.instant.saturating_duration_since(due).as_micros() as u64;
            sink.time(metric::VOTE_ACK, micros, accepted);
            q.refused_closed = reason == RejectReason::QuestionClosed.as_str();
            if let (Some(server), false) = (data.timestamp, q.resent) {
                sink.rec
                    .clock_sample(&self.target, q.sent_us, wall_micros(frame.instant), server);
            }
        }
        let first = q.answers == 0;
        q.answers += 1;
        let counted =
            accepted || (q.resent && q.accepted == 0 && reason == RejectReason::Duplicate.as_str());
        if first {
            sink.rec.vote_outcome(
                q.sent_ms,
                if counted {
                    Outcome::Accepted
                } else {
                    Outcome::Refused
                },
            );
        }
        if accepted {
            q.accepted += 1;
            let option = data.selected_option.as_deref().unwrap_or("?").to_owned();
            sink.rec.question(qid, |t| {
                *t.accepted_by_option.entry(option).or_default() += 1
            });
        } else if q.resent && q.accepted == 0 && reason == RejectReason::Duplicate.as_str() {
            // Counted before the connection went: its vote:accepted was lost with it.
            q.accepted += 1;
            let option = q.vote.map_or("?", |v| v.option).to_owned();
            sink.rec.question(qid, |t| {
                *t.accepted_by_option.entry(option).or_default() += 1;
                t.accepted_before_reconnect += 1;
            });
        } else {
            let unknown =
                q.resent && q.accepted == 0 && reason == RejectReason::QuestionClosed.as_str();
            let option = q.vote.map_or("?", |v| v.option).to_owned();
            let reason = reason.to_owned();
            sink.rec.question(qid, |t| {
                if unknown {
                    *t.unknown_after_reconnect.entry(option).or_default() += 1;
                }
                *t.rejected_by_reason.entry(reason).or_default() += 1
            });
        }
    }

    /// An `error` in answer to the vote on question `k`: the vote was refused.
    fn on_vote_error(&mut self, code: &str, frame: &EventFrame, k: usize) {
        let sink = &self.sink;
        let qid = &self.plan.conferences[self.c].question_ids[k];
        let Some(q) = self.questions.get_mut(&k) else {
            return;
        };
        if let (Some(due), 0) = (q.due_at, q.answers) {
            let micros = frame.instant.saturating_duration_since(due).as_micros() as u64;
            sink.time(metric::VOTE_ACK, micros, false);
            sink.rec.vote_outcome(q.sent_ms, Outcome::Refused);
        }
        q.answers += 1;
        let reason = format!("error {code}");
        sink.rec.question(qid, |t| {
            *t.rejected_by_reason.entry(reason).or_default() += 1
        });
    }

    /// The voter's tallies, once it is done.
    pub(super) fn finish(mut self) {
        if let Some(s) = self.session.take() {
            self.sink.rec.session(s);
        }
        // Votes are judged against closedAt on the server's clock: the send time moves by the
        // clock offset known now, and the slack grows by its error bound.
        let (offset, error) = self.sink.rec.clock_estimate().unwrap_or((0.0, 0.0));
        let conference = &self.plan.conferences[self.c];
        for (k, q) in &self.questions {
            let qid = &conference.question_ids[*k];
            let duration = i64::from(self.plan.workload.duration(*k));
            if q.sent > 0 && q.answers == 0 {
                self.sink.rec.vote_outcome(q.sent_ms, Outcome::Unanswered);
            }
            self.sink.rec.question(qid, |t| {
                if q.answers < q.sent {
                    t.votes_unanswered += u64::from(q.sent - q.answers);
                }
                if q.accepted > 1 {
                    t.accepted_twice += 1;
                }
                // A second of slack: a vote that left in the last second may meet the close on
                // the way. Without question:closed, the close is the timeout.
                let closed_at = q.closed_at.unwrap_or(q.started_at + duration * 1000);
                let sent_server = q.sent_ms as f64 + offset + error;
                if q.refused_closed && !q.resent && sent_server + 1000.0 <= closed_at as f64 {
                    t.refused_in_time += 1;
                }
                if !q.reconnected {
                    t.timer_repeated += q.timers_repeated;
                }
            });
        }
    }
}

/// The fan-out metric of a broadcast kind.
fn fanout_metric(kind: Kind) -> &'static str {
    match kind {
        Kind::Live => metric::FANOUT_LIVE,
        Kind::Tick => metric::FANOUT_TIMER,
        Kind::Result => metric::FANOUT_RESULT,
        Kind::Closed => metric::FANOUT_CLOSED,
        Kind::Final => metric::FANOUT_FINAL,
    }
}
