//! The nemesis: runs the workload's faults at their moments (the first conference's questions,
//! as this process heard them), undoes each after its delay, and records what it did. It runs in
//! the first shard only. When the run ends first, a fault not yet begun is recorded as skipped,
//! and an undo still pending runs at once: a stopped Redis is never left stopped.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lcr_protocol::now_millis;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

use super::timeline::Timelines;
use crate::record::Recorder;
use crate::record::faults::{CommandRun, FaultRecord};
use crate::workload::Fault;

/// Output kept of each command: its last bytes.
const OUTPUT_TAIL: usize = 2000;

/// The faults of a run, and the environment their commands get.
#[derive(Debug, Clone, Default)]
pub struct Nemesis {
    /// The schedule.
    pub faults: Vec<Fault>,
    /// Added to each command's environment (`LOADGEN_SERVER_PIDS`, `LOADGEN_TARGETS`, …).
    pub env: Vec<(String, String)>,
}

/// Tells the nemesis the run is over.
pub struct Stop(watch::Sender<bool>);

impl Stop {
    /// The run is over: skip what has not begun, undo what is pending now.
    pub fn now(&self) {
        let _ = self.0.send(true);
    }
}

impl Nemesis {
    /// Starts every fault's task; the returned handle waits for them all.
    pub fn start(
        self,
        timelines: Arc<Timelines>,
        rec: Arc<Recorder>,
        end: Instant,
    ) -> (Stop, tokio::task::JoinHandle<()>) {
        let (tx, rx) = watch::channel(false);
        let env = Arc::new(self.env);
        let tasks: Vec<_> = self
            .faults
            .into_iter()
            .map(|f| {
                let (timelines, rec, env, rx) =
                    (timelines.clone(), rec.clone(), env.clone(), rx.clone());
                tokio::spawn(async move { rec.fault(one(f, &timelines, &env, rx, end).await) })
            })
            .collect();
        let all = tokio::spawn(async move {
            for t in tasks {
                let _ = t.await;
            }
        });
        (Stop(tx), all)
    }
}

/// Waits until `stop` says the run is over.
async fn stopped(mut stop: watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn one(
    f: Fault,
    timelines: &Timelines,
    env: &[(String, String)],
    stop: watch::Receiver<bool>,
    end: Instant,
) -> FaultRecord {
    let mut record = FaultRecord {
        name: f.label(),
        at: f.at.to_string(),
        run: None,
        undo: None,
    };
    let due = async {
        let live = timelines.wait_live(0, f.at.question, end).await?;
        tokio::time::sleep_until(live.instant_after(f.at.after_ms).into()).await;
        Some(())
    };
    let began = tokio::select! {
        d = due => d.is_some(),
        () = stopped(stop.clone()) => false,
    };
    if !began || *stop.borrow() {
        tracing::warn!(fault = %record.name, "the run ended before the fault's moment: skipped");
        return record;
    }
    let timeout = Duration::from_secs_f64(f.timeout_s.unwrap_or(30.0));
    tracing::info!(fault = %record.name, "fault: {}", f.run);
    record.run = Some(run(&f.run, env, timeout).await);
    if let (Some(undo), Some(after)) = (&f.undo, f.undo_after_s) {
        let at = record.run.as_ref().map_or(now_millis(), |r| r.started) + (after * 1000.0) as i64;
        let wait = Duration::from_millis((at - now_millis()).max(0) as u64);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stopped(stop) => {}
        }
        tracing::info!(fault = %record.name, "undo: {undo}");
        record.undo = Some(run(undo, env, timeout).await);
    }
    record
}

