//! The participants: voters (in batches, one batch per goose user) and the host.
//!
//! A voter connects, joins, and on each `question:live` schedules its vote at
//! `startedAt + offset` (the plan's open-model schedule: it votes then whatever happened to the
//! others). The ack latency runs from that *scheduled* time, so a server that stalls shows the
//! stall (no coordinated omission). Every broadcast's fan-out delay is receipt time minus the
//! server's own timestamp in the payload.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::borrow::Cow;

use lcr_client::{ClientConfig, Connection, EventFrame, connect};
use lcr_protocol::event;
use lcr_protocol::{RejectReason, now_millis};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::plan::Plan;
use crate::record::{Recorder, metric};

/// One timing for goose (`record_custom_request_duration`).
#[derive(Debug, Clone)]
pub struct Sample {
    /// Metric name.
    pub name: &'static str,
    /// Duration.
    pub took: Duration,
    /// Whether the operation succeeded.
    pub ok: bool,
}

/// Where measurements go: the shard's recorder, and goose through its user's channel.
#[derive(Clone)]
pub struct Sink {
    /// The shard's recorder.
    pub rec: Arc<Recorder>,
    /// The goose user's channel.
    pub goose: mpsc::UnboundedSender<Sample>,
    /// Whether fan-out deliveries are also sent to goose one by one (they are always in the
    /// recorder's histograms); off, goose gets connect, join and vote timings only.
    pub fanout_to_goose: bool,
}

impl Sink {
    /// A delivery at `at` of broadcast `event` on `question`, sent at `sent` (server time): in
    /// loadgen's histogram `metric` and spreads, and in goose's when fan-out goes there too.
    fn fanout(
        &self,
        metric: &'static str,
        event: &'static str,
        question: &str,
        sent: i64,
        at: i64,
    ) {
        self.rec.fanout(metric, event, question, sent, at);
        if self.fanout_to_goose {
            let micros = ((at - sent).max(0) as u64) * 1000;
            let _ = self.goose.send(Sample {
                name: metric,
                took: Duration::from_micros(micros),
                ok: true,
            });
        }
    }

    fn time(&self, name: &'static str, micros: u64, ok: bool) {
        self.rec.time(name, micros);
        let _ = self.goose.send(Sample {
            name,
            took: Duration::from_micros(micros),
            ok,
        });
    }
}

impl PerQuestion {
    /// A question the voter just learned of, started at `started`, its vote (on `option`) due
    /// at `scheduled` (ms since the epoch).
    fn new(option: &'static str, started: i64, scheduled: i64) -> Self {
        PerQuestion {
            scheduled_at: None,
            option,
            sent: 0,
            answers: 0,
            accepted: 0,
            timers: 0,
            last_remaining: None,
            timers_repeated: 0,
            started_at: started,
            ticks_from: started,
            closed_at: None,
            closed: false,
            fin: false,
            reconnected: false,
            resent: false,
            sent_ms: scheduled,
            refused_closed: false,
        }
    }

    /// A `question:timer_update` with this `timeRemaining`. Each tick once, in order (D16): a
    /// repeat, or a tick older than the last, is counted apart and not as a tick heard, so it
    /// can not hide a missed one.
    fn heard_tick(&mut self, time_remaining: Option<i64>) {
        match (self.last_remaining, time_remaining) {
            (Some(last), Some(left)) if left >= last => self.timers_repeated += 1,
            (_, left) => {
                self.timers += 1;
                self.last_remaining = left.or(self.last_remaining);
            }
        }
    }
}

/// Voter `i` learned at `at` (wall clock, ms; `instant` on this machine's monotonic clock) that
/// question `k`, started at `started`, is live: its state, and when its vote is due. The vote is
/// due at `startedAt` + its offset in the schedule, on the monotonic clock anchored at `at`. If
/// the voter learned late the instant is already past: the vote goes at once, and its ack latency
/// still counts from the schedule (no coordinated omission).
fn learn_question(
    plan: &Plan,
    i: usize,
    k: usize,
    started: i64,
    at: i64,
    instant: Instant,
) -> (PerQuestion, Instant) {
    let (offset, option) = plan.vote_of(i, k);
    let scheduled = started + offset as i64;
    let q = PerQuestion::new(option, started, scheduled);
    let when = if scheduled >= at {
        instant + Duration::from_millis((scheduled - at) as u64)
    } else {
        instant
            .checked_sub(Duration::from_millis((at - scheduled) as u64))
            .unwrap_or(instant)
    };
    (q, when)
}

