//! `loadgen capacity`: how many voters a deployment holds within its SLOs.
//!
//! The search steps the audience up geometrically (`--from`, ×`--factor`, … up to `--to`). Each
//! step is one full run of one question with N voters, in a process of its own, judged like any
//! run: every invariant and every SLO. The search stops at the first step that fails; the
//! largest step that passed is the knee. Latency alone does not make the knee: a step that loses
//! a vote or a broadcast fails even when it is fast.
//!
//! A load generator that cannot keep up looks like a slow server, so each step's own
//! measurement of the generator (its CPU, how late it sent its votes) is carried into the
//! search, and a first failure the generator may have caused is called that, not a knee.
//!
//! What is here runs no process: the steps ([`steps`]), one step judged from its exit code and
//! its `summary.json` ([`Step`]), the stop rule, the knee and the verdict ([`CapacityReport`]),
//! the machine limits that would pass for a knee ([`limits`]), and `capacity.html`
//! ([`render`]). The binary runs the steps.

pub mod limits;
pub mod render;
mod search;
mod step;
mod steps;

pub use search::{CapacityReport, Failure, ServerPlacement, Settings, Verdict};
pub use step::{Figures, Outcome, Step, error_line, step_dir};
pub use steps::{MAX_STEPS, steps};

/// The SLOs of a search given none: a vote answered within half a second and a question seen
/// live within a second by 99 in 100 voters. A live poll whose audience waits longer than that
/// for the question or for the answer to its vote feels broken, whatever the server's size.
pub const DEFAULT_SLOS: [&str; 2] = ["vote_ack.p99<500ms", "fanout_question_live.p99<1s"];

/// Why a search cannot start, or its report cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    /// Steps must grow.
    #[error("--factor {0}: it must be above 1, so that each step is larger than the one before")]
    Factor(f64),
    /// A step of no voters measures nothing.
    #[error("--from 0: a step needs at least one voter")]
    FromZero,
    /// The range is upside down.
    #[error("--from {from} is above --to {to}")]
    FromAboveTo {
        /// `--from`.
        from: usize,
        /// `--to`.
        to: usize,
    },
    /// A factor so close to 1 would make a search of days.
    #[error(
        "--from {from} --to {to} --factor {factor} makes more than {max} steps: take a larger --factor"
    )]
    TooManySteps {
        /// `--from`.
        from: usize,
        /// `--to`.
        to: usize,
        /// `--factor`.
        factor: f64,
        /// [`MAX_STEPS`].
        max: usize,
    },
    /// No step can show more voters than `--to`.
    #[error("--require {require} is above --to {to}: no step of the search could show it")]
    RequireAboveTo {
        /// `--require`.
        require: usize,
        /// `--to`.
        to: usize,
    },
    /// An SLO that does not parse.
    #[error("--slo {0}")]
    Slo(String),
    /// A run option the search decides for each step, or one a run would not take.
    #[error("{option}: {why}")]
    RunOption {
        /// The option as given.
        option: String,
        /// Why it cannot be passed on.
        why: String,
    },
    /// Reading or writing the report.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// `capacity.json` that is not one.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        source: serde_json::Error,
    },
}

/// `1234567` as `1,234,567`.
///
/// ```
/// assert_eq!(loadgen::capacity::thousands(100_000), "100,000");
/// assert_eq!(loadgen::capacity::thousands(40), "40");
/// ```
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
