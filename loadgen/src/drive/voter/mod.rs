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
use lcr_protocol::{event, now_millis};
use serde_json::json;

mod events;
mod join;

use super::Sink;
use super::question::PerQuestion;
use super::timeline::{Live, Timelines};
use crate::clock::wall_micros;
use crate::plan::{Plan, Role};
use crate::record::attendance::{Attendance, End};
use crate::record::faults::Outcome;
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
    /// Its planned stop: it reads no more (a slow reader).
    Slow,
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
    /// When it stops reading, once its question is live (a slow reader).
    slow_at: Option<Instant>,
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
            slow_at: None,
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
        let mut rejoining = None;
        loop {
            let Some(joined) = self.connect_and_join().await else {
                if rejoining.is_some() {
                    self.sink.rec.disconnect();
                }
                break;
            };
            match rejoining {
                None if self.role.arrives.is_some() => self.sink.rec.churn(|c| c.arrived += 1),
                None => {}
                Some(End::Dropped) => self.sink.rec.returned(joined.at),
                Some(_) => self.sink.rec.reconnected(joined.at),
            }
            let mut conn = joined.conn;
            self.session = Some(Attendance::new(self.c, self.i, joined.at));
            self.session_start = joined.instant;
            let over = self.absorb(joined.early, joined.live);
            if rejoining.is_some() {
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
                    self.leave(&mut conn).await;
                    self.end_session(End::Left, at);
                    self.sink.rec.churn(|c| c.left += 1);
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
                    rejoining = Some(End::Dropped);
                }
                Exit::Lost if self.plan.reconnect && Instant::now() < self.end => {
                    // A node died: come back on the next target.
                    self.end_session(End::Lost, now_millis());
                    self.lost += 1;
                    self.target = self.plan.target_after(self.i, self.lost).to_owned();
                    rejoining = Some(End::Lost);
                }
                Exit::Lost => {
                    self.end_session(End::Lost, now_millis());
                    self.sink.rec.disconnect();
                    break;
                }
                Exit::Slow => {
                    self.stop_reading(conn).await;
                    break;
                }
            }
        }
        self.finish();
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
        if self.slow_at.is_none()
            && let Some(m) = self.role.slow
            && let Some(l) = self.timelines.live(self.c, m.question)
        {
            self.slow_at = Some(l.instant_after(m.after_ms));
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
        // One timer for whichever comes first (the end, the leave, the drop, the next vote),
        // moved only when that changes: a message does not touch the timer wheel.
        let far = self.end + Duration::from_secs(3600);
        let next_at = |v: &Voter| {
            [
                Some(v.end),
                v.leave_at,
                v.drop_at,
                v.slow_at,
                v.due.first().map(|d| d.1),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(far)
        };
        let mut armed = next_at(self);
        let timer = tokio::time::sleep_until(armed.into());
        tokio::pin!(timer);
        loop {
            let wanted = next_at(self);
            if wanted != armed {
                armed = wanted;
                timer.as_mut().reset(armed.into());
            }
            let next = tokio::select! {
                biased;
                () = &mut timer => {
                    let now = Instant::now();
                    if now >= self.end {
                        return Exit::Over;
                    }
                    if self.leave_at.is_some_and(|t| now >= t) {
                        return Exit::Leave;
                    }
                    if self.slow_at.is_some_and(|t| now >= t) {
                        return Exit::Slow;
                    }
                    if self.drop_at.is_some_and(|t| now >= t) {
                        self.drop_at = None;
                        self.dropped = true;
                        let back = self.role.drops.map_or(0, |d| d.back_after_ms);
                        return Exit::Drop(now + Duration::from_millis(back));
                    }
                    if self.due.first().is_some_and(|d| now >= d.1) {
                        let (k, at) = self.due.remove(0);
                        self.send_vote(conn, k, at).await;
                    }
                    // Fired: arm it again for what comes next.
                    armed = far + Duration::from_secs(1);
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
                    self.sink.rec.vote_outcome(q.sent_ms, Outcome::Sent);
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
    /// and broadcasts sent before the leave still come first).
    async fn leave(&mut self, conn: &mut Connection) {
        let cid = self.plan.conferences[self.c].id.clone();
        if conn
            .emit(event::CONFERENCE_LEAVE, &json!({ "conferenceId": cid }))
            .await
            .is_err()
        {
            return;
        }
        let until =
            (Instant::now() + Duration::from_secs(10)).min(self.end + Duration::from_secs(10));
        while let Ok(Ok(frame)) = tokio::time::timeout_at(until.into(), conn.recv()).await {
            if matches!(frame.parse::<serde::de::IgnoredAny>(), Some((name, _)) if name == event::CONFERENCE_LEFT)
            {
                self.sink.rec.delivered(frame.at, false);
                break;
            }
            self.on_event(&frame);
        }
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

    /// A slow reader's stop: once the votes it sent are answered (at most 10 s), it reads its
    /// socket no more, sends nothing and keeps the connection open until the server resets it
    /// (seen without reading, in `SO_ERROR`), its conference is over or the run ends. From the
    /// stop on it is out of the room: it votes no more and is owed no broadcast.
    async fn stop_reading(&mut self, mut conn: Connection) {
        let grace = (Instant::now() + Duration::from_secs(10)).min(self.end);
        while self.questions.values().any(|q| q.answers < q.sent) {
            match tokio::time::timeout_at(grace.into(), conn.recv()).await {
                Ok(Ok(frame)) => {
                    self.on_event(&frame);
                }
                _ => break,
            }
        }
        let stopped = Instant::now();
        self.end_session(End::Stopped, now_millis());
        self.sink.rec.churn(|c| c.slow += 1);
        let mut every = tokio::time::interval(Duration::from_millis(100));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if conn.transport_error().is_some() {
                let after = stopped.elapsed().as_millis() as u64;
                self.sink.rec.churn(|c| c.slow_disconnected(after));
                break;
            }
            if Instant::now() >= self.end || self.timelines.is_over(self.c) {
                break;
            }
        }
        // Dropped without a word, as a client that stopped reading would be.
        drop(conn);
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
}
