//! Reports a reviewer reads and a CI gate uses. Every scenario ends graded **passed**,
//! **failed**, **not claimed** (it rests on a decision or part the profile does not claim) or
//! **not applicable** (the profile's fixture or auth cannot drive it); only `failed` fails the
//! run. The report is built from cucumber's JSON (what ran), the grading (what did not, and
//! why), the feature files (an outline example is named by its values) and what each actor
//! received (kept by the After hook), and written as `report.json`, `index.html` and
//! `junit.xml` (where not-run scenarios are skipped with their reason).
//!
//! ```
//! use conformance::report::{Outcome, Report};
//! let cucumber_json = serde_json::json!([{
//!   "uri": "features/voting.feature", "name": "Voting",
//!   "elements": [{"name": "A vote", "line": 3, "keyword": "Scenario", "tags": [{"name": "@D18"}],
//!     "steps": [
//!       {"keyword": "When ", "name": "alex votes", "result": {"status": "passed", "duration": 2000000}},
//!       {"keyword": "Then ", "name": "alex receives vote:accepted",
//!        "result": {"status": "failed", "duration": 1000000, "error_message": "did not receive"}}]}]
//! }]);
//! let report = Report::build(&cucumber_json, &[], "test profile", "http://x");
//! assert_eq!(report.summary.failed, 1);
//! let s = &report.features[0].scenarios[0];
//! assert_eq!(s.outcome, Outcome::Failed);
//! assert_eq!(s.failed_step.as_deref(), Some("Then alex receives vote:accepted"));
//! assert!(conformance::report::html::page(&report).contains("did not receive"));
//! assert!(conformance::report::junit::xml(&report).contains("<failure"));
//! ```

pub mod html;
pub mod junit;
pub mod log;
pub mod matrix;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use log::failed_steps;

use crate::grading::{Grade, Unrun};

/// How a scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every step passed, and no actor received a malformed or leaking message.
    Passed,
    /// A step failed (or matched no step definition).
    Failed,
    /// It rests on a decision or part the profile does not claim.
    NotClaimed,
    /// The profile's fixture or auth cannot drive it.
    NotApplicable,
}

impl Outcome {
    /// As written in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotClaimed => "not claimed",
            Outcome::NotApplicable => "not applicable",
        }
    }
}

/// Scenarios by outcome.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Passed.
    pub passed: usize,
    /// Failed: the run's exit code is 1 when this is not zero.
    pub failed: usize,
    /// Not claimed by the profile.
    pub not_claimed: usize,
    /// Not applicable to the profile's fixture or auth.
    pub not_applicable: usize,
}

impl Summary {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NotClaimed => self.not_claimed += 1,
            Outcome::NotApplicable => self.not_applicable += 1,
        }
    }

    /// Scenarios in all.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.not_claimed + self.not_applicable
    }
}

/// One step of a scenario that ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// Keyword and text.
    pub text: String,
    /// passed, failed, skipped (no step matched), or not run (after a failure).
    pub status: String,
    /// How long it took.
    pub duration_ms: f64,
    /// Its error: what was expected, what was observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One message an actor received.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    /// Milliseconds after the scenario's first message.
    pub at_ms: i64,
    /// The event.
    pub event: String,
    /// Its payload.
    pub data: Value,
}

/// What one actor of a scenario received.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorReport {
    /// The scenario's name for it.
    pub name: String,
    /// Its user id.
    pub user_id: String,
    /// The server's `connect_error`, if it refused the connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_error: Option<Value>,
    /// Every message, in arrival order.
    pub received: Vec<Received>,
}

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioReport {
    /// Its name; an outline's example carries its values (`… — token: an expired token`).
    pub name: String,
    /// Its line in the feature file (an outline example's row).
    pub line: usize,
    /// Its tags and its feature's, with `@`.
    pub tags: Vec<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it did not run (not claimed, not applicable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Sum of its steps' durations.
    pub duration_ms: f64,
    /// The first failed step, keyword included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    /// Its message: what was expected, what was observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its steps.
    pub steps: Vec<StepReport>,
    /// What each actor received.
    pub actors: Vec<ActorReport>,
}

/// One feature file's scenarios.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureReport {
    /// Feature name.
    pub name: String,
    /// Its file.
    pub uri: String,
    /// The protocol sections it covers (`§7.1`), from its description.
    pub sections: Vec<String>,
    /// Its scenarios, in file order.
    pub scenarios: Vec<ScenarioReport>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The profile's name.
    pub profile: String,
    /// The server under test (node 1).
    pub target: String,
    /// Scenarios by outcome.
    pub summary: Summary,
    /// Per feature.
    pub features: Vec<FeatureReport>,
    /// Logs of the nodes the suite started, relative to the report folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub node_logs: Vec<String>,
}

