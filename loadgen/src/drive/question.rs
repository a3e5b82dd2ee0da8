//! What one voter knows and did on one question.

use std::time::Instant;

use crate::plan::Vote;

/// One voter's state on one question.
#[derive(Debug, Clone)]
pub(crate) struct PerQuestion {
    /// Its vote, if the plan gives it one.
    pub vote: Option<Vote>,
    /// The instant the vote was due (latency counts from it), once sent.
    pub due_at: Option<Instant>,
    /// Votes sent (2 for a voter that also sends a duplicate) and answers received.
    pub sent: u32,
    pub answers: u32,
    pub accepted: u32,
    /// When the first vote left, µs on this machine's clock (for the clock offset).
    pub sent_us: f64,
    /// When the first vote left, ms since the epoch: judged against `closedAt`.
    pub sent_ms: i64,
    /// The last `timeRemaining` heard, and the ticks heard again or out of order.
    pub last_remaining: Option<i64>,
    pub timers_repeated: u64,
    /// `startedAt`, on the server's clock.
    pub started_at: i64,
    pub closed_at: Option<i64>,
    pub closed: bool,
    pub fin: bool,
    /// A connection of this voter ended during this question (a drop, a loss): a tick heard
    /// on both sides of it is not held against the server.
    pub reconnected: bool,
    /// The vote was sent again after a reconnection.
    pub resent: bool,
    /// The first answer was `question_closed`.
    pub refused_closed: bool,
}

impl PerQuestion {
    /// A question the voter just learned of, started at `started`.
    pub fn new(vote: Option<Vote>, started: i64) -> Self {
        PerQuestion {
            vote,
            due_at: None,
            sent: 0,
            answers: 0,
            accepted: 0,
            sent_us: 0.0,
            sent_ms: 0,
            last_remaining: None,
            timers_repeated: 0,
            started_at: started,
            closed_at: None,
            closed: false,
            fin: false,
            reconnected: false,
            resent: false,
            refused_closed: false,
        }
    }

    /// A `question:timer_update` with this `timeRemaining`. Each tick once, in order (D16): a
    /// repeat, or a tick older than the last, is counted apart.
    pub fn heard_tick(&mut self, time_remaining: Option<i64>) {
        match (self.last_remaining, time_remaining) {
            (Some(last), Some(left)) if left >= last => self.timers_repeated += 1,
            (_, left) => self.last_remaining = left.or(self.last_remaining),
        }
    }

    /// After a reconnection: whether the vote must go again (sent, not answered, not counted,
    /// the question not closed). Either way the counts forget what the lost connection owed.
    pub fn after_reconnection(&mut self) -> bool {
        self.reconnected = true;
        if self.answers < self.sent && self.accepted == 0 && !self.closed {
            self.sent = self.answers + 1;
            self.resent = true;
            true
        } else {
            self.sent = self.sent.min(self.answers.max(self.accepted));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_or_late_tick_is_counted_apart() {
        let mut q = PerQuestion::new(None, 0);
        // 5, 5 (repeat), 3, 4 (out of order), 2.
        for left in [5, 5, 3, 4, 2] {
            q.heard_tick(Some(left));
        }
        assert_eq!(q.timers_repeated, 2);
    }

    #[test]
    fn an_unanswered_vote_goes_again_after_a_reconnection_once() {
        let mut q = PerQuestion::new(None, 0);
        q.sent = 1;
        assert!(q.after_reconnection());
        assert!(q.resent && q.reconnected);
        q.answers = 1;
        assert!(!q.after_reconnection());
    }
}
