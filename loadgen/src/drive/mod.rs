//! The participants, on the lean client of `lcr-client`: voters ([`Voter`], in batches, one
//! batch per goose user) and the conferences' hosts ([`run_host`]), and where they put their
//! measurements ([`Sink`]).

mod host;
pub mod nemesis;
mod question;
mod seen;
pub mod timeline;
mod voter;

use std::sync::Arc;
use std::time::{Duration, Instant};

use lcr_client::ClientConfig;
use tokio::sync::mpsc;

use crate::plan::Plan;
use crate::record::Recorder;

pub use host::{HostError, run_host};
pub use nemesis::Nemesis;
pub use timeline::Timelines;
pub use voter::Voter;

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

/// Runs voters `range` to the end of their conferences (or the deadline).
pub async fn run_voters(
    plan: Arc<Plan>,
    range: std::ops::Range<usize>,
    sink: Sink,
    timelines: Arc<Timelines>,
    end: Instant,
) {
    let tasks: Vec<_> = range
        .map(|i| {
            let voter = Voter::new(plan.clone(), i, sink.clone(), timelines.clone(), end);
            tokio::spawn(voter.run())
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}
