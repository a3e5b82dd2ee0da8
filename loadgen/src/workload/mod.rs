//! The workload: what the audience does, read from a TOML file (`--workload`, documented with
//! examples in docs/workloads.md) or made from the command line's shortcuts.
//!
//! - **conferences**: how many run at once and how the voters are spread over them
//!   ([`Sizes`]: equal, a power law, or a list);
//! - **questions**: how many, how long, closed by the timeout or by hand, the gap between them;
//! - **votes**: when voters vote after `question:live` ([`Timing`]: uniform, a log-normal burst,
//!   or a histogram), the share who vote and the share who send their vote twice;
//! - **churn**: late joiners, joins and leaves during live questions, a reconnect storm;
//! - **faults**: commands run on a schedule (a nemesis), undone after a while.
//!
//! ```
//! let w = loadgen::workload::Workload::parse(r#"
//!     [conferences]
//!     count = 20
//!     voters = 10000
//!     sizes = { power_law = 1.0 }
//!     [votes]
//!     timing = { lognormal = { median_s = 1.5, sigma = 0.8 } }
//!     [churn.storm]
//!     share = 0.2
//!     question = 1
//!     at_s = 6
//!     back_within_s = 3
//! "#, "example.toml").unwrap();
//! let sizes = w.conference_sizes();
//! assert_eq!(sizes.len(), 20);
//! assert_eq!(sizes.iter().sum::<usize>(), 10_000);
//! assert!(sizes[0] > 5 * sizes[19], "a few large, many small");
//! ```

mod check;
mod faults;
mod sizes;
mod timing;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use faults::{Fault, FaultTime};
pub use sizes::Sizes;
pub use timing::Timing;

/// A whole workload. Every table and key is optional; what is left out is today's shape: one
/// conference, 1,000 voters who all vote once per question at a uniformly random moment, two
/// questions of 10 s, nobody comes or goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Workload {
    /// How many conferences and how large.
    pub conferences: Conferences,
    /// The questions each conference runs.
    pub questions: Questions,
    /// When and how voters vote.
    pub votes: Votes,
    /// Who comes and goes while questions are live.
    pub churn: Churn,
    /// Faults injected on a schedule (`[[faults]]`).
    pub faults: Vec<Fault>,
}

/// `[conferences]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Conferences {
    /// Conferences running at once, each with its own host and questions.
    pub count: usize,
    /// Voters over all conferences (everyone who ever joins, late joiners included). Optional
    /// when `sizes` is a list: then it is the list's sum.
    pub voters: Option<usize>,
    /// How the voters are spread over the conferences.
    pub sizes: Sizes,
}

impl Default for Conferences {
    fn default() -> Self {
        Conferences {
            count: 1,
            voters: None,
            sizes: Sizes::Equal,
        }
    }
}

/// `[questions]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Questions {
    /// Questions per conference, pushed one after another.
    pub count: usize,
    /// Seconds each question is live: one number, or one per question (the last repeats).
    pub duration_s: Durations,
    /// How a question ends.
    pub close: Close,
    /// Seconds between a question's final result and the next push.
    pub gap_s: f64,
}

impl Default for Questions {
    fn default() -> Self {
        Questions {
            count: 2,
            duration_s: Durations::One(10),
            close: Close::Timeout,
            gap_s: 0.3,
        }
    }
}

/// `duration_s`: one duration for every question, or one per question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Durations {
    /// The same for every question.
    One(u32),
    /// Question k's duration is the k-th (the last repeats).
    Each(Vec<u32>),
}

/// `close`: `"timeout"`, or `{ after_s = N }` for the host to close each question by hand.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Close {
    /// The question closes when its countdown ends.
    Timeout,
    /// The host sends `question:close` this many seconds after `question:live`.
    #[serde(untagged)]
    Manual {
        /// Seconds after `question:live`.
        after_s: f64,
    },
}

/// `[votes]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Votes {
    /// When a voter votes, after the question went live.
    pub timing: Timing,
    /// The share of present voters who vote on a question (0–1).
    pub share: f64,
    /// The share of votes sent twice: the server must answer the second `duplicate`.
    pub retry_share: f64,
}

