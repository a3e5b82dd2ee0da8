//! The Redis adapter: spec §2's keys, types and TTLs, exactly ([`super::keys`]).
//!
//! Every step that reads and then writes is a Lua script (fred `i-scripts`), so a vote, a join
//! or a close is atomic across any number of server nodes: there is no check-then-set from the
//! server. Scripts are loaded by hash and reloaded transparently after a Redis restart.
//!
//! - this file: [`RedisStore`], its script calls and the [`RuntimeStore`] operations;
//! - `connect`: the connection settings, and connecting on the clock thread;
//! - `scripts`: the Lua scripts (`lua/`);
//! - `decode`: reading back stored numbers and the close snapshot;
//! - `durability`: what this Redis keeps across a restart.

pub(crate) mod connect;
mod decode;
mod durability;
mod scripts;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use fred::prelude::*;
use fred::types::scripts::Script;
use fred::types::{Expiration, SetOptions};
use lcr_protocol::{CloseReason, ConferenceStatus, Millis, RejectReason, Role};

use super::keys::{self, PUSH_LOCK_TTL_MS, QUESTION_KEYS_TTL_MS};
use super::{
    ConferenceRuntime, Durability, FinalRecord, Gate, Lease, LeaseGrant, LiveRun, PresenceChange,
    QuestionMeta, RuntimeStore, StoreResult, Tally, TickClaim, VoteOutcome,
};
use decode::{corrupt, parse_num, parse_snapshot};
use scripts::Scripts;

/// Runtime state in Redis 7, shared by every node given the same URL.
pub struct RedisStore {
    pool: Pool,
    /// A connection of its own for countdown control (leases, timer checks, open runs), so it
    /// never waits behind the votes and joins pipelined on the pool's connections.
    control: Client,
    scripts: Scripts,
    calls: Option<std::sync::Arc<crate::metrics::Histogram>>,
}

impl RedisStore {
    /// Times every script call (every atomic step of a flow) into `calls`.
    pub fn timed_by(mut self, calls: std::sync::Arc<crate::metrics::Histogram>) -> Self {
        self.calls = Some(calls);
        self
    }

    /// The connection pool, for callers that need raw Redis (tests, the Socket.IO adapter).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    async fn eval<R: FromValue>(
        &self,
        script: &Script,
        keys: Vec<String>,
        args: Vec<Value>,
    ) -> StoreResult<R> {
        self.eval_on(self.pool.next(), script, keys, args).await
    }

    async fn eval_on<R: FromValue>(
        &self,
        client: &Client,
        script: &Script,
        keys: Vec<String>,
        args: Vec<Value>,
    ) -> StoreResult<R> {
        let started = std::time::Instant::now();
        let out = script.evalsha_with_reload(client, keys, args).await;
        if let Some(calls) = &self.calls {
            calls.record(started.elapsed());
        }
        Ok(out?)
    }
}

fn role_arg(role: Role) -> Value {
    Value::from(if role == Role::Audience { "1" } else { "0" })
}

#[async_trait]
impl RuntimeStore for RedisStore {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn shared(&self) -> bool {
        true
    }

    async fn ping(&self) -> StoreResult<()> {
        let _: String = self.pool.next().ping(None).await?;
        Ok(())
    }

    async fn put_conference(
        &self,
        c: &str,
        host: &str,
        status: ConferenceStatus,
    ) -> StoreResult<()> {
        let client = self.pool.next();
        let _: () = client.set(keys::host(c), host, None, None, false).await?;
        self.set_status(c, status).await
    }

    async fn conference(&self, c: &str) -> StoreResult<Option<ConferenceRuntime>> {
        let values: Vec<Option<String>> = self
            .pool
            .next()
            .mget(vec![keys::host(c), keys::status(c)])
            .await?;
        let mut it = values.into_iter();
        let (host, status) = (it.next().flatten(), it.next().flatten());
        let Some(host_user_id) = host else {
            return Ok(None);
        };
        let status = match status {
            None => ConferenceStatus::Draft,
            Some(s) => ConferenceStatus::parse(&s)
                .ok_or_else(|| corrupt(&keys::status(c), format!("unknown status {s}")))?,
        };
        Ok(Some(ConferenceRuntime {
            host_user_id,
            status,
        }))
    }

    async fn set_status(&self, c: &str, status: ConferenceStatus) -> StoreResult<()> {
        let client = self.pool.next();
        if status.is_runtime_status() {
            let _: () = client
                .set(keys::status(c), status.as_str(), None, None, false)
                .await?;
        } else {
            let _: () = client.del(keys::status(c)).await?;
        }
        Ok(())
    }

