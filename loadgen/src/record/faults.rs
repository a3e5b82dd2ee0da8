//! What the nemesis did and what the votes did around it: each fault's commands with their
//! times and outcomes, and every vote by the 100 ms in which it was sent, so a fault's effect on
//! votes can be read off afterwards.

use serde::{Deserialize, Serialize};

/// What became of a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It left.
    Sent,
    /// `vote:accepted` (or a `duplicate` to a resend: counted before).
    Accepted,
    /// `vote:rejected`, or an `error` in its place.
    Refused,
    /// No answer by the end.
    Unanswered,
}

/// Votes sent in one 100 ms span, by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VoteOutcomes {
    /// Sent.
    pub sent: u64,
    /// Accepted.
    pub accepted: u64,
    /// Refused.
    pub refused: u64,
    /// Never answered.
    pub unanswered: u64,
}

impl VoteOutcomes {
    /// Counts one vote's outcome.
    pub fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Sent => self.sent += 1,
            Outcome::Accepted => self.accepted += 1,
            Outcome::Refused => self.refused += 1,
            Outcome::Unanswered => self.unanswered += 1,
        }
    }

    /// Adds another span's counts.
    pub fn merge(&mut self, o: &VoteOutcomes) {
        self.sent += o.sent;
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.unanswered += o.unanswered;
    }

    /// Refused or never answered.
    pub fn failed(&self) -> u64 {
        self.refused + self.unanswered
    }
}

/// One command the nemesis ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CommandRun {
    /// The command.
    pub command: String,
    /// When it started (ms since the epoch).
    pub started: i64,
    /// Its exit code (`None`: killed at its timeout, or it could not start).
    pub exit: Option<i32>,
    /// The end of its output (stdout and stderr), or why it did not run.
    pub output: String,
}

/// One fault of the schedule, as it went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultRecord {
    /// Its name.
    pub name: String,
    /// When it was due, as written (`q2+10s`).
    pub at: String,
    /// The fault's command, if it ran (`None`: the run ended first).
    pub run: Option<CommandRun>,
    /// Its undo, if it has one and it ran.
    pub undo: Option<CommandRun>,
}

impl FaultRecord {
    /// When the fault began, if it did (ms).
    pub fn began(&self) -> Option<i64> {
        self.run.as_ref().map(|r| r.started)
    }

    /// When it ended: its undo's start, or its own start without one.
    pub fn ended(&self) -> Option<i64> {
        self.undo
            .as_ref()
            .map(|u| u.started)
            .or_else(|| self.began())
    }
}