/// D16: a tick at startedAt + k·1000 for k = 1 … duration−1, before the close; a voter expects
/// those due after it learned of the question (`ticks_from`).
fn expected_ticks(q: &PerQuestion, duration: u32) -> u64 {
    let last = match q.closed_at {
        Some(closed) => ((closed - q.started_at - 1).max(0) / 1000).min(i64::from(duration) - 1),
        None => i64::from(duration) - 1,
    };
    let first = ((q.ticks_from - q.started_at).max(0) / 1000 + 1).max(1);
    (last - first + 1).max(0) as u64
}

/// How `user` connects to `target`: the profile's path and token, presented the profile's way.
async fn client_config(plan: &Plan, target: &str, user: &str) -> Result<ClientConfig, String> {
    let credentials = plan.credentials(user).await.map_err(|e| e.to_string())?;
    let mut cfg = ClientConfig::new(target.to_owned()).path(plan.path.clone());
    cfg.auth = credentials.auth;
    if let Some((k, v)) = credentials.query {
        cfg = cfg.query(k, v);
    }
    if let Some((k, v)) = credentials.header {
        cfg = cfg.header(k, v);
    }
    Ok(cfg)
}

/// Runs voters `range` to the end of the run (last final result, or the deadline).
pub async fn run_voters(plan: Arc<Plan>, range: std::ops::Range<usize>, sink: Sink, end: Instant) {
    let tasks: Vec<_> = range
        .map(|i| {
            let (plan, sink) = (plan.clone(), sink.clone());
            tokio::spawn(async move { voter(plan, i, sink, end).await })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

struct PerQuestion {
    /// The vote's scheduled instant, once its time has come.
    scheduled_at: Option<Instant>,
    option: &'static str,
    /// Votes sent (2 for a voter that also sends a duplicate) and answers received.
    sent: u32,
    answers: u32,
    accepted: u32,
    timers: u64,
    /// The last `timeRemaining` heard, and the ticks heard again or out of order.
    last_remaining: Option<i64>,
    timers_repeated: u64,
    started_at: i64,
    /// Ticks due after this instant (ms) are expected: `startedAt`, or when the voter learned
    /// of the question from `conference:joined` (it was not in the room before).
    ticks_from: i64,
    closed_at: Option<i64>,
    closed: bool,
    fin: bool,
    /// The connection died during this question (`--reconnect`): timer updates of the gap
    /// are not expected.
    reconnected: bool,
    /// The vote was sent again after a reconnection.
    resent: bool,
    /// When the vote left: its scheduled wall-clock time (`startedAt` + offset, ms since the
    /// epoch) until it is written, then the time its write to the socket returned. A vote is
    /// judged by when it left, so the generator's own lag is not held against the server.
    sent_ms: i64,
    /// The first answer was `question_closed`.
    refused_closed: bool,
}

/// The fields a voter reads, of whichever event: decoded straight from the frame, borrowing
/// its strings (a voter handles a message a second for the whole run, so no `Value` tree).
/// Lenient: fields a server leaves out are `None`, fields it adds are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Seen<'a> {
    #[serde(borrow)]
    question_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    live_question: Option<SeenLive<'a>>,
    started_at: Option<i64>,
    expires_at: Option<i64>,
    time_remaining: Option<i64>,
    timestamp: Option<i64>,
    closed_at: Option<i64>,
    #[serde(borrow)]
    selected_option: Option<Cow<'a, str>>,
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    option_counts: Option<BTreeMap<String, u64>>,
    total_votes: Option<u64>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    context: Option<SeenContext<'a>>,
}

/// `conference:joined.liveQuestion` (D13): the question live when the voter joined.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct SeenLive<'a> {
    #[serde(borrow)]
    question_id: Option<Cow<'a, str>>,
    started_at: Option<i64>,
}

/// A question a voter learned of from `conference:joined` (D13): its join raced the push, so
/// the socket entered the room after `question:live` went out and the live question came with
/// the join's answer instead.
#[derive(Debug, Clone, Copy)]
struct LiveAtJoin {
    k: usize,
    started_at: i64,
    /// Receipt of `conference:joined`, wall clock (ms) and monotonic.
    at: i64,
    instant: Instant,
}

/// `error.context`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SeenContext<'a> {
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
}