/// Runs `command` with `sh -c`, its output kept, killed after `timeout`.
async fn run(command: &str, env: &[(String, String)], timeout: Duration) -> CommandRun {
    let started = now_millis();
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a timeout kills everything the command started, and a Ctrl-C
        // to loadgen does not reach a server the command restarted.
        .process_group(0)
        .kill_on_drop(true)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return CommandRun {
                command: command.to_owned(),
                started,
                exit: None,
                output: format!("could not start sh: {e}"),
            };
        }
    };
    // Output is read as it comes, and no longer than the shell lives (and a moment after): a
    // command that starts a server in the background (`redis-server … &`) leaves it holding
    // the pipes.
    let output = Arc::new(std::sync::Mutex::new(Vec::new()));
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        let output = output.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                output
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        })
    })
    .collect();
    let exit = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => status.ok().and_then(|s| s.code()),
        Err(_) => {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
            let _ = child.kill().await;
            None
        }
    };
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_millis(200), r).await;
    }
    let mut output =
        String::from_utf8_lossy(&output.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    if exit.is_none() {
        output.push_str(&format!("\nkilled after {} s", timeout.as_secs_f64()));
    }
    let cut = output.len().saturating_sub(OUTPUT_TAIL);
    let cut = (cut..=output.len())
        .find(|i| output.is_char_boundary(*i))
        .unwrap_or(output.len());
    CommandRun {
        command: command.to_owned(),
        started,
        exit,
        output: output[cut..].trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drive::timeline::Live;

    #[tokio::test]
    async fn a_fault_runs_at_its_moment_and_is_undone() {
        let timelines = Arc::new(Timelines::new(1, 1));
        let rec = Arc::new(Recorder::default());
        let fault = Fault::parse_flag(
            r#"{ at = "q1+0.2s", run = "echo down $WHO", undo = "echo up", undo_after_s = 0.3 }"#,
        )
        .unwrap();
        let nemesis = Nemesis {
            faults: vec![fault],
            env: vec![("WHO".into(), "redis".into())],
        };
        let (_stop, all) = nemesis.start(
            timelines.clone(),
            rec.clone(),
            Instant::now() + Duration::from_secs(10),
        );
        let live_at = now_millis();
        timelines.heard_live(
            0,
            0,
            Live {
                started_at: live_at,
                at: live_at,
                instant: Instant::now(),
            },
        );
        all.await.unwrap();
        let snap = rec.snapshot(crate::clock::ClockMode::Same, 20.0);
        let f = &snap.faults[0];
        let run = f.run.as_ref().unwrap();
        assert_eq!((run.exit, run.output.as_str()), (Some(0), "down redis"));
        assert!(
            (150..400).contains(&(run.started - live_at)),
            "{}",
            run.started - live_at
        );
        let undo = f.undo.as_ref().unwrap();
        assert!(
            (250..600).contains(&(undo.started - run.started)),
            "{}",
            undo.started - run.started
        );
    }

    #[tokio::test]
    async fn the_end_of_the_run_skips_a_fault_not_begun_and_undoes_one_pending() {
        let timelines = Arc::new(Timelines::new(1, 2));
        let rec = Arc::new(Recorder::default());
        let nemesis = Nemesis {
            faults: vec![
                Fault::parse_flag(
                    r#"{ at = "q1+0s", run = "true", undo = "echo undone", undo_after_s = 600 }"#,
                )
                .unwrap(),
                Fault::parse_flag(r#"{ name = "later", at = "q2+0s", run = "true" }"#).unwrap(),
            ],
            env: vec![],
        };
        let (stop, all) = nemesis.start(
            timelines.clone(),
            rec.clone(),
            Instant::now() + Duration::from_secs(60),
        );
        let now = now_millis();
        timelines.heard_live(
            0,
            0,
            Live {
                started_at: now,
                at: now,
                instant: Instant::now(),
            },
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.now();
        tokio::time::timeout(Duration::from_secs(5), all)
            .await
            .unwrap()
            .unwrap();
        let snap = rec.snapshot(crate::clock::ClockMode::Same, 20.0);
        let by_name = |n: &str| snap.faults.iter().find(|f| f.name == n).unwrap().clone();
        assert_eq!(by_name("true").undo.unwrap().output, "undone");
        assert!(by_name("later").run.is_none());
    }

    #[tokio::test]
    async fn a_hanging_command_is_killed_at_its_timeout() {
        let r = run("sleep 30", &[], Duration::from_millis(200)).await;
        assert_eq!(r.exit, None);
        assert!(r.output.contains("killed after 0.2 s"), "{}", r.output);
    }

    #[tokio::test]
    async fn a_command_that_leaves_a_process_behind_returns_when_its_shell_does() {
        let t = Instant::now();
        let r = run("sleep 5 & echo started", &[], Duration::from_secs(10)).await;
        assert_eq!((r.exit, r.output.as_str()), (Some(0), "started"));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    }
}
