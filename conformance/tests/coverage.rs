//! Keeps `features/COVERAGE.md` true: every scenario it quotes exists, every event of spec §1
//! appears in some feature, every decision D1–D26 is covered or explained, and every feature
//! tag names a real decision.

use std::collections::BTreeSet;
use std::path::Path;

fn features_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../features"))
}

fn feature_texts() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(features_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "feature"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn scenario_names() -> BTreeSet<String> {
    feature_texts()
        .iter()
        .flat_map(|(_, text)| {
            text.lines()
                .map(str::trim)
                .filter_map(|l| {
                    l.strip_prefix("Scenario Outline:")
                        .or_else(|| l.strip_prefix("Scenario:"))
                        .map(|n| n.trim().to_owned())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn coverage() -> String {
    std::fs::read_to_string(features_dir().join("COVERAGE.md")).unwrap()
}

/// The quoted names in the last column of every table row.
fn quoted(line: &str) -> Vec<String> {
    let last = line.trim_end_matches('|').rsplit('|').next().unwrap_or("");
    last.split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_owned())
        .collect()
}

#[test]
fn every_quoted_scenario_exists() {
    let names = scenario_names();
    assert!(names.len() >= 90, "only {} scenarios", names.len());
    let mut missing = Vec::new();
    for line in coverage().lines().filter(|l| l.starts_with('|')) {
        for q in quoted(line) {
            if !names.contains(&q) {
                missing.push(q);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "COVERAGE.md names scenarios that do not exist: {missing:#?}"
    );
}

#[test]
fn every_scenario_is_in_the_table() {
    let table = coverage();
    let unlisted: Vec<String> = scenario_names()
        .into_iter()
        .filter(|n| !table.contains(&format!("\"{n}\"")))
        .collect();
    // Not every scenario must be listed, but most should be: a reviewer reads the table first.
    assert!(
        unlisted.len() <= scenario_names().len() / 3,
        "scenarios missing from COVERAGE.md: {unlisted:#?}"
    );
}

#[test]
fn every_spec_event_appears_in_a_feature() {
    let all: String = feature_texts().into_iter().map(|(_, t)| t).collect();
    for e in lcr_protocol::event::CLIENT_EVENTS
        .iter()
        .chain(&lcr_protocol::event::SERVER_EVENTS)
    {
        assert!(all.contains(e), "no scenario mentions {e}");
    }
}

#[test]
fn every_client_triggerable_error_code_appears_in_a_feature() {
    let all: String = feature_texts().into_iter().map(|(_, t)| t).collect();
    let table = coverage();
    for code in lcr_protocol::ErrorCode::ALL {
        let c = code.as_str();
        assert!(
            all.contains(c) || table.contains(&format!("`{c}`")),
            "error code {c} is neither tested nor explained"
        );
    }
}

#[test]
fn every_decision_is_covered_or_explained() {
    let table = coverage();
    for d in 1..=lcr_profile::LAST_DECISION {
        let id = format!("D{d}");
        assert!(
            table.lines().any(|l| l.starts_with('|')
                && (l.contains(&format!("| {id} ")) || l.contains(&format!("{id} ")))),
            "{id} is missing from COVERAGE.md"
        );
    }
}

#[test]
fn tags_name_real_decisions() {
    for (file, text) in feature_texts() {
        for tag in text.split_whitespace().filter(|w| w.starts_with('@')) {
            let name = &tag[1..];
            let ok = conformance::grading::TAGS.contains(&name)
                || lcr_profile::Capabilities::decision_number(name).is_some();
            assert!(ok, "{file}: unknown tag {tag}");
        }
    }
}
