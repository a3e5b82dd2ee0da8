//! What a CI log should show of a failed run: the failed steps of the suite's terminal output.

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
