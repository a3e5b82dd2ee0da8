//! Reports a reviewer can read: a self-contained HTML matrix (feature × scenario, status, the
//! failing step with expected and observed messages, durations) and its JSON twin, both made
//! from the Cucumber JSON that cucumber's own writer produces.
//!
//! ```
//! let cucumber_json = serde_json::json!([{
//!   "uri": "features/voting.feature", "name": "Voting",
//!   "elements": [{"name": "A vote", "tags": [{"name": "@D18"}], "steps": [
//!     {"keyword": "When ", "name": "alex votes", "result": {"status": "passed", "duration": 2000000}},
//!     {"keyword": "Then ", "name": "alex receives vote:accepted",
//!      "result": {"status": "failed", "duration": 1000000, "error_message": "did not receive"}}]}]
//! }]);
//! let report = conformance::report::Report::from_cucumber_json(&cucumber_json, "http://x");
//! assert_eq!(report.summary.failed, 1);
//! assert_eq!(report.features[0].scenarios[0].failed_step.as_deref(), Some("Then alex receives vote:accepted"));
//! assert!(conformance::report::html(&report).contains("did not receive"));
//! ```

use serde::Serialize;
use serde_json::Value;

/// Counts of scenarios by status.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Scenarios whose every step passed.
    pub passed: usize,
    /// Scenarios with a failed step or hook.
    pub failed: usize,
    /// Scenarios with skipped steps (no step matched) and no failure.
    pub skipped: usize,
}

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioReport {
    /// Scenario name.
    pub name: String,
    /// Its tags, with `@`.
    pub tags: Vec<String>,
    /// passed, failed or skipped.
    pub status: String,
    /// Sum of its steps' durations.
    pub duration_ms: f64,
    /// The first failed (or skipped) step, keyword included.
    pub failed_step: Option<String>,
    /// Its message: what was expected, what was observed.
    pub error: Option<String>,
}

/// One feature file's scenarios.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureReport {
    /// Feature name.
    pub name: String,
    /// Its file.
    pub uri: String,
    /// Its scenarios.
    pub scenarios: Vec<ScenarioReport>,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The server under test.
    pub target: String,
    /// Scenario counts.
    pub summary: Summary,
    /// Per feature.
    pub features: Vec<FeatureReport>,
    /// Logs of the nodes the suite started (`--nodes`), relative to the report folder.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub node_logs: Vec<String>,
}

