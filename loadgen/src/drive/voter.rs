//! One voter: a task that owns its connection (no connection task, no channel) and plays its
//! part of the plan: it joins (from the start, or late), votes on each question at its planned
//! moment, may leave for good or drop in a storm and come back, and keeps a record of each
//! session for the report.
//!
//! A vote's ack latency runs from the moment it was due, so a server that stalls shows the
//! stall (no coordinated omission). A vote falls due at `startedAt` + its offset; a voter that
//! was away by design at that moment (it arrives late, or is coming back from a drop) votes
//! when it joins, and its latency counts from there.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lcr_client::{Connection, EventFrame};
use lcr_protocol::{RejectReason, event, now_millis};
use serde_json::json;

use super::question::PerQuestion;
use super::seen::seen;
use super::timeline::{Live, Timelines};
use super::{Sink, client_config};
use crate::clock::wall_micros;
use crate::plan::{Plan, Role};
use crate::record::attendance::{Attendance, End, Kind};
use crate::record::metric;

/// Why a voter's time in the room ended.
enum Exit {
    /// Its conference is over (the last final result), or the run's deadline came.
    Over,
    /// Its planned leave.
    Leave,
    /// Its planned drop: back at this instant.
    Drop(Instant),
    /// The connection went unasked.
    Lost,
}

/// A voter's connection, joined.
struct Joined {
    conn: Connection,
    /// The question `conference:joined` said was live, if any (D13).
    live: Option<(usize, Live)>,
    /// Events that came before `conference:joined`, in order. The socket is in the room before
    /// its join is answered, so a broadcast can come first.
    early: Vec<EventFrame>,
    /// When `conference:joined` came.
    at: i64,
    instant: Instant,
}

/// One voter of the plan.
pub struct Voter {
    plan: Arc<Plan>,
    sink: Sink,
    timelines: Arc<Timelines>,
    end: Instant,
    i: usize,
    c: usize,
    role: Role,
    questions: BTreeMap<usize, PerQuestion>,
    /// Votes due and not sent: (question, instant), earliest first.
    due: Vec<(usize, Instant)>,
    /// The planned leave and drop, once their question is live.
    leave_at: Option<Instant>,
    drop_at: Option<Instant>,
    dropped: bool,
    /// Connections lost unasked.
    lost: usize,
    /// The target of the current connection.
    target: String,
    /// The current session, and when it began on the monotonic clock.
    session: Option<Attendance>,
    session_start: Instant,
    /// The current session began after an absence by design (a late arrival, a return from a
    /// drop): votes due before it go at its start.
    away_by_design: bool,
}

impl Voter {
    /// Voter `i` of `plan`, recording into `sink`, stopping at `end`.
    pub fn new(
        plan: Arc<Plan>,
        i: usize,
        sink: Sink,
        timelines: Arc<Timelines>,
        end: Instant,
    ) -> Self {
        let c = plan.conference_of(i);
        let role = plan.role(i);
        Voter {
            target: plan.target_for(i).to_owned(),
            plan,
            sink,
            timelines,
            end,
            i,
            c,
            role,
            questions: BTreeMap::new(),
            due: Vec::new(),
            leave_at: None,
            drop_at: None,
            dropped: false,
            lost: 0,
            session: None,
            session_start: Instant::now(),
            away_by_design: false,
        }
    }