/// Decodes a frame for a voter; a frame it cannot read is counted as a delivery and reported
/// as an `error` of code `UNREADABLE` (a server bug the run must show).
fn seen(frame: &EventFrame) -> Option<(Cow<'_, str>, Seen<'_>)> {
    frame
        .parse::<Seen>()
        .map(|(name, data)| (name, data.unwrap_or_default()))
}

/// A voter's connection, joined.
struct Joined {
    conn: Connection,
    /// The question `conference:joined` said was live, if any (D13).
    live: Option<LiveAtJoin>,
    /// Events that came before `conference:joined`, in order. The socket is in the room before
    /// its join is answered, so a broadcast (`question:live` of a push that raced the join) can
    /// come first, while `conference:joined` says no question is live: it read that earlier.
    early: Vec<EventFrame>,
}

/// Connects voter `i` to `target` and joins the conference; `None` when it cannot.
async fn connect_and_join(
    plan: &Plan,
    i: usize,
    target: &str,
    sink: &Sink,
    end: Instant,
) -> Option<Joined> {
    let user = plan.voter_user(i);
    let mut cfg = match client_config(plan, target, &user).await {
        Ok(cfg) => cfg,
        Err(e) => {
            tracing::warn!(voter = i, error = %e, "no token");
            sink.rec.connect_failed();
            return None;
        }
    };
    if !plan.local_ips.is_empty() {
        cfg = cfg.local_ip(plan.local_ips[i % plan.local_ips.len()]);
    }
    cfg.connect_timeout = Duration::from_secs(30);
    let cid = plan.conference_id();

    // Connect (retried: a listen backlog overflow under a connect storm is not the server's
    // answer), then join (retried while the conference does not exist yet: another shard makes it).
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
                if attempt >= 5 || Instant::now() >= end {
                    tracing::warn!(voter = i, error = %e, "connect failed");
                    sink.rec.connect_failed();
                    sink.time(metric::CONNECT, t.elapsed().as_micros() as u64, false);
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
        }
    };
    sink.rec.connected(now_millis(), 1);
    let mut live = None;
    let mut early = Vec::new();
    let joined = loop {
        let t = Instant::now();
        if conn
            .emit(event::CONFERENCE_JOIN, &json!({ "conferenceId": cid }))
            .await
            .is_err()
        {
            break false;
        }
        let mut outcome = None;
        while outcome.is_none() {
            let Ok(Ok(frame)) = tokio::time::timeout_at(end.into(), conn.recv()).await else {
                break;
            };
            match seen(&frame) {
                Some((name, data)) if name == event::CONFERENCE_JOINED => {
                    live = data.live_question.and_then(|l| {
                        Some(LiveAtJoin {
                            k: plan.question_index(l.question_id.as_deref()?)?,
                            started_at: l.started_at?,
                            at: frame.at,
                            instant: frame.instant,
                        })
                    });
                    outcome = Some(true)
                }
                Some((name, data))
                    if name == event::ERROR
                        && data.context.as_ref().and_then(|c| c.event.as_deref())
                            == Some(event::CONFERENCE_JOIN) =>
                {
                    outcome = Some(false)
                }
                _ => early.push(frame),
            }
        }
        match outcome {
            Some(true) => {
                sink.time(metric::JOIN, t.elapsed().as_micros() as u64, true);
                break true;
            }
            Some(false) if Instant::now() + Duration::from_millis(500) < end => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            _ => {
                sink.time(metric::JOIN, t.elapsed().as_micros() as u64, false);
                break false;
            }
        }
    };
    if !joined {
        sink.rec.connected(now_millis(), -1);
        conn.close().await;
        return None;
    }
    Some(Joined { conn, live, early })
}

/// The `vote:submit` payload for question `k`.
fn vote_payload(plan: &Plan, k: usize, option: &str) -> Value {
    json!({"conferenceId": plan.conference_id(), "questionId": plan.question_id(k), "selectedOption": option})
}