/// What the After hook kept of one scenario: its actors' messages.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Its feature's name.
    pub feature: String,
    /// Its line.
    pub line: usize,
    /// Its actors.
    pub actors: Vec<ActorReport>,
}

static TRANSCRIPTS: Mutex<Vec<Transcript>> = Mutex::new(Vec::new());

/// Keeps a scenario's transcript for the report.
pub fn record_transcript(t: Transcript) {
    TRANSCRIPTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(t);
}

fn tags(v: &Value) -> Vec<String> {
    v["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["name"].as_str())
                .map(|t| {
                    if t.starts_with('@') {
                        t.to_owned()
                    } else {
                        format!("@{t}")
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The protocol sections a feature's description names (`§7.1`, `§4–§7`).
fn sections(description: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in description.match_indices('§') {
        let number: String = description[i + '§'.len_utf8()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let number = number.trim_end_matches('.');
        if !number.is_empty() && !out.iter().any(|s: &String| s == &format!("§{number}")) {
            out.push(format!("§{number}"));
        }
    }
    out
}

/// What the feature files say beyond cucumber's JSON: each feature's sections, and each outline
/// example's values by line.
#[derive(Debug, Default)]
pub struct FeatureIndex {
    sections: BTreeMap<String, Vec<String>>,
    examples: BTreeMap<(String, usize), String>,
}

impl FeatureIndex {
    /// Reads every `.feature` file in `dir`.
    pub fn read(dir: &Path) -> FeatureIndex {
        let mut index = FeatureIndex::default();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "feature"))
            .collect();
        files.sort();
        for path in files {
            let Ok(feature) = cucumber::gherkin::Feature::parse_path(&path, Default::default())
            else {
                continue;
            };
            index.sections.insert(
                feature.name.clone(),
                sections(feature.description.as_deref().unwrap_or_default()),
            );
            for scenario in &feature.scenarios {
                for examples in &scenario.examples {
                    let Some(table) = &examples.table else {
                        continue;
                    };
                    let Some((header, rows)) = table.rows.split_first() else {
                        continue;
                    };
                    for (i, row) in rows.iter().enumerate() {
                        let values: Vec<String> = header
                            .iter()
                            .zip(row)
                            .map(|(h, v)| format!("{h}: {v}"))
                            .collect();
                        let line = examples.position.line + i + 2;
                        index
                            .examples
                            .insert((feature.name.clone(), line), values.join(", "));
                    }
                }
            }
        }
        index
    }

    /// The name of scenario `name` at `line` of `feature`, with its example's values if it is
    /// an outline's.
    pub fn name(&self, feature: &str, name: &str, line: usize) -> String {
        match self.examples.get(&(feature.to_owned(), line)) {
            Some(values) => format!("{name} — {values}"),
            None => name.to_owned(),
        }
    }
}

fn from_element(sc: &Value, feature_tags: &[String]) -> ScenarioReport {
    let mut outcome = Outcome::Passed;
    let (mut failed_step, mut error) = (None, None);
    let mut nanos = 0.0;
    let mut steps = Vec::new();
    let hooks = sc["before"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(sc["after"].as_array().into_iter().flatten());
    for (i, step) in sc["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(hooks)
        .enumerate()
    {
        let result = &step["result"];
        let d = result["duration"].as_f64().unwrap_or(0.0);
        nanos += d;
        let status = result["status"].as_str().unwrap_or("skipped");
        let is_step = step["name"].is_string();
        let text = if is_step {
            format!(
                "{}{}",
                step["keyword"].as_str().unwrap_or(""),
                step["name"].as_str().unwrap_or("")
            )
        } else {
            format!("after the scenario (hook {i})")
        };
        let message = result["error_message"].as_str().map(str::to_owned);
        if outcome == Outcome::Passed && status != "passed" {
            outcome = Outcome::Failed;
            failed_step = Some(text.clone());
            error = message.clone().or_else(|| {
                (status == "skipped" || status == "undefined")
                    .then(|| "no step definition matches this step".to_owned())
            });
        }
        if is_step || status != "passed" {
            steps.push(StepReport {
                text,
                status: status.to_owned(),
                duration_ms: d / 1e6,
                error: message,
            });
        }
    }
    let mut all_tags = feature_tags.to_vec();
    all_tags.extend(tags(sc));
    ScenarioReport {
        name: sc["name"].as_str().unwrap_or("").to_owned(),
        line: sc["line"].as_u64().unwrap_or(0) as usize,
        tags: all_tags,
        outcome,
        reason: None,
        duration_ms: nanos / 1e6,
        failed_step,
        error,
        steps,
        actors: Vec::new(),
    }
}

fn from_unrun(u: &Unrun) -> ScenarioReport {
    let (outcome, reason) = match &u.grade {
        Grade::NotClaimed(r) => (Outcome::NotClaimed, r.clone()),
        Grade::NotApplicable(r) => (Outcome::NotApplicable, r.clone()),
        Grade::Run => (Outcome::Failed, "graded to run, but did not run".to_owned()),
    };
    ScenarioReport {
        name: u.name.clone(),
        line: u.line,
        tags: u.tags.clone(),
        outcome,
        reason: Some(reason),
        duration_ms: 0.0,
        failed_step: None,
        error: None,
        steps: u
            .steps
            .iter()
            .map(|text| StepReport {
                text: text.clone(),
                status: "not run".into(),
                duration_ms: 0.0,
                error: None,
            })
            .collect(),
        actors: Vec::new(),
    }
}

impl Report {
    /// The report of a run: what ran (cucumber's JSON) and what did not (`unrun`), with the
    /// transcripts the After hook kept.
    pub fn build(cucumber_json: &Value, unrun: &[Unrun], profile: &str, target: &str) -> Report {
        Report::build_with(
            cucumber_json,
            unrun,
            &FeatureIndex::default(),
            profile,
            target,
        )
    }

    /// As [`Report::build`], naming outline examples and sections from `index`.
    pub fn build_with(
        cucumber_json: &Value,
        unrun: &[Unrun],
        index: &FeatureIndex,
        profile: &str,
        target: &str,
    ) -> Report {
        let transcripts = TRANSCRIPTS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut features: Vec<FeatureReport> = Vec::new();
        for f in cucumber_json.as_array().into_iter().flatten() {
            let name = f["name"].as_str().unwrap_or("").to_owned();
            let feature_tags = tags(f);
            let scenarios = f["elements"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|sc| sc["type"].as_str() != Some("background"))
                .map(|sc| {
                    let mut s = from_element(sc, &feature_tags);
                    s.name = index.name(&name, &s.name, s.line);
                    if let Some(t) = transcripts
                        .iter()
                        .rev()
                        .find(|t| t.feature == name && t.line == s.line)
                    {
                        s.actors = t.actors.clone();
                    }
                    s
                })
                .collect();
            // `features/<file>`, whatever folder cucumber was given.
            let uri = f["uri"].as_str().unwrap_or("");
            let file = uri.rsplit('/').next().unwrap_or(uri);
            features.push(FeatureReport {
                sections: index.sections.get(&name).cloned().unwrap_or_default(),
                uri: format!("features/{file}"),
                name,
                scenarios,
            });
        }
        for u in unrun {
            let feature = match features.iter_mut().find(|f| f.name == u.feature) {
                Some(f) => f,
                None => {
                    features.push(FeatureReport {
                        name: u.feature.clone(),
                        uri: u.uri.clone(),
                        sections: index.sections.get(&u.feature).cloned().unwrap_or_default(),
                        scenarios: Vec::new(),
                    });
                    features.last_mut().expect("just pushed")
                }
            };
            let mut s = from_unrun(u);
            s.name = index.name(&u.feature, &u.name, u.line);
            feature.scenarios.push(s);
        }
        let mut summary = Summary::default();
        for f in &mut features {
            f.scenarios.sort_by_key(|s| s.line);
            for s in &f.scenarios {
                summary.add(s.outcome);
            }
        }
        features.sort_by_key(|f| (protocol_order(&f.sections), f.uri.clone()));
        Report {
            profile: profile.to_owned(),
            target: target.to_owned(),
            summary,
            features,
            node_logs: Vec::new(),
        }
    }

    /// Writes `report.json`, `index.html` and the JUnit XML (`junit` or `junit.xml`) into `dir`.
    ///
    /// # Errors
    ///
    /// When a file cannot be written.
    pub fn write(&self, dir: &Path, junit: Option<&Path>) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(
            dir.join("report.json"),
            serde_json::to_string_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::write(dir.join("index.html"), html::page(self))?;
        let junit_path = junit.map_or_else(|| dir.join("junit.xml"), Path::to_path_buf);
        std::fs::write(junit_path, junit::xml(self))
    }
}

/// Where a feature goes in protocol order: by the first section it covers (`§7.1` → [7, 1]);
/// features that cover none go last.
///
/// ```
/// use conformance::report::protocol_order;
/// assert!(protocol_order(&["§1.2".into()]) < protocol_order(&["§7.1".into()]));
/// assert!(protocol_order(&["§11".into()]) < protocol_order(&[]));
/// ```
pub fn protocol_order(sections: &[String]) -> Vec<u32> {
    sections
        .first()
        .map(|s| {
            s.trim_start_matches('§')
                .split('.')
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_else(|| vec![u32::MAX])
}

/// An anchor for a scenario, the same in every report of the same features.
pub fn anchor(feature: &str, line: usize) -> String {
    let slug: String = feature
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{slug}-{line}")
}

/// `s`, escaped for HTML and XML text and attributes.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