impl Default for Votes {
    fn default() -> Self {
        Votes {
            timing: Timing::Uniform,
            share: 1.0,
            retry_share: 0.01,
        }
    }
}

/// `[churn]`: who comes and goes. Every rate is over the whole run (all conferences), spread
/// over the conferences by their size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Churn {
    /// The share of voters who join only after the first question went live.
    pub late_share: f64,
    /// Late joiners arrive within this many seconds after the first `question:live`
    /// (default: the first question's voting window).
    pub late_within_s: Option<f64>,
    /// Voters joining per second while a question is live (they had not joined before).
    pub join_per_s: f64,
    /// Voters leaving per second while a question is live (`conference:leave`, then they
    /// disconnect; they do not come back).
    pub leave_per_s: f64,
    /// A reconnect storm.
    pub storm: Option<Storm>,
    /// Voters that stop reading their socket.
    pub slow_readers: Option<SlowReaders>,
}

/// `[churn.slow_readers]`: a share of the voters stop reading their socket at one moment and
/// never read again. Their connection stays open (nothing is closed or sent); the server is
/// expected to disconnect them once their queue is full. From that moment they are out of the
/// room for the run's invariants (they vote no more and are owed no broadcast), and the report
/// counts them: how many stopped, how many the server disconnected, and how long after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowReaders {
    /// The share of the voters present from the start who stop reading (a voter that leaves
    /// or drops in the storm is not one of them).
    pub share: f64,
    /// The question (1-based) during which they stop.
    #[serde(default = "first")]
    pub question: usize,
    /// Seconds after its `question:live`.
    #[serde(default)]
    pub at_s: f64,
    /// `SO_RCVBUF` of their sockets in bytes (default: the kernel's): a small one makes the
    /// server's queue fill sooner, as a client with little memory would.
    #[serde(default)]
    pub recv_buffer: Option<u32>,
}

/// `[churn.storm]`: a share of the voters drop at one moment (their connections close without
/// a word) and come back within a window: they connect, join again and send again the votes
/// that got no answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storm {
    /// The share of present voters who drop.
    pub share: f64,
    /// The question (1-based) during which they drop.
    #[serde(default = "first")]
    pub question: usize,
    /// Seconds after its `question:live`.
    pub at_s: f64,
    /// Each comes back at a uniformly random moment within this many seconds.
    pub back_within_s: f64,
}

fn first() -> usize {
    1
}