/// Sends voter `i`'s vote on question `k` (twice for one voter in a hundred).
async fn send_vote(
    plan: &Plan,
    i: usize,
    k: usize,
    at: Instant,
    conn: &mut Connection,
    sink: &Sink,
    questions: &mut BTreeMap<usize, PerQuestion>,
) {
    let Some(q) = questions.get_mut(&k) else {
        return;
    };
    q.scheduled_at = Some(at);
    let qid = plan.question_id(k);
    let payload = vote_payload(plan, k, q.option);
    let twice = plan.votes_twice(i, k);
    for _ in 0..if twice { 2 } else { 1 } {
        if conn.emit(event::VOTE_SUBMIT, &payload).await.is_ok() {
            if q.sent == 0 {
                q.sent_ms = now_millis();
            }
            q.sent += 1;
        }
    }
    let lag = Instant::now().saturating_duration_since(at);
    sink.rec.time(metric::VOTE_SEND_LAG, lag.as_micros() as u64);
    sink.rec.question(&qid, |t| {
        t.votes_sent += 1;
        t.duplicates_sent += u64::from(twice);
    });
}

/// One voter: one task, its connection owned here (no connection task, no channel), one timer
/// for the run's end and one for its next vote.
async fn voter(plan: Arc<Plan>, i: usize, sink: Sink, end: Instant) {
    let Some(Joined {
        mut conn,
        live,
        early,
    }) = connect_and_join(&plan, i, plan.target_for(i), &sink, end).await
    else {
        return;
    };
    let mut lost = 0;

    let mut questions: BTreeMap<usize, PerQuestion> = BTreeMap::new();
    // Votes scheduled and not sent yet, (question, instant), earliest first.
    let mut due: Vec<(usize, Instant)> = Vec::new();
    let deadline = tokio::time::sleep_until(end.into());
    let vote_timer = tokio::time::sleep_until(end.into());
    tokio::pin!(deadline, vote_timer);
    // What a join brought: the events before its answer, then the live question it named
    // (D13), which counts as heard from then on unless an early `question:live` told it first.
    // Returns true when the run is over for this voter; `due` comes back sorted.
    let absorb = |early: &[EventFrame],
                  live: Option<LiveAtJoin>,
                  reconnected: bool,
                  questions: &mut BTreeMap<usize, PerQuestion>,
                  due: &mut Vec<(usize, Instant)>|
     -> bool {
        let mut done = false;
        for frame in early {
            let mut schedule = None;
            done |= on_event(&plan, i, frame, &sink, questions, &mut schedule);
            due.extend(schedule);
        }
        if let Some(l) = live.filter(|l| !questions.contains_key(&l.k)) {
            if !reconnected {
                sink.rec.joined_late(l.at);
            }
            let qid = plan.question_id(l.k);
            sink.fanout(
                metric::FANOUT_LIVE,
                event::QUESTION_LIVE,
                &qid,
                l.started_at,
                l.at,
            );
            let (mut q, when) = learn_question(&plan, i, l.k, l.started_at, l.at, l.instant);
            q.ticks_from = l.at;
            q.reconnected = reconnected;
            questions.insert(l.k, q);
            due.push((l.k, when));
        }
        due.sort_by_key(|(_, at)| *at);
        done
    };
    let mut done = absorb(&early, live, false, &mut questions, &mut due);
    if let Some((_, first)) = due.first() {
        vote_timer.as_mut().reset((*first).into());
    }
    while !done {
        let next = tokio::select! {
            biased;
            () = &mut deadline => break,
            () = &mut vote_timer, if !due.is_empty() => {
                let (k, at) = due.remove(0);
                send_vote(&plan, i, k, at, &mut conn, &sink, &mut questions).await;
                if let Some((_, next)) = due.first() {
                    vote_timer.as_mut().reset((*next).into());
                }
                continue;
            }
            r = conn.recv() => r,
        };
        match next {
            Ok(frame) => {
                let mut schedule = None;
                let done = on_event(&plan, i, &frame, &sink, &mut questions, &mut schedule);
                if let Some((k, at)) = schedule {
                    due.push((k, at));
                    due.sort_by_key(|(_, at)| *at);
                    vote_timer.as_mut().reset(due[0].1.into());
                }
                if done {
                    break;
                }
            }
            Err(_) if plan.reconnect && Instant::now() < end => {
                // The node died: come back on the next target, and send again every vote that
                // got no answer (the server says `duplicate` if it had counted it).
                lost += 1;
                sink.rec.connected(now_millis(), -1);
                let Some(joined) =
                    connect_and_join(&plan, i, plan.target_after(i, lost), &sink, end).await
                else {
                    sink.rec.disconnect();
                    break;
                };
                conn = joined.conn;
                sink.rec.reconnected();
                done = absorb(&joined.early, joined.live, true, &mut questions, &mut due);
                if let Some((_, first)) = due.first() {
                    vote_timer.as_mut().reset((*first).into());
                }
                for (k, q) in questions.iter_mut() {
                    q.reconnected = true;
                    if q.answers < q.sent && q.accepted == 0 && !q.closed {
                        q.sent = q.answers + 1;
                        q.resent = true;
                        let payload = vote_payload(&plan, *k, q.option);
                        let _ = conn.emit(event::VOTE_SUBMIT, &payload).await;
                    } else {
                        q.sent = q.sent.min(q.answers.max(q.accepted));
                    }
                }
            }
            Err(_) => {
                sink.rec.disconnect();
                break;
            }
        }
    }
    // The last final result can overtake the answer to a vote sent just before the close (on
    // a saturated box by several seconds): give outstanding answers 20 s before counting them
    // as never answered.
    let grace = (Instant::now() + Duration::from_secs(20)).min(end + Duration::from_secs(20));
    while questions.values().any(|q| q.answers < q.sent) {
        match tokio::time::timeout_at(grace.into(), conn.recv()).await {
            Ok(Ok(frame)) => {
                on_event(&plan, i, &frame, &sink, &mut questions, &mut None);
            }
            _ => break,
        }
    }
    for (k, q) in &questions {
        let qid = plan.question_id(*k);
        let expected = expected_ticks(q, plan.question_duration);
        sink.rec.question(&qid, |t| {
            if q.answers < q.sent {
                t.votes_unanswered += u64::from(q.sent - q.answers);
            }
            if q.accepted > 1 {
                t.accepted_twice += 1;
            }
            // A second of slack: a vote that left in the last second may meet the close on the
            // way. Without question:closed (itself a violation), the close is the timeout.
            let closed_at = q
                .closed_at
                .unwrap_or(q.started_at + i64::from(plan.question_duration) * 1000);
            if q.refused_closed && !q.resent && q.sent_ms + 1000 <= closed_at {
                t.refused_in_time += 1;
            }
            t.got_live += 1;
            t.got_closed += u64::from(q.closed);
            t.got_final += u64::from(q.fin);
            t.timer_updates += q.timers;
            if !q.reconnected {
                // Across a reconnection a voter may hear one broadcast from both nodes, and
                // miss ticks in the gap: neither is held against the server.
                t.timer_repeated += q.timers_repeated;
                t.timer_expected += expected;
                t.timer_missed += expected.saturating_sub(q.timers);
            }
        });
    }
    sink.rec.connected(now_millis(), -1);
    conn.close().await;
}