fn tags(v: &Value) -> Vec<String> {
    v["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Report {
    /// Builds the report from Cucumber JSON.
    pub fn from_cucumber_json(json: &Value, target: &str) -> Report {
        let mut summary = Summary::default();
        let features = json
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|f| {
                let feature_tags = tags(f);
                let scenarios = f["elements"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|sc| {
                        let mut status = "passed";
                        let mut failed_step = None;
                        let mut error = None;
                        let mut nanos = 0.0;
                        let hooks = sc["before"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .chain(sc["after"].as_array().into_iter().flatten());
                        let steps = sc["steps"].as_array().into_iter().flatten();
                        for (i, step) in steps.chain(hooks).enumerate() {
                            let result = &step["result"];
                            nanos += result["duration"].as_f64().unwrap_or(0.0);
                            let s = result["status"].as_str().unwrap_or("skipped");
                            let name = if step["name"].is_string() {
                                format!(
                                    "{}{}",
                                    step["keyword"].as_str().unwrap_or(""),
                                    step["name"].as_str().unwrap_or("")
                                )
                            } else {
                                format!("hook #{i}")
                            };
                            if s == "failed" && status != "failed" {
                                status = "failed";
                                failed_step = Some(name);
                                error = result["error_message"].as_str().map(str::to_owned);
                            } else if s != "passed" && status == "passed" {
                                status = "skipped";
                                failed_step = Some(name);
                            }
                        }
                        match status {
                            "passed" => summary.passed += 1,
                            "failed" => summary.failed += 1,
                            _ => summary.skipped += 1,
                        }
                        let mut all_tags = feature_tags.clone();
                        all_tags.extend(tags(sc));
                        ScenarioReport {
                            name: sc["name"].as_str().unwrap_or("").to_owned(),
                            tags: all_tags,
                            status: status.to_owned(),
                            duration_ms: nanos / 1e6,
                            failed_step,
                            error,
                        }
                    })
                    .collect();
                FeatureReport {
                    name: f["name"].as_str().unwrap_or("").to_owned(),
                    uri: f["uri"].as_str().unwrap_or("").to_owned(),
                    scenarios,
                }
            })
            .collect();
        Report {
            target: target.to_owned(),
            summary,
            features,
            node_logs: Vec::new(),
        }
    }
}

/// The first `max` failed steps of the suite's terminal output, each with its scenario and the
/// lines after it (the step's error, and the events the actor had received): what a CI log
/// should show of a failed run.
///
/// ```
/// let log = "Feature: Voting
///   Scenario: A vote
///    ✔  Given alex joined
///    ✘  Then alex receives vote:accepted
///       Step failed:
///       alex did not receive vote:accepted within 10s.
///       Received: error TIMEOUT
///   Scenario: Another
///    ✘  Given x
///       Step failed:
///   Scenario: A third
///    ✔  Given y
/// ";
/// let out = conformance::report::failed_steps(log, 5);
/// assert!(out.starts_with("  Scenario: A vote\n   ✘  Then alex receives vote:accepted"));
/// assert!(out.contains("Received: error TIMEOUT\n  Scenario: Another\n   ✘  Given x"));
/// assert!(!out.contains("A third"));
/// assert!(conformance::report::failed_steps(log, 1).ends_with("[…]"));
/// ```
pub fn failed_steps(log: &str, max: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let mut out = Vec::new();
    let mut scenario = "";
    let mut shown = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.contains("Scenario") {
            scenario = line;
        }
        if !line.contains('✘') {
            continue;
        }
        shown += 1;
        if shown > max {
            out.push("   […]".to_owned());
            break;
        }
        out.push(scenario.to_owned());
        out.push((*line).to_owned());
        // The step's error and what the actor had received, up to the next step or scenario.
        for next in lines[i + 1..].iter().take(16) {
            let ends = next.trim().is_empty()
                || next.contains('✔')
                || next.contains('✘')
                || next.contains("Scenario");
            if ends {
                break;
            }
            out.push(next.chars().take(300).collect());
        }
    }
    out.join("\n")
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The self-contained HTML matrix.
pub fn html(r: &Report) -> String {
    let mut out = String::new();
    let verdict = if r.summary.failed == 0 {
        "PASS"
    } else {
        "FAIL"
    };
    out.push_str(&format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><title>Conformance: {verdict}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222}} h1 span{{padding:.1em .5em;border-radius:4px;color:#fff}}
.PASS{{background:#2a7d2a}} .FAIL{{background:#b22}} table{{border-collapse:collapse;width:100%;margin-bottom:2em}}
td,th{{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}} th{{background:#f3f3f3}}
.passed{{background:#e7f6e7}} .failed{{background:#fde8e8}} .skipped{{background:#fff6dd}}
pre{{white-space:pre-wrap;margin:0;font-size:.85em}} .tag{{font-size:.8em;color:#555;margin-right:.4em}}
</style></head><body>
<h1>Conformance <span class="{verdict}">{verdict}</span></h1>
<p>Target: <code>{}</code> — {} passed, {} failed, {} skipped</p>
"#,
        esc(&r.target),
        r.summary.passed,
        r.summary.failed,
        r.summary.skipped
    ));
    if !r.node_logs.is_empty() {
        let links: Vec<String> = r
            .node_logs
            .iter()
            .map(|l| format!("<a href=\"{0}\">{0}</a>", esc(l)))
            .collect();
        out.push_str(&format!("<p>Node logs: {}</p>\n", links.join(", ")));
    }
    for f in &r.features {
        out.push_str(&format!(
            "<h2>{}</h2><p><code>{}</code></p><table><tr><th>Scenario</th><th>Status</th><th>ms</th><th>Failing step: expected vs observed</th></tr>\n",
            esc(&f.name),
            esc(&f.uri)
        ));
        for s in &f.scenarios {
            let tags: String = s
                .tags
                .iter()
                .map(|t| format!("<span class=\"tag\">{}</span>", esc(t)))
                .collect();
            let detail = match (&s.failed_step, &s.error) {
                (Some(step), Some(e)) => format!("<b>{}</b><pre>{}</pre>", esc(step), esc(e)),
                (Some(step), None) => format!("<b>{}</b>", esc(step)),
                _ => String::new(),
            };
            out.push_str(&format!(
                "<tr class=\"{}\"><td>{}<br>{tags}</td><td>{}</td><td>{:.0}</td><td>{detail}</td></tr>\n",
                s.status,
                esc(&s.name),
                s.status,
                s.duration_ms
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body></html>\n");
    out
}
