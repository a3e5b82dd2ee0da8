//! A voter's way into the room: connect (retried: a listen backlog overflow under a connect
//! storm is not the server's answer), then join (retried while the conference does not exist
//! yet: another shard makes it).

use std::time::{Duration, Instant};

use lcr_client::{Connection, EventFrame};
use lcr_protocol::{event, now_millis};
use serde_json::json;

use super::Voter;
use crate::drive::client_config;
use crate::drive::seen::seen;
use crate::drive::timeline::Live;
use crate::record::metric;

/// A voter's connection, joined.
pub(super) struct Joined {
    pub(super) conn: Connection,
    /// The question `conference:joined` said was live, if any (D13).
    pub(super) live: Option<(usize, Live)>,
    /// Events that came before `conference:joined`, in order. The socket is in the room before
    /// its join is answered, so a broadcast can come first.
    pub(super) early: Vec<EventFrame>,
    /// When `conference:joined` came.
    pub(super) at: i64,
    pub(super) instant: Instant,
}

impl Voter {
    /// Connects to the current target and joins the conference; `None` when it cannot.
    pub(super) async fn connect_and_join(&mut self) -> Option<Joined> {
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
        if self.role.slow.is_some()
            && let Some(bytes) = plan
                .workload
                .churn
                .slow_readers
                .as_ref()
                .and_then(|s| s.recv_buffer)
        {
            cfg = cfg.recv_buffer(bytes);
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
}