/// A workload that cannot run, naming the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has a key of the wrong type or an unknown key.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// toml's message, with the line and column.
        message: String,
    },
    /// A value is out of its range or contradicts another.
    #[error("{file}: {key}: {reason}")]
    Invalid {
        /// The file (or "the command line").
        file: String,
        /// The key, dotted (`votes.share`).
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl Workload {
    /// Reads and checks a workload file.
    pub fn load(path: &Path) -> Result<Workload, WorkloadError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Read {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parses and checks a workload given as TOML text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Workload, WorkloadError> {
        let w: Workload = toml::from_str(text).map_err(|e| WorkloadError::Parse {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        w.check(file)?;
        Ok(w)
    }

    /// Voters over all conferences.
    pub fn voters(&self) -> usize {
        match (&self.conferences.sizes, self.conferences.voters) {
            (Sizes::List(list), None) => list.iter().sum(),
            (_, Some(n)) => n,
            (_, None) => 1000,
        }
    }

    /// Each conference's voters, in conference order.
    pub fn conference_sizes(&self) -> Vec<usize> {
        self.conferences
            .sizes
            .split(self.voters(), self.conferences.count)
    }

    /// Seconds question `k` (0-based) is live by its countdown.
    pub fn duration(&self, k: usize) -> u32 {
        match &self.questions.duration_s {
            Durations::One(d) => *d,
            Durations::Each(list) => list[k.min(list.len() - 1)],
        }
    }

    /// Milliseconds question `k` takes votes: until the host closes it, or its countdown ends.
    pub fn open_ms(&self, k: usize) -> u64 {
        let countdown = u64::from(self.duration(k)) * 1000;
        match self.questions.close {
            Close::Timeout => countdown,
            Close::Manual { after_s } => countdown.min((after_s * 1000.0) as u64),
        }
    }

    /// The voting window of question `k` in ms: its open time but the last second, so a vote
    /// on time is not one that meets the close on the way.
    pub fn vote_window_ms(&self, k: usize) -> u64 {
        self.open_ms(k).saturating_sub(1000).max(200)
    }

    /// How long a run of this workload may take before it stops by itself: a minute, a second
    /// per 500 voters to connect, each question open plus 15 s to close and the gap, and the
    /// storm's way back.
    pub fn deadline(&self) -> std::time::Duration {
        let questions: u64 = (0..self.questions.count)
            .map(|k| self.open_ms(k) / 1000 + 15 + self.questions.gap_s.ceil() as u64)
            .sum();
        let storm = self
            .churn
            .storm
            .as_ref()
            .map_or(0, |s| s.back_within_s.ceil() as u64);
        std::time::Duration::from_secs(60 + self.voters() as u64 / 500 + questions + storm)
    }

    /// The same workload with `voters` voters (conference sizes scaled alike) and
    /// `questions` questions: a step of `loadgen capacity`.
    pub fn scaled(&self, voters: usize, questions: usize) -> Workload {
        let mut w = self.clone();
        if let Sizes::List(list) = &w.conferences.sizes {
            let total: usize = list.iter().sum::<usize>().max(1);
            w.conferences.sizes = Sizes::List(sizes::scale(list, voters, total));
        }
        w.conferences.voters = Some(voters);
        w.conferences.count = w.conferences.count.min(voters.max(1));
        w.questions.count = questions;
        w
    }

    /// Per question, the share of all voters who join while it is live (`join_per_s` over
    /// its voting window).
    pub fn join_shares(&self) -> Vec<f64> {
        let voters = self.voters().max(1) as f64;
        (0..self.questions.count)
            .map(|k| self.churn.join_per_s * self.vote_window_ms(k) as f64 / 1000.0 / voters)
            .collect()
    }

    /// Per question, the chance that a present voter leaves while it is live.
    pub fn leave_shares(&self) -> Vec<f64> {
        let voters = self.voters().max(1) as f64;
        (0..self.questions.count)
            .map(|k| {
                (self.churn.leave_per_s * self.vote_window_ms(k) as f64 / 1000.0 / voters).min(1.0)
            })
            .collect()
    }

    /// One line for the terminal and the report's header.
    pub fn describe(&self) -> String {
        let sizes = self.conference_sizes();
        let conferences = if sizes.len() == 1 {
            format!("1 conference of {}", sizes[0])
        } else {
            format!(
                "{} conferences of {}–{}",
                sizes.len(),
                sizes.iter().min().unwrap_or(&0),
                sizes.iter().max().unwrap_or(&0)
            )
        };
        let durations: Vec<String> = (0..self.questions.count)
            .map(|k| self.duration(k).to_string())
            .collect();
        let mut parts = vec![
            format!("{} voters in {conferences}", self.voters()),
            format!(
                "{} questions × {} s{}",
                self.questions.count,
                if durations.iter().all(|d| *d == durations[0]) {
                    durations[0].clone()
                } else {
                    durations.join("/")
                },
                match self.questions.close {
                    Close::Timeout => String::new(),
                    Close::Manual { after_s } => format!(" (closed after {after_s} s)"),
                }
            ),
            format!("votes {}", self.votes.timing.describe()),
        ];
        if self.votes.share < 1.0 {
            parts.push(format!("{:.0} % vote", self.votes.share * 100.0));
        }
        let ch = &self.churn;
        if ch.late_share > 0.0 {
            parts.push(format!("{:.0} % join late", ch.late_share * 100.0));
        }
        if ch.join_per_s > 0.0 || ch.leave_per_s > 0.0 {
            parts.push(format!(
                "{}/s join and {}/s leave while live",
                ch.join_per_s, ch.leave_per_s
            ));
        }
        if let Some(s) = &ch.storm {
            parts.push(format!(
                "{:.0} % drop {} s into question {} and return within {} s",
                s.share * 100.0,
                s.at_s,
                s.question,
                s.back_within_s
            ));
        }
        if let Some(s) = &ch.slow_readers {
            parts.push(format!(
                "{:.0} % stop reading {} s into question {}",
                s.share * 100.0,
                s.at_s,
                s.question
            ));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Workload::parse(text, "w.toml").unwrap_err().to_string()
    }

    #[test]
    fn an_empty_file_is_todays_shape() {
        let w = Workload::parse("", "w.toml").unwrap();
        assert_eq!(w, Workload::default());
        assert_eq!(w.conference_sizes(), [1000]);
        assert_eq!((w.questions.count, w.duration(1)), (2, 10));
    }

    #[test]
    fn errors_name_the_key_and_the_problem() {
        assert_eq!(
            err("[votes]\nshare = 1.5"),
            "w.toml: votes.share: 1.5 is not a share between 0 and 1"
        );
        assert!(err("[votes]\nshares = 1").contains("unknown field `shares`"));
        assert!(
            err("[conferences]\ncount = 3\nsizes = [1, 2]").contains("2 sizes for 3 conferences")
        );
        assert!(err("[questions]\nduration_s = 1").contains("questions.duration_s: 1"));
        assert!(
            err("[questions]\nclose = { after_s = 20 }\nduration_s = 10")
                .contains("questions.close.after_s")
        );
        assert!(
            err("[churn.storm]\nshare = 0.2\nquestion = 3\nat_s = 1\nback_within_s = 1")
                .contains("churn.storm.question: 3: questions are 1 to 2")
        );
        assert!(err("[churn]\nlate_share = 0.5\njoin_per_s = 500").contains("at most 90 %"));
        assert!(
            err("[votes]\ntiming = { lognormal = { median_s = -1, sigma = 1 } }")
                .contains("votes.timing")
        );
    }

    #[test]
    fn slow_readers_parse_and_their_errors_name_the_key() {
        let w = Workload::parse("[churn.slow_readers]\nshare = 0.1\nat_s = 2", "w").unwrap();
        assert_eq!(
            w.churn.slow_readers,
            Some(SlowReaders {
                share: 0.1,
                question: 1,
                at_s: 2.0,
                recv_buffer: None
            })
        );
        assert!(
            w.describe()
                .contains("10 % stop reading 2 s into question 1")
        );
        assert_eq!(
            err("[churn.slow_readers]\nshare = 1.1"),
            "w.toml: churn.slow_readers.share: 1.1 is not a share between 0 and 1"
        );
        assert_eq!(
            err("[churn.slow_readers]\nshare = 0.1\nquestion = 3"),
            "w.toml: churn.slow_readers.question: 3: questions are 1 to 2"
        );
        assert_eq!(
            err("[churn.slow_readers]\nshare = 0.1\nat_s = 10"),
            "w.toml: churn.slow_readers.at_s: 10: within the question's 10 s"
        );
        assert_eq!(
            err("[churn.slow_readers]\nshare = 0.1\nat_s = -1"),
            "w.toml: churn.slow_readers.at_s: -1: within the question's 10 s"
        );
        assert!(err("[churn.slow_readers]\nat_s = 1").contains("missing field `share`"));
        assert_eq!(
            err("[churn.slow_readers]\nshare = 0.1\nrecv_buffer = 100"),
            "w.toml: churn.slow_readers.recv_buffer: 100: at least 1024 bytes"
        );
        assert!(
            err("[churn.slow_readers]\nshare = 0.1\nafter = 1").contains("unknown field `after`")
        );
    }

    #[test]
    fn the_close_reads_both_ways() {
        let w = Workload::parse("[questions]\nclose = \"timeout\"", "w").unwrap();
        assert_eq!(w.questions.close, Close::Timeout);
        let w = Workload::parse("[questions]\nclose = { after_s = 4 }", "w").unwrap();
        assert_eq!(w.questions.close, Close::Manual { after_s: 4.0 });
        assert_eq!((w.open_ms(0), w.vote_window_ms(0)), (4000, 3000));
    }

    #[test]
    fn a_list_of_sizes_gives_the_voters_and_scales() {
        let w = Workload::parse("[conferences]\ncount = 3\nsizes = [600, 300, 100]", "w").unwrap();
        assert_eq!(w.voters(), 1000);
        let s = w.scaled(3000, 1);
        assert_eq!(s.conference_sizes(), [1800, 900, 300]);
        assert_eq!(s.questions.count, 1);
    }
}