/// Handles one message; true when the run is over for this voter. A `question:live` puts the
/// voter's vote on that question in `schedule`.
fn on_event(
    plan: &Plan,
    i: usize,
    frame: &EventFrame,
    sink: &Sink,
    questions: &mut BTreeMap<usize, PerQuestion>,
    schedule: &mut Option<(usize, Instant)>,
) -> bool {
    let Some((name, data)) = seen(frame) else {
        sink.rec.delivered(frame.at, false);
        sink.rec.error("UNREADABLE");
        tracing::warn!(voter = i, frame = frame.text(), "unreadable event");
        return false;
    };
    let at = frame.at;
    let qid = data.question_id.as_deref().unwrap_or_default();
    let k = plan.question_index(qid);
    let fanout = |name: &'static str, key: &'static str, server: Option<i64>| match server {
        Some(s) => sink.fanout(name, key, qid, s, at),
        None => sink.rec.delivered(at, false),
    };
    match &*name {
        event::VOTE_ACCEPTED | event::VOTE_REJECTED => sink.rec.delivered(at, true),
        event::QUESTION_LIVE
        | event::QUESTION_TIMER_UPDATE
        | event::VOTE_RESULT
        | event::QUESTION_CLOSED
        | event::VOTE_FINAL_RESULT => {}
        _ => sink.rec.delivered(at, false),
    }
    match &*name {
        event::QUESTION_LIVE => {
            fanout(metric::FANOUT_LIVE, event::QUESTION_LIVE, data.started_at);
            if let (Some(k), Some(started)) = (k, data.started_at) {
                let (q, when) = learn_question(plan, i, k, started, at, frame.instant);
                questions.insert(k, q);
                *schedule = Some((k, when));
            }
        }
        event::QUESTION_TIMER_UPDATE => {
            // When the tick was due by D16, expiresAt − timeRemaining·1000: spec fields, so this
            // works against any server, with or without a timestamp extension.
            let due = data
                .expires_at
                .zip(data.time_remaining)
                .map(|(e, left)| e - left * 1000);
            fanout(metric::FANOUT_TIMER, event::QUESTION_TIMER_UPDATE, due);
            if let Some(q) = k.and_then(|k| questions.get_mut(&k)) {
                q.heard_tick(data.time_remaining);
            }
        }
        event::VOTE_RESULT => fanout(metric::FANOUT_RESULT, event::VOTE_RESULT, data.timestamp),
        event::QUESTION_CLOSED => {
            fanout(
                metric::FANOUT_CLOSED,
                event::QUESTION_CLOSED,
                data.closed_at,
            );
            if let Some(q) = k.and_then(|k| questions.get_mut(&k)) {
                q.closed = true;
                q.closed_at = data.closed_at;
            }
        }
        event::VOTE_FINAL_RESULT => {
            fanout(
                metric::FANOUT_FINAL,
                event::VOTE_FINAL_RESULT,
                data.closed_at,
            );
            if let Some(k) = k {
                if let Some(q) = questions.get_mut(&k) {
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
                return k + 1 == plan.questions;
            }
        }
        event::VOTE_ACCEPTED | event::VOTE_REJECTED => {
            if let Some(q) = k.and_then(|k| questions.get_mut(&k)) {
                let accepted = name == event::VOTE_ACCEPTED;
                let reason = data.reason.as_deref().unwrap_or("?");
                if let (Some(sent_at), 0) = (q.scheduled_at, q.answers) {
                    let micros =
                        frame.instant.saturating_duration_since(sent_at).as_micros() as u64;
                    sink.time(metric::VOTE_ACK, micros, accepted);
                    q.refused_closed = reason == RejectReason::QuestionClosed.as_str();
                }
                q.answers += 1;
                if accepted {
                    q.accepted += 1;
                    let option = data.selected_option.as_deref().unwrap_or("?").to_owned();
                    sink.rec.question(qid, |t| {
                        *t.accepted_by_option.entry(option).or_default() += 1
                    });
                } else if q.resent && q.accepted == 0 && reason == RejectReason::Duplicate.as_str()
                {
                    // Counted before the connection died: its vote:accepted was lost with it.
                    q.accepted += 1;
                    let option = q.option.to_owned();
                    sink.rec.question(qid, |t| {
                        *t.accepted_by_option.entry(option).or_default() += 1;
                        t.accepted_before_reconnect += 1;
                    });
                } else {
                    let unknown = q.resent
                        && q.accepted == 0
                        && reason == RejectReason::QuestionClosed.as_str();
                    let option = q.option.to_owned();
                    let reason = reason.to_owned();
                    sink.rec.question(qid, |t| {
                        if unknown {
                            *t.unknown_after_reconnect.entry(option).or_default() += 1;
                        }
                        *t.rejected_by_reason.entry(reason).or_default() += 1
                    });
                }
            }
        }
        event::ERROR => sink.rec.error(data.code.as_deref().unwrap_or("?")),
        _ => {}
    }
    false
}

/// Why the host could not run the questions.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The host's socket failed.
    #[error("host socket: {0}")]
    Socket(String),
    /// Voters did not all connect before the deadline.
    #[error("only {have} of {want} voters joined before the deadline")]
    Audience {
        /// Present.
        have: u64,
        /// Expected.
        want: u64,
    },
}