    async fn clear_presence(&self, c: &str) -> StoreResult<()> {
        let _: i64 = self
            .eval(
                &self.scripts.clear_presence,
                vec![
                    keys::audience_sockets(c),
                    keys::audience(c),
                    keys::audience_count(c),
                ],
                vec![c.into()],
            )
            .await?;
        Ok(())
    }

    async fn add_member(&self, c: &str, u: &str, role: Role) -> StoreResult<PresenceChange> {
        let (first, count): (i64, u64) = self
            .eval(
                &self.scripts.join,
                presence_keys(c, u),
                vec![u.into(), c.into(), role_arg(role)],
            )
            .await?;
        Ok(PresenceChange {
            user_changed: first == 1,
            audience_count: count,
        })
    }

    async fn remove_member(&self, c: &str, u: &str, role: Role) -> StoreResult<PresenceChange> {
        let (last, count): (i64, u64) = self
            .eval(
                &self.scripts.leave,
                presence_keys(c, u),
                vec![u.into(), c.into(), role_arg(role)],
            )
            .await?;
        Ok(PresenceChange {
            user_changed: last == 1,
            audience_count: count,
        })
    }

    async fn audience_count(&self, c: &str) -> StoreResult<u64> {
        let client = self.pool.next();
        let cached: Option<u64> = client.get(keys::audience_count(c)).await?;
        if let Some(n) = cached {
            return Ok(n);
        }
        let n: u64 = client.scard(keys::audience(c)).await?;
        // NX: a join or leave in between already wrote a fresher count; keep it.
        let _: Option<String> = client
            .set(
                keys::audience_count(c),
                n,
                Some(Expiration::EX(keys::AUDIENCE_COUNT_TTL_SECS)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        Ok(n)
    }

    async fn try_lock_push(&self, c: &str, _now: Millis) -> StoreResult<Option<String>> {
        let token = keys::lock_token();
        let set: Option<String> = self
            .pool
            .next()
            .set(
                keys::push_lock(c),
                token.as_str(),
                Some(Expiration::PX(PUSH_LOCK_TTL_MS)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        Ok(set.map(|_| token))
    }

    async fn unlock_push(&self, c: &str, token: &str) -> StoreResult<()> {
        let _: i64 = self
            .eval(
                &self.scripts.unlock,
                vec![keys::push_lock(c)],
                vec![token.into()],
            )
            .await?;
        Ok(())
    }

    async fn live_question(&self, c: &str) -> StoreResult<Option<LiveRun>> {
        let key = keys::live_question(c);
        let h: HashMap<String, String> = self.pool.next().hgetall(&key).await?;
        let Some(question_id) = h.get("questionId") else {
            return Ok(None);
        };
        Ok(Some(LiveRun {
            conference_id: c.to_owned(),
            question_id: question_id.clone(),
            started_at: parse_num(&key, "startedAt", h.get("startedAt"))?,
            expires_at: parse_num(&key, "expiresAt", h.get("expiresAt"))?,
            duration: parse_num(&key, "duration", h.get("duration"))?,
        }))
    }

    async fn timer_running(&self, run: &LiveRun) -> StoreResult<bool> {
        let started: Option<Millis> = self
            .control
            .hget(keys::timer(&run.question_id), "startedAt")
            .await?;
        Ok(started == Some(run.started_at))
    }

    async fn start_question(&self, run: &LiveRun, meta: &QuestionMeta) -> StoreResult<()> {
        let q = &run.question_id;
        let options = serde_json::to_string(&meta.options).unwrap_or_else(|_| "[]".into());
        let meta_ttl = QUESTION_KEYS_TTL_MS.max(run.duration as i64 * 1000 + 60_000);
        let mut args: Vec<Value> = vec![
            run.conference_id.as_str().into(),
            q.as_str().into(),
            meta.question_text.as_str().into(),
            options.into(),
            meta.correct_option.as_str().into(),
            run.started_at.into(),
            run.expires_at.into(),
            (run.duration as i64).into(),
            meta_ttl.into(),
            (i64::from(run.duration) * 1000 + QUESTION_KEYS_TTL_MS).into(),
        ];
        args.extend(meta.options.iter().map(|o| Value::from(o.key.as_str())));
        let _: i64 = self
            .eval(
                &self.scripts.start,
                vec![
                    keys::meta(q),
                    keys::live_question(&run.conference_id),
                    keys::timer(q),
                    keys::counts(q),
                    keys::voters(q),
                    keys::correct(q),
                    keys::OPEN_RUNS.to_owned(),
                ],
                args,
            )
            .await?;
        Ok(())
    }

    async fn question_meta(&self, q: &str) -> StoreResult<Option<QuestionMeta>> {
        let key = keys::meta(q);
        let h: HashMap<String, String> = self.pool.next().hgetall(&key).await?;
        let (Some(c), Some(text), Some(options), Some(correct)) = (
            h.get("conferenceId"),
            h.get("questionText"),
            h.get("options"),
            h.get("correctOption"),
        ) else {
            return Ok(None);
        };
        Ok(Some(QuestionMeta {
            conference_id: c.clone(),
            question_id: q.to_owned(),
            question_text: text.clone(),
            options: serde_json::from_str(options).map_err(|e| corrupt(&key, e.to_string()))?,
            correct_option: correct.clone(),
        }))
    }

    async fn record_vote(
        &self,
        c: &str,
        q: &str,
        u: &str,
        option: &str,
        now: Millis,
    ) -> StoreResult<VoteOutcome> {
        let (verdict, detail): (String, Value) = self
            .eval(
                &self.scripts.vote,
                vec![
                    keys::host(c),
                    keys::live_question(c),
                    keys::meta(q),
                    keys::voters(q),
                    keys::counts(q),
                    keys::correct(q),
                    keys::vote_lock(q, u),
                    keys::status(c),
                ],
                vec![
                    u.into(),
                    q.into(),
                    option.into(),
                    now.into(),
                    QUESTION_KEYS_TTL_MS.into(),
                ],
            )
            .await?;
        if verdict == "lost" {
            return Ok(VoteOutcome::StateLost);
        }
        if verdict == "accepted" {
            let correct = detail.as_i64().unwrap_or(0) == 1;
            return Ok(VoteOutcome::Accepted {
                is_correct: correct,
            });
        }
        let reason = detail
            .as_string()
            .and_then(|r| RejectReason::parse(&r))
            .ok_or_else(|| corrupt(&keys::counts(q), "vote script answered nonsense"))?;
        Ok(VoteOutcome::Rejected(reason))
    }

    async fn tally(&self, q: &str, option_keys: &[String]) -> StoreResult<Tally> {
        let mut fields = vec!["total".to_owned()];
        fields.extend(option_keys.iter().cloned());
        let values: Vec<Option<u64>> = self.pool.next().hmget(keys::counts(q), fields).await?;
        let mut it = values.into_iter();
        let total = it.next().flatten().unwrap_or(0);
        let counts = option_keys
            .iter()
            .cloned()
            .zip(it.map(|v| v.unwrap_or(0)))
            .collect();
        Ok(Tally { total, counts })
    }

    async fn open_runs(&self) -> StoreResult<Vec<LiveRun>> {
        let all: HashMap<String, String> = self.control.hgetall(keys::OPEN_RUNS).await?;
        let mut runs = Vec::with_capacity(all.len());
        for (conference_id, v) in all {
            let mut parts = v.split('|');
            let (Some(q), Some(started), Some(expires), Some(duration)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(corrupt(
                    keys::OPEN_RUNS,
                    format!("field {conference_id}: {v}"),
                ));
            };
            let num = |s: &str| -> StoreResult<i64> {
                s.parse()
                    .map_err(|_| corrupt(keys::OPEN_RUNS, format!("field {conference_id}: {v}")))
            };
            runs.push(LiveRun {
                question_id: q.to_owned(),
                started_at: num(started)?,
                expires_at: num(expires)?,
                duration: num(duration)? as u32,
                conference_id,
            });
        }
        Ok(runs)
    }

    async fn timer_lease(
        &self,
        run: &LiveRun,
        node_id: &str,
        ttl: Duration,
        mode: Lease,
    ) -> StoreResult<LeaseGrant> {
        let key = keys::timer_lease(&run.question_id);
        let answer: Vec<i64> = self
            .eval_on(
                &self.control,
                &self.scripts.lease,
                vec![key.clone()],
                vec![
                    node_id.into(),
                    run.started_at.into(),
                    (ttl.as_millis() as i64).into(),
                    if mode == Lease::Take { "take" } else { "hold" }.into(),
                ],
            )
            .await?;
        match answer[..] {
            [0, _] => Ok(LeaseGrant::Refused),
            [1, 0] => Ok(LeaseGrant::Granted),
            [1, next] => Ok(LeaseGrant::HandedOver {
                next_tick: u32::try_from(next).map_err(|_| corrupt(&key, "handover tick"))?,
            }),
            _ => Err(corrupt(&key, format!("lease script answered {answer:?}"))),
        }
    }

    async fn hand_over_timer(
        &self,
        run: &LiveRun,
        node_id: &str,
        next_tick: u32,
        ttl: Duration,
    ) -> StoreResult<()> {
        let _: i64 = self
            .eval_on(
                &self.control,
                &self.scripts.handover,
                vec![keys::timer_lease(&run.question_id)],
                vec![
                    format!("{node_id}|{}", run.started_at).into(),
                    run.started_at.into(),
                    i64::from(next_tick).into(),
                    (ttl.as_millis() as i64).into(),
                ],
            )
            .await?;
        Ok(())
    }

    async fn claim_tick(
        &self,
        run: &LiveRun,
        node_id: &str,
        k: u32,
        ttl: Duration,
    ) -> StoreResult<TickClaim> {
        let answer: Vec<i64> = self
            .eval_on(
                &self.control,
                &self.scripts.claim,
                vec![
                    keys::OPEN_RUNS.to_owned(),
                    keys::timer_lease(&run.question_id),
                    keys::host(&run.conference_id),
                ],
                vec![
                    run.conference_id.as_str().into(),
                    run.question_id.as_str().into(),
                    run.started_at.into(),
                    node_id.into(),
                    i64::from(k).into(),
                    (ttl.as_millis() as i64).into(),
                ],
            )
            .await?;
        match answer[..] {
            [1, _] => Ok(TickClaim::Claimed),
            [2, next] => Ok(TickClaim::Sent {
                next_tick: u32::try_from(next).unwrap_or(u32::MAX),
            }),
            [3, _] => Ok(TickClaim::Held),
            [4, _] => Ok(TickClaim::Closed),
            [5, _] => Ok(TickClaim::StateLost),
            _ => Err(corrupt(
                keys::OPEN_RUNS,
                format!("the tick claim answered {answer:?}"),
            )),
        }
    }

    async fn durability(&self) -> Durability {
        durability::of(&self.control).await
    }

    async fn release_timer_lease(&self, run: &LiveRun, node_id: &str) -> StoreResult<()> {
        let _: i64 = self
            .eval_on(
                &self.control,
                &self.scripts.unlock,
                vec![keys::timer_lease(&run.question_id)],
                vec![format!("{node_id}|{}", run.started_at).into()],
            )
            .await?;
        Ok(())
    }

    async fn pass_gate(&self, key: &str, ttl: Duration) -> StoreResult<Gate> {
        let client = self.pool.next();
        let set: Option<String> = client
            .set(
                key,
                "1",
                Some(Expiration::PX(ttl.as_millis() as i64)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        if set.is_some() {
            return Ok(Gate::Passed);
        }
        // Shut: for as long as the key lives (it may have expired since: then open now).
        let left: i64 = client.pttl(key).await?;
        Ok(Gate::Shut(Duration::from_millis(left.max(0) as u64)))
    }

    async fn close_question(
        &self,
        run: &LiveRun,
        reason: CloseReason,
        closed_at: Millis,
    ) -> StoreResult<Option<FinalRecord>> {
        let q = &run.question_id;
        let field = keys::pending_field(&run.conference_id, q, run.started_at);
        let snapshot: Option<String> = self
            .eval(
                &self.scripts.close,
                vec![
                    keys::live_question(&run.conference_id),
                    keys::timer(q),
                    keys::counts(q),
                    keys::correct(q),
                    keys::meta(q),
                    keys::PENDING_RESULTS.to_owned(),
                    keys::OPEN_RUNS.to_owned(),
                ],
                vec![
                    q.as_str().into(),
                    run.started_at.into(),
                    closed_at.into(),
                    reason.as_str().into(),
                    field.into(),
                    run.conference_id.as_str().into(),
                ],
            )
            .await?;
        snapshot.map(|s| parse_snapshot(&s)).transpose()
    }

    async fn pending_results(&self) -> StoreResult<Vec<FinalRecord>> {
        let all: HashMap<String, String> = self.pool.next().hgetall(keys::PENDING_RESULTS).await?;
        let mut records = all
            .values()
            .map(|s| parse_snapshot(s))
            .collect::<StoreResult<Vec<_>>>()?;
        records.sort_by_key(|r| r.closed_at);
        Ok(records)
    }

    async fn result_persisted(&self, record: &FinalRecord) -> StoreResult<()> {
        let q = &record.question_id;
        let _: i64 = self
            .eval(
                &self.scripts.persisted,
                vec![
                    keys::PENDING_RESULTS.to_owned(),
                    keys::meta(q),
                    keys::counts(q),
                    keys::voters(q),
                    keys::correct(q),
                ],
                vec![record.pending_field().into()],
            )
            .await?;
        Ok(())
    }
}

fn presence_keys(c: &str, u: &str) -> Vec<String> {
    vec![
        keys::audience_sockets(c),
        keys::audience(c),
        keys::user_conferences(u),
        keys::audience_count(c),
    ]
}
