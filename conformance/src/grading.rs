//! Which scenarios a run can judge. A scenario that rests on a decision or an optional part the
//! profile does not claim is **not claimed**; one the profile's fixture or auth cannot drive (a
//! store fixture cannot make the server broadcast `conference:status_changed`; a token command
//! cannot make an expired token) is **not applicable**. Neither runs, and neither fails the run;
//! both are reported with their reason.

use std::sync::Mutex;

use cucumber::gherkin;
use lcr_profile::{Capabilities, Carrier, Part, Step};
use lcr_protocol::ConferenceStatus;

use crate::target::Target;

/// The tags scenarios may carry besides decisions (`@D9`): the parts and environment they need
/// ([`grade`] reads them), and two that say how they run (`@serial`: alone, as cucumber runs
/// it; `@slow`: a real 45-second wait, for `--tags 'not @slow'`).
pub const TAGS: [&str; 11] = [
    "control-api",
    "metrics",
    "polling",
    "cluster",
    "redis",
    "mongo",
    "failover",
    "handover",
    "mongo-outage",
    "serial",
    "slow",
];

/// A scenario's grade before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grade {
    /// The run can judge it.
    Run,
    /// It rests on something the profile does not claim.
    NotClaimed(String),
    /// The profile's fixture or auth cannot drive it.
    NotApplicable(String),
}

/// A scenario that did not run, and why.
#[derive(Debug, Clone)]
pub struct Unrun {
    /// Its feature's name.
    pub feature: String,
    /// Its feature's file, as cucumber's JSON names it (`features/voting.feature`).
    pub uri: String,
    /// The scenario's name (an outline's example has its values in it).
    pub name: String,
    /// Its line (an outline example's row).
    pub line: usize,
    /// Its tags and its feature's, with `@`.
    pub tags: Vec<String>,
    /// Its steps, keyword and text.
    pub steps: Vec<String>,
    /// Not claimed or not applicable.
    pub grade: Grade,
}

static UNRUN: Mutex<Vec<Unrun>> = Mutex::new(Vec::new());

/// Keeps `unrun` for the report.
pub fn record(unrun: Unrun) {
    UNRUN.lock().unwrap_or_else(|p| p.into_inner()).push(unrun);
}