/// The host: joins, waits for every voter, pushes the questions one after another and waits
/// for each final result. Returns the final results it received.
pub async fn run_host(plan: Arc<Plan>, sink: Sink, end: Instant) -> Result<Vec<Value>, HostError> {
    let user = plan.host_user();
    let cid = plan.conference_id();
    let host_at = |target: &str| {
        let (plan, user, target, cid) =
            (plan.clone(), user.clone(), target.to_owned(), cid.clone());
        async move {
            let cfg = client_config(&plan, &target, &user)
                .await
                .map_err(HostError::Socket)?;
            let (client, events) = connect(&cfg)
                .await
                .map_err(|e| HostError::Socket(e.to_string()))?;
            client
                .emit(event::CONFERENCE_JOIN, &json!({ "conferenceId": cid }))
                .map_err(|e| HostError::Socket(e.to_string()))?;
            Ok::<_, HostError>((client, events))
        }
    };
    let (mut client, mut events) = host_at(&plan.targets[0]).await?;
    let mut lost = 0;
    let want = plan.voters as u64;
    let mut have = 0;
    // Wait for every voter: the count comes with conference:joined and audience:count.
    while have < want {
        let Ok(Some(r)) = tokio::time::timeout_at(end.into(), events.next()).await else {
            return Err(HostError::Audience { have, want });
        };
        match r.name.as_str() {
            event::CONFERENCE_JOINED | event::AUDIENCE_COUNT | event::AUDIENCE_JOINED => {
                have = have.max(r.data["audienceCount"].as_u64().unwrap_or(0));
            }
            _ => {}
        }
        let _ = &sink;
    }
    let mut finals = Vec::new();
    for k in 0..plan.questions {
        let qid = plan.question_id(k);
        let payload =
            json!({"conferenceId": cid, "questionId": qid, "duration": plan.question_duration});
        client
            .emit(event::QUESTION_PUSH_LIVE, &payload)
            .map_err(|e| HostError::Socket(e.to_string()))?;
        let mut close_at = None;
        loop {
            let wait_until = close_at.map_or(end, |c: Instant| c.min(end));
            match tokio::time::timeout_at(wait_until.into(), events.next()).await {
                Ok(Some(r))
                    if r.name == event::QUESTION_LIVE && r.data["questionId"] == qid.as_str() =>
                {
                    close_at = plan
                        .close_after
                        .map(|s| Instant::now() + Duration::from_secs(u64::from(s)));
                }
                Ok(Some(r))
                    if r.name == event::VOTE_FINAL_RESULT
                        && r.data["questionId"] == qid.as_str() =>
                {
                    finals.push(r.data);
                    break;
                }
                Ok(Some(r)) if r.name == event::ERROR => {
                    tracing::warn!(error = %r.data, "host got an error");
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
                    (client, events) = host_at(&plan.targets[lost % plan.targets.len()]).await?;
                }
                Ok(None) => return Err(HostError::Socket("host connection closed".into())),
                Err(_) if Instant::now() >= end => return Ok(finals),
                Err(_) => {
                    close_at = None;
                    let _ = client.emit(
                        event::QUESTION_CLOSE,
                        &json!({"conferenceId": cid, "questionId": qid}),
                    );
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    client.close();
    Ok(finals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question() -> PerQuestion {
        PerQuestion::new("A", 0, 0)
    }

    #[test]
    fn conference_joined_tells_the_live_question_d13() {
        let joined: Seen = serde_json::from_str(
            r#"{"conferenceId":"c","conferenceStatus":"ACTIVE","audienceCount":3,"liveQuestion":
                {"conferenceId":"c","questionId":"run-q1","questionText":"?","options":[],
                 "duration":45,"startedAt":1700,"expiresAt":46700}}"#,
        )
        .unwrap();
        let live = joined.live_question.expect("liveQuestion");
        assert_eq!(
            (live.question_id.as_deref(), live.started_at),
            (Some("run-q1"), Some(1700))
        );
        let none: Seen =
            serde_json::from_str(r#"{"conferenceId":"c","liveQuestion":null}"#).unwrap();
        assert!(none.live_question.is_none());
    }

    #[test]
    fn a_voter_that_learned_of_the_question_at_its_join_expects_the_ticks_after_it() {
        // A 45 s question closed on time: ticks 1 … 44.
        let mut q = PerQuestion {
            started_at: 10_000,
            ticks_from: 10_000,
            closed_at: Some(55_000),
            ..question()
        };
        assert_eq!(expected_ticks(&q, 45), 44);
        // Learned from conference:joined 2.3 s in: ticks 3 … 44.
        q.ticks_from = 12_300;
        assert_eq!(expected_ticks(&q, 45), 42);
        // Closed by hand 5.5 s in, learned 6 s in: none.
        q.closed_at = Some(15_500);
        q.ticks_from = 16_000;
        assert_eq!(expected_ticks(&q, 45), 0);
    }

    #[test]
    fn a_repeated_or_late_tick_is_counted_apart_and_hides_no_missed_one() {
        let mut q = question();
        // 5, 5 (repeat), 3 (4 missed), 4 (out of order), 2.
        for left in [5, 5, 3, 4, 2] {
            q.heard_tick(Some(left));
        }
        assert_eq!((q.timers, q.timers_repeated), (3, 2));
    }
}