    /// Plays the voter's part to the end of its conference (or the run's deadline).
    pub async fn run(mut self) {
        if let Some(a) = self.role.arrives {
            let Some(live) = self.timelines.wait_live(self.c, a.question, self.end).await else {
                return;
            };
            tokio::time::sleep_until(live.instant_after(a.after_ms).min(self.end).into()).await;
            if Instant::now() >= self.end || self.timelines.is_over(self.c) {
                return;
            }
            self.away_by_design = true;
        }
        let mut rejoining = false;
        loop {
            let Some(joined) = self.connect_and_join().await else {
                if rejoining {
                    self.sink.rec.disconnect();
                }
                break;
            };
            if self.role.arrives.is_some() && !rejoining {
                self.sink.rec.churn(|c| c.arrived += 1);
            }
            let mut conn = joined.conn;
            self.session = Some(Attendance::new(self.c, self.i, joined.at));
            self.session_start = joined.instant;
            let mut over = self.absorb(joined.early, joined.live);
            if rejoining {
                self.send_again(&mut conn).await;
            }
            self.away_by_design = false;
            let exit = if over {
                Exit::Over
            } else {
                self.attend(&mut conn).await
            };
            self.sink.rec.connected(now_millis(), -1);
            match exit {
                Exit::Over => {
                    self.await_answers(&mut conn).await;
                    self.end_session(End::Stayed, now_millis());
                    conn.close().await;
                    break;
                }
                Exit::Leave => {
                    let at = now_millis();
                    over = self.leave(&mut conn).await;
                    self.end_session(End::Left, at);
                    self.sink.rec.churn(|c| c.left += 1);
                    let _ = over;
                    conn.close().await;
                    break;
                }
                Exit::Drop(back) => {
                    self.end_session(End::Dropped, now_millis());
                    self.sink.rec.churn(|c| c.dropped += 1);
                    drop(conn);
                    tokio::time::sleep_until(back.min(self.end).into()).await;
                    if Instant::now() >= self.end || self.timelines.is_over(self.c) {
                        break;
                    }
                    self.away_by_design = true;
                    rejoining = true;
                    self.sink.rec.churn(|c| c.returned += 1);
                }
                Exit::Lost if self.plan.reconnect && Instant::now() < self.end => {
                    // A node died: come back on the next target.
                    self.end_session(End::Lost, now_millis());
                    self.lost += 1;
                    self.target = self.plan.target_after(self.i, self.lost).to_owned();
                    rejoining = true;
                    self.sink.rec.reconnected();
                }
                Exit::Lost => {
                    self.end_session(End::Lost, now_millis());
                    self.sink.rec.disconnect();
                    break;
                }
            }
        }
        self.finish();
    }