/// Every scenario that did not run, so far.
pub fn unrun() -> Vec<Unrun> {
    UNRUN.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn tag_grade(tag: &str, target: &Target) -> Grade {
    let caps = &target.profile.capabilities;
    let claim = |part: Part| {
        if caps.has(part) {
            Grade::Run
        } else {
            Grade::NotClaimed(format!(
                "needs the {part} part, which the profile does not claim"
            ))
        }
    };
    let needs = |ok: bool, why: &str| {
        if ok {
            Grade::Run
        } else {
            Grade::NotApplicable(why.to_owned())
        }
    };
    if let Some(n) = Capabilities::decision_number(tag) {
        return if caps.follows(n) {
            Grade::Run
        } else {
            Grade::NotClaimed(format!("rests on D{n}, which the profile does not claim"))
        };
    }
    let first = |grades: [Grade; 2]| {
        grades
            .into_iter()
            .find(|g| *g != Grade::Run)
            .unwrap_or(Grade::Run)
    };
    match tag {
        "control-api" => first([
            claim(Part::ControlApi),
            needs(
                target.control_api().is_some(),
                "the profile's fixtures are not the Control API: no admin token to call it with",
            ),
        ]),
        "metrics" => first([
            claim(Part::Metrics),
            needs(
                target.control_api().is_some(),
                "the profile's fixtures are not the Control API: no base URL for the probes",
            ),
        ]),
        "polling" => claim(Part::Polling),
        "cluster" => first([
            claim(Part::Cluster),
            needs(target.nodes.len() > 1, "the target has one node"),
        ]),
        "redis" => first([
            claim(Part::RedisKeys),
            needs(
                target.redis.is_some(),
                "no Redis to look into: give target.redis_url (or --redis-url)",
            ),
        ]),
        "mongo" => first([
            claim(Part::Mongo),
            needs(
                target.mongo.is_some(),
                "no MongoDB to look into: give target.mongo_url (or --mongo-url)",
            ),
        ]),
        "failover" => needs(
            target.controls.can_kill_nodes(),
            "no way to kill a node: [[server]] processes, --nodes, or [controls] node_down/node_up",
        ),
        "handover" => needs(
            target.controls.can_stop_nodes(),
            "no way to stop a node gracefully: [[server]] processes, --nodes, or [controls] node_stop",
        ),
        "mongo-outage" => needs(
            target.controls.mongo.is_some(),
            "no way to take MongoDB away: [controls] mongo_down/mongo_up (or --mongo-down-cmd)",
        ),
        _ => Grade::Run,
    }
}

/// Why a step cannot be driven with this profile, if it cannot.
fn step_grade(text: &str, target: &Target) -> Grade {
    let fixture = |step: Step| match target.fixture.cannot(step) {
        Some(why) => Grade::NotApplicable(why),
        None => Grade::Run,
    };
    let tokens = &target.tokens;
    let signing = || {
        if tokens.can_sign() {
            Grade::Run
        } else {
            Grade::NotApplicable(
                "the profile's tokens come from a command: no token with chosen claims".into(),
            )
        }
    };
    if text.starts_with("the conference") && text.ends_with(" activated") {
        return fixture(Step::Activate);
    }
    if text.starts_with("the conference") && text.ends_with(" ended") {
        return fixture(Step::End);
    }
    if text.starts_with("an ended conference") {
        return fixture(Step::Create(ConferenceStatus::Ended));
    }
    if text.starts_with("an active conference") {
        return fixture(Step::Create(ConferenceStatus::Active));
    }
    let Some((_, how)) = text.split_once(" connects with ") else {
        return Grade::Run;
    };
    match how {
        "a token in the Authorization header" if !tokens.accepts(Carrier::Header) => {
            Grade::NotApplicable(
                "the profile's server does not take tokens in the Authorization header".into(),
            )
        }
        "a token whose user is in sub" => match signing() {
            Grade::Run if !tokens.auth().user_claims.iter().any(|c| c == "sub") => {
                Grade::NotApplicable(
                    "the profile's server does not read the user id from sub".into(),
                )
            }
            other => other,
        },
        "an expired token" | "a token without a user" | "a token whose user id is invalid" => {
            signing()
        }
        "the polling transport" if !target.polls() => {
            Grade::NotClaimed("the profile's server does not offer polling".into())
        }
        _ => Grade::Run,
    }
}

/// The grade of `scenario` of `feature` against `target`: not claimed before not applicable,
/// every reason given.
pub fn grade(feature: &gherkin::Feature, scenario: &gherkin::Scenario, target: &Target) -> Grade {
    let grades: Vec<Grade> = feature
        .tags
        .iter()
        .chain(&scenario.tags)
        .map(|t| tag_grade(t, target))
        .chain(
            feature
                .background
                .iter()
                .flat_map(|b| &b.steps)
                .chain(&scenario.steps)
                .map(|s| step_grade(&s.value, target)),
        )
        .collect();
    let reasons = |pick: fn(&Grade) -> Option<&String>| {
        let mut all: Vec<&String> = grades.iter().filter_map(pick).collect();
        all.dedup();
        all.into_iter().cloned().collect::<Vec<_>>().join("; ")
    };
    let not_claimed = reasons(|g| match g {
        Grade::NotClaimed(r) => Some(r),
        _ => None,
    });
    if !not_claimed.is_empty() {
        return Grade::NotClaimed(not_claimed);
    }
    let not_applicable = reasons(|g| match g {
        Grade::NotApplicable(r) => Some(r),
        _ => None,
    });
    if !not_applicable.is_empty() {
        return Grade::NotApplicable(not_applicable);
    }
    Grade::Run
}
