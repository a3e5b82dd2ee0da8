//! The run's progress on the terminal: one line that changes in place (a live line on a
//! terminal, a plain line every ten seconds otherwise), naming the phase, so the few figures
//! that matter are not lost among goose's messages (those need `-v`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::drive::Timelines;
use crate::plan::Plan;
use crate::record::{Recorder, metric};

/// How progress is shown.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    bar: Option<ProgressBar>,
    /// Without a terminal: the prefix of each line, and when the last one went out.
    prefix: String,
    last_line: Option<Instant>,
    last_phase: String,
    quiet: bool,
}

impl Progress {
    /// A live line when stderr is a terminal, else a line every ten seconds and at each change
    /// of phase, each starting with `prefix`.
    pub fn new(prefix: impl Into<String>) -> Progress {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4));
            bar.set_style(
                ProgressStyle::with_template("[loadgen] {elapsed_precise} {spinner} {msg}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress::with(bar, prefix.into(), false)
    }

    /// No progress at all.
    pub fn quiet() -> Progress {
        Progress::with(None, String::new(), true)
    }

    fn with(bar: Option<ProgressBar>, prefix: String, quiet: bool) -> Progress {
        Progress {
            inner: Arc::new(Mutex::new(Inner {
                bar,
                prefix,
                last_line: None,
                last_phase: String::new(),
                quiet,
            })),
        }
    }

    /// Shows where the run is (called once a second).
    pub fn update(&self, rec: &Recorder, plan: &Plan, timelines: &Timelines) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.quiet {
            return;
        }
        let phase = phase(plan, timelines);
        let ms = |m: &str| {
            rec.quantile_ms(m, 0.99)
                .map_or("-".to_owned(), |v| format!("{v:.1} ms"))
        };
        let line = format!(
            "{phase} · connected {} · votes answered {} · vote_ack p99 {} · question:live fan-out p99 {}",
            rec.connected_now(),
            rec.count(metric::VOTE_ACK),
            ms(metric::VOTE_ACK),
            ms(metric::FANOUT_LIVE),
        );
        if let Some(bar) = &inner.bar {
            bar.set_message(line);
            return;
        }
        let due = inner
            .last_line
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(10));
        if due || phase != inner.last_phase {
            eprintln!("{}{line}", inner.prefix);
            inner.last_line = Some(Instant::now());
            inner.last_phase = phase;
        }
    }

    /// Clears the live line.
    pub fn finish(&self) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bar) = &inner.bar {
            bar.finish_and_clear();
        }
    }
}

/// The phase: connecting, question k of n live (in how many conferences), or finishing.
fn phase(plan: &Plan, timelines: &Timelines) -> String {
    let conferences = plan.conferences.len();
    let over = (0..conferences).filter(|c| timelines.is_over(*c)).count();
    if over == conferences {
        return "finishing".into();
    }
    // The latest question heard live in any conference.
    let latest = (0..plan.questions())
        .rev()
        .find(|k| (0..conferences).any(|c| timelines.live(c, *k).is_some()));
    match latest {
        None => "connecting".into(),
        Some(k) => {
            let live = (0..conferences)
                .filter(|c| timelines.live(*c, k).is_some() && !timelines.is_over(*c))
                .count();
            if conferences == 1 {
                format!("question {}/{}", k + 1, plan.questions())
            } else {
                format!(
                    "question {}/{} in {live} of {conferences} conferences ({over} done)",
                    k + 1,
                    plan.questions()
                )
            }
        }
    }
}
