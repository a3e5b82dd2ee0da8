//! Who was in which room when: each voter's sessions (from its `conference:joined` to its leave,
//! its drop, or the end) and, per session, what it received of each broadcast kind. The report
//! checks each session against the broadcasts sent while it was in the room.

use serde::{Deserialize, Serialize};

use lcr_protocol::event;

/// The broadcasts a voter is owed while in the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `question:live`, stamped `startedAt`.
    Live,
    /// `question:timer_update`, stamped when due (`expiresAt − timeRemaining × 1000`).
    Tick,
    /// `vote:result`, stamped `timestamp`.
    Result,
    /// `question:closed`, stamped `closedAt`.
    Closed,
    /// `vote:final_result`, stamped `closedAt`.
    Final,
}

impl Kind {
    /// Every kind, in the order of a question's run.
    pub const ALL: [Kind; 5] = [
        Kind::Live,
        Kind::Tick,
        Kind::Result,
        Kind::Closed,
        Kind::Final,
    ];

    /// The event's name.
    pub fn event(self) -> &'static str {
        match self {
            Kind::Live => event::QUESTION_LIVE,
            Kind::Tick => event::QUESTION_TIMER_UPDATE,
            Kind::Result => event::VOTE_RESULT,
            Kind::Closed => event::QUESTION_CLOSED,
            Kind::Final => event::VOTE_FINAL_RESULT,
        }
    }

    /// The kind of event `name`, if it is a broadcast a voter is owed.
    pub fn of_event(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.event() == name)
    }
}

/// What a session received of one kind of broadcast of one question: how many, and the first
/// and last server times among them. With the run's list of broadcasts this tells whether it
/// missed one inside that span or got one twice, and whether the span covers every one it was
/// owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Got(
    /// The question, 0-based in its conference.
    pub u16,
    /// The kind.
    pub Kind,
    /// How many.
    pub u32,
    /// The earliest server time.
    pub i64,
    /// The latest server time.
    pub i64,
);

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// It stayed until its conference's last final result (or the run's end).
    Stayed,
    /// It sent `conference:leave`: `until` is when.
    Left,
    /// It dropped its connection on purpose (a reconnect storm): `until` is when.
    Dropped,
    /// The server or the network closed it: `until` is when the voter noticed.
    Lost,
    /// It stopped reading its socket (a slow reader): `until` is when.
    Stopped,
}

/// One session of one voter in one conference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attendance {
    /// The conference, by its index in the run.
    pub conference: u32,
    /// The voter.
    pub voter: u32,
    /// When `conference:joined` arrived (ms; on the server's clock once the shard's clock
    /// offset is applied).
    pub from: i64,
    /// When the session ended, unless it stayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    /// How it ended.
    pub end: End,
    /// What it received.
    pub got: Vec<Got>,
}

impl Attendance {
    /// A session that starts with `conference:joined` at `from`.
    pub fn new(conference: usize, voter: usize, from: i64) -> Self {
        Attendance {
            conference: conference as u32,
            voter: voter as u32,
            from,
            until: None,
            end: End::Stayed,
            got: Vec::new(),
        }
    }

    /// It received broadcast `kind` of question `k`, stamped `server_ms`.
    pub fn heard(&mut self, k: usize, kind: Kind, server_ms: i64) {
        let q = k as u16;
        match self.got.iter_mut().find(|g| g.0 == q && g.1 == kind) {
            Some(g) => {
                g.2 += 1;
                g.3 = g.3.min(server_ms);
                g.4 = g.4.max(server_ms);
            }
            None => self.got.push(Got(q, kind, 1, server_ms, server_ms)),
        }
    }

    /// Ends the session: `how`, at `at` (ms).
    pub fn ended(&mut self, how: End, at: i64) {
        self.end = how;
        self.until = (how != End::Stayed).then_some(at);
    }

    /// Moves its times by `ms` (a shard's clock offset).
    pub fn shift(&mut self, ms: i64) {
        self.from += ms;
        if let Some(u) = &mut self.until {
            *u += ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_keeps_a_count_and_a_span_per_question_and_kind() {
        let mut a = Attendance::new(2, 7, 1_000);
        for t in [3_000, 2_000, 4_000] {
            a.heard(0, Kind::Tick, t);
        }
        a.heard(1, Kind::Tick, 9_000);
        a.ended(End::Left, 9_500);
        assert_eq!(
            a.got,
            [
                Got(0, Kind::Tick, 3, 2_000, 4_000),
                Got(1, Kind::Tick, 1, 9_000, 9_000)
            ]
        );
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"conference":2,"voter":7,"from":1000,"until":9500,"end":"left","got":[[0,"tick",3,2000,4000],[1,"tick",1,9000,9000]]}"#
        );
    }
}
