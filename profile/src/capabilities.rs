//! What a server claims: the decisions it follows and the optional parts it has. A scenario
//! that rests on something the server does not claim is graded "not claimed", never "failed".

use std::collections::BTreeSet;

/// The decisions, D1 to [`LAST_DECISION`].
pub const LAST_DECISION: u8 = 26;

/// An optional part of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// The Control API of D8 (`/admin`, `/health`, `/ready`): its own scenarios.
    ControlApi,
    /// `GET /metrics` in the Prometheus text format.
    Metrics,
    /// The HTTP long-polling transport (D1).
    Polling,
    /// Several nodes behaving as one server (D25).
    Cluster,
    /// MongoDB as the source of questions and results (D23).
    Mongo,
    /// The spec's Redis key design (§2), checked in the server's Redis.
    RedisKeys,
}

impl Part {
    /// Every part.
    pub const ALL: [Part; 6] = [
        Part::ControlApi,
        Part::Metrics,
        Part::Polling,
        Part::Cluster,
        Part::Mongo,
        Part::RedisKeys,
    ];

    /// As written in a profile.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::ControlApi => "control-api",
            Part::Metrics => "metrics",
            Part::Polling => "polling",
            Part::Cluster => "cluster",
            Part::Mongo => "mongo",
            Part::RedisKeys => "redis-keys",
        }
    }

    /// Parses the profile's spelling.
    ///
    /// ```
    /// use lcr_profile::Part;
    /// assert_eq!(Part::parse("redis-keys"), Some(Part::RedisKeys));
    /// assert_eq!(Part::parse("redis"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decisions a server follows and the parts it has.
///
/// ```
/// use lcr_profile::{Capabilities, Part};
/// let mut c = Capabilities::all_decisions([Part::Polling].into());
/// c.exclude(24);
/// assert!(c.follows(9) && !c.follows(24));
/// assert!(c.has(Part::Polling) && !c.has(Part::Cluster));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Decisions followed, by number.
    pub decisions: BTreeSet<u8>,
    /// Parts the server has.
    pub parts: BTreeSet<Part>,
    /// Whether `parts` was left to what the profile implies (then it is worked out again once
    /// the command line's flags are laid over the profile).
    pub parts_implied: bool,
}

impl Capabilities {
    /// Every decision, and `parts`.
    pub fn all_decisions(parts: BTreeSet<Part>) -> Capabilities {
        Capabilities {
            decisions: (1..=LAST_DECISION).collect(),
            parts,
            parts_implied: false,
        }
    }

    /// Whether decision `n` is followed.
    pub fn follows(&self, n: u8) -> bool {
        self.decisions.contains(&n)
    }

    /// Whether the server has `part`.
    pub fn has(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }

    /// Stops claiming decision `n`.
    pub fn exclude(&mut self, n: u8) {
        self.decisions.remove(&n);
    }

    /// `"D3"` → 3, for decision ids in profiles and tags.
    ///
    /// ```
    /// assert_eq!(lcr_profile::Capabilities::decision_number("D26"), Some(26));
    /// assert_eq!(lcr_profile::Capabilities::decision_number("D27"), None);
    /// assert_eq!(lcr_profile::Capabilities::decision_number("x"), None);
    /// ```
    pub fn decision_number(id: &str) -> Option<u8> {
        id.strip_prefix('D')
            .and_then(|n| n.parse().ok())
            .filter(|n| (1..=LAST_DECISION).contains(n))
    }
}