    /// Connects to the current target and joins the conference; `None` when it cannot.
    async fn connect_and_join(&mut self) -> Option<Joined> {
        let (plan, sink) = (&self.plan, &self.sink);
        let user = plan.voter_user(self.i);
        let mut cfg = match client_config(plan, &self.target, &user).await {
            Ok(cfg) => cfg,
            Err(e) => {
                tracing::warn!(voter = self.i, error = %e, "no token");
                sink.rec.connect_failed();
                return None;
            }
        };
        if !plan.local_ips.is_empty() {
            cfg = cfg.local_ip(plan.local_ips[self.i % plan.local_ips.len()]);
        }
        cfg.connect_timeout = Duration::from_secs(30);
        let cid = plan.conferences[self.c].id.clone();

        // Connect (retried: a listen backlog overflow under a connect storm is not the
        // server's answer), then join (retried while the conference does not exist yet:
        // another shard makes it).
        let mut attempt = 0;
        let mut conn = loop {
            let t = Instant::now();
            match Connection::open(&cfg).await {
                Ok(c) => {
                    sink.time(metric::CONNECT, t.elapsed().as_micros() as u64, true);
                    break c;
                }
                Err(e) => {
                    attempt += 1;
                    if attempt >= 5 || Instant::now() >= self.end {
                        tracing::warn!(voter = self.i, error = %e, "connect failed");
                        sink.rec.connect_failed();
                        sink.time(metric::CONNECT, t.elapsed().as_micros() as u64, false);
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                }
            }
        };
        sink.rec.connected(now_millis(), 1);
        let mut early = Vec::new();
        loop {
            let t = Instant::now();
            if conn
                .emit(event::CONFERENCE_JOIN, &json!({ "conferenceId": cid }))
                .await
                .is_err()
            {
                break;
            }
            let mut outcome = None;
            while outcome.is_none() {
                let Ok(Ok(frame)) = tokio::time::timeout_at(self.end.into(), conn.recv()).await
                else {
                    break;
                };
                match seen(&frame) {
                    Some((name, data)) if name == event::CONFERENCE_JOINED => {
                        let live = data.live_question.and_then(|l| {
                            let k = plan.question_index(self.c, l.question_id.as_deref()?)?;
                            let live = Live {
                                started_at: l.started_at?,
                                at: frame.at,
                                instant: frame.instant,
                            };
                            Some((k, live))
                        });
                        outcome = Some(Some((live, frame.at, frame.instant)));
                    }
                    Some((name, data))
                        if name == event::ERROR
                            && data.context.as_ref().and_then(|c| c.event.as_deref())
                                == Some(event::CONFERENCE_JOIN) =>
                    {
                        outcome = Some(None)
                    }
                    _ => early.push(frame),
                }
            }
            match outcome {
                Some(Some((live, at, instant))) => {
                    sink.time(metric::JOIN, t.elapsed().as_micros() as u64, true);
                    return Some(Joined {
                        conn,
                        live,
                        early,
                        at,
                        instant,
                    });
                }
                Some(None) if Instant::now() + Duration::from_millis(500) < self.end => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                _ => {
                    sink.time(metric::JOIN, t.elapsed().as_micros() as u64, false);
                    break;
                }
            }
        }
        sink.rec.connected(now_millis(), -1);
        conn.close().await;
        None
    }

    /// What a join brought: the events before its answer, then the live question it named
    /// (D13), which the voter learns of now unless an early `question:live` told it first.
    /// True when the conference is over for this voter.
    fn absorb(&mut self, early: Vec<EventFrame>, live: Option<(usize, Live)>) -> bool {
        let mut over = false;
        for frame in &early {
            over |= self.on_event(frame);
        }
        if let Some((k, l)) = live {
            self.timelines.heard_live(self.c, k, l);
            if !self.questions.contains_key(&k) {
                self.learn(k, l);
            }
        }
        self.arm();
        over || self.timelines.is_over(self.c)
    }

    /// Question `k` is live (heard at `l`): the voter's vote on it falls due.
    fn learn(&mut self, k: usize, l: Live) {
        let vote = self.plan.vote(self.i, k);
        self.questions
            .insert(k, PerQuestion::new(vote, l.started_at));
        if let Some(v) = vote {
            let mut when = l.instant_after(v.offset_ms);
            if self.away_by_design {
                when = when.max(self.session_start);
            }
            self.due.push((k, when));
            self.due.sort_by_key(|(_, at)| *at);
        }
        self.arm();
    }

    /// Sets the planned leave and drop once their question's start is known.
    fn arm(&mut self) {
        if self.leave_at.is_none()
            && let Some(m) = self.role.leaves
            && let Some(l) = self.timelines.live(self.c, m.question)
        {
            self.leave_at = Some(l.instant_after(m.after_ms));
        }
        if self.drop_at.is_none()
            && !self.dropped
            && let Some(d) = self.role.drops
            && let Some(l) = self.timelines.live(self.c, d.at.question)
        {
            self.drop_at = Some(l.instant_after(d.at.after_ms));
        }
    }

    /// The voter in the room: votes when due, handles what arrives, until it leaves, drops,
    /// loses the connection, or its conference is over.
    async fn attend(&mut self, conn: &mut Connection) -> Exit {
        let far = self.end + Duration::from_secs(3600);
        loop {
            let vote_at = self.due.first().map_or(far, |d| d.1);
            let leave_at = self.leave_at.unwrap_or(far);
            let drop_at = self.drop_at.unwrap_or(far);
            let next = tokio::select! {
                biased;
                () = tokio::time::sleep_until(self.end.into()) => return Exit::Over,
                () = tokio::time::sleep_until(leave_at.into()), if self.leave_at.is_some() => return Exit::Leave,
                () = tokio::time::sleep_until(drop_at.into()), if self.drop_at.is_some() => {
                    self.drop_at = None;
                    self.dropped = true;
                    let back = self.role.drops.map_or(0, |d| d.back_after_ms);
                    return Exit::Drop(Instant::now() + Duration::from_millis(back));
                }
                () = tokio::time::sleep_until(vote_at.into()), if !self.due.is_empty() => {
                    let (k, at) = self.due.remove(0);
                    self.send_vote(conn, k, at).await;
                    continue;
                }
                r = conn.recv() => r,
            };
            match next {
                Ok(frame) => {
                    if self.on_event(&frame) {
                        return Exit::Over;
                    }
                }
                Err(_) => return Exit::Lost,
            }
        }
    }

    /// Sends the vote on question `k`, due at `at` (twice when the plan says so).
    async fn send_vote(&mut self, conn: &mut Connection, k: usize, at: Instant) {
        let conference = &self.plan.conferences[self.c];
        let Some(q) = self.questions.get_mut(&k) else {
            return;
        };
        let Some(vote) = q.vote else {
            return;
        };
        q.due_at = Some(at);
        let qid = &conference.question_ids[k];
        let payload = json!({"conferenceId": conference.id, "questionId": qid, "selectedOption": vote.option});
        for _ in 0..if vote.twice { 2 } else { 1 } {
            let before = Instant::now();
            if conn.emit(event::VOTE_SUBMIT, &payload).await.is_ok() {
                if q.sent == 0 {
                    q.sent_us = wall_micros(before);
                    q.sent_ms = now_millis();
                }
                q.sent += 1;
            }
        }
        let lag = Instant::now().saturating_duration_since(at);
        self.sink
            .rec
            .time(metric::VOTE_SEND_LAG, lag.as_micros() as u64);
        self.sink.rec.question(qid, |t| {
            t.votes_sent += 1;
            t.duplicates_sent += u64::from(vote.twice);
        });
    }

    /// After coming back: every vote that got no answer goes again (the server says
    /// `duplicate` if it had counted it), and a vote that fell due while away goes now.
    async fn send_again(&mut self, conn: &mut Connection) {
        let conference = &self.plan.conferences[self.c];
        for (k, q) in self.questions.iter_mut() {
            if q.after_reconnection()
                && let Some(vote) = q.vote
            {
                let payload = json!({"conferenceId": conference.id, "questionId": conference.question_ids[*k], "selectedOption": vote.option});
                let _ = conn.emit(event::VOTE_SUBMIT, &payload).await;
            }
        }
        if self.away_by_design {
            for d in &mut self.due {
                d.1 = d.1.max(self.session_start);
            }
        }
    }

    /// Leaves: `conference:leave`, then what arrives until `conference:left` (answers to votes
    /// and broadcasts sent before the leave still come first). True when the conference ended
    /// meanwhile.
    async fn leave(&mut self, conn: &mut Connection) -> bool {
        let cid = self.plan.conferences[self.c].id.clone();
        if conn
            .emit(event::CONFERENCE_LEAVE, &json!({ "conferenceId": cid }))
            .await
            .is_err()
        {
            return false;
        }
        let until =
            (Instant::now() + Duration::from_secs(10)).min(self.end + Duration::from_secs(10));
        let mut over = false;
        while let Ok(Ok(frame)) = tokio::time::timeout_at(until.into(), conn.recv()).await {
            if matches!(frame.parse::<serde::de::IgnoredAny>(), Some((name, _)) if name == event::CONFERENCE_LEFT)
            {
                self.sink.rec.delivered(frame.at, false);
                break;
            }
            over |= self.on_event(&frame);
        }
        over
    }

    /// The last final result can overtake the answer to a vote sent just before the close (on a
    /// saturated box by several seconds): outstanding answers get 20 s before they count as
    /// never answered.
    async fn await_answers(&mut self, conn: &mut Connection) {
        let grace =
            (Instant::now() + Duration::from_secs(20)).min(self.end + Duration::from_secs(20));
        while self.questions.values().any(|q| q.answers < q.sent) {
            match tokio::time::timeout_at(grace.into(), conn.recv()).await {
                Ok(Ok(frame)) => {
                    self.on_event(&frame);
                }
                _ => break,
            }
        }
    }

    fn end_session(&mut self, how: End, at: i64) {
        if let Some(mut s) = self.session.take() {
            s.ended(how, at);
            self.sink.rec.session(s);
        }
        for q in self.questions.values_mut() {
            if how != End::Stayed {
                q.reconnected = true;
            }
        }
    }

    /// Handles one message; true when the conference is over for this voter.
    fn on_event(&mut self, frame: &EventFrame) -> bool {
        let sink = &self.sink;
        let Some((name, data)) = seen(frame) else {
            sink.rec.delivered(frame.at, false);
            sink.rec.error("UNREADABLE");
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
        let Some(k) = k else {
            if name == event::ERROR {
                sink.rec.error(data.code.as_deref().unwrap_or("?"));
            }
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
                let counts = data.option_counts.unwrap_or_default();
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
            event::ERROR => sink.rec.error(data.code.as_deref().unwrap_or("?")),
            _ => {}
        }
        false
    }

    /// `vote:accepted` or `vote:rejected` on question `k`.
    fn on_answer(&mut self, name: &str, data: &super::seen::Seen, frame: &EventFrame, k: usize) {
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
        q.answers += 1;
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

    /// The voter's tallies, once it is done.
    fn finish(mut self) {
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
