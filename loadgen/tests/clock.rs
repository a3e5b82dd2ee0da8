//! The servers' clock: a reference server whose wall clock is shifted by ±250 ms (libfaketime
//! on its process, its monotonic clock left alone) and a run that estimates the offset from its
//! vote answers. The true offset must lie within the reported bound, so the corrected fan-out
//! figures are within that bound of the truth; without correction the report says the clocks
//! differ; with a bound tighter than the estimate allows, fan-out is withheld.

mod common;
use common::{fresh_dir, loadgen};

use std::path::{Path, PathBuf};

use serde_json::Value;

/// libfaketime: `$LIBFAKETIME`, or where Debian's `faketime` package puts it.
fn libfaketime() -> PathBuf {
    if let Some(p) = std::env::var_os("LIBFAKETIME") {
        return PathBuf::from(p);
    }
    let candidates = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("faketime/libfaketime.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketime.so.1")]);
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "libfaketime.so.1 not found under /usr/lib: install Debian's faketime package \
             (scripts/test does) or set LIBFAKETIME"
            )
        })
}

/// A profile starting the reference server with its clock moved by `shift` (seconds, signed).
fn shifted_profile(d: &Path, shift: &str) -> PathBuf {
    let lib = libfaketime();
    let profile = d.join("profile.toml");
    std::fs::write(
        &profile,
        format!(
            r#"name = "reference, clock {shift} s"
[[server]]
command = "exec env LD_PRELOAD={lib} FAKETIME={shift} DONT_FAKE_MONOTONIC=1 {{reference-server}} --bind 127.0.0.1:{{port}}"
env = {{ JWT_SECRET = "clock-secret", ADMIN_TOKEN = "clock-admin", RUST_LOG = "warn" }}
ready = "/ready"
[auth]
kind = "hs256"
secret = "clock-secret"
[fixtures]
kind = "control-api"
control_api = {{ admin_token = "clock-admin" }}
"#,
            lib = lib.display()
        ),
    )
    .unwrap();
    profile
}

/// Runs loadgen against `profile` with `extra` options; its exit code, log and summary.
fn run(profile: &Path, d: &Path, extra: &[&str]) -> (i32, String, Value) {
    let mut args = vec![
        "--profile",
        profile.to_str().unwrap(),
        "--voters",
        "60",
        "--questions",
        "1",
        "--question-duration",
        "3",
        "--report-dir",
        d.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (code, log) = loadgen(&args);
    let summary = std::fs::read_to_string(d.join("summary.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    (code, log, summary)
}

fn figure(s: &Value, pointer: &str) -> f64 {
    s.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no {pointer} in {s}"))
}

fn estimated_within_bound(shift_ms: f64, shift: &str) {
    let d = fresh_dir(&format!("clock-estimate-{shift}"));
    let profile = shifted_profile(&d, shift);
    let (code, log, s) = run(&profile, &d.join("run"), &["--clock", "estimate"]);
    assert_eq!(code, 0, "{log}");
    let (offset, error) = (figure(&s, "/clock/offsetMs"), figure(&s, "/clock/errorMs"));
    assert!(
        (offset - shift_ms).abs() <= error,
        "the true offset {shift_ms} ms lies outside the estimate {offset:+.2} ± {error:.2} ms"
    );
    assert!(error < 20.0, "a loopback bound is tight: ± {error} ms");
    assert_eq!(s["clock"]["corrected"], true);
    // Corrected, a loopback fan-out is a few ms; uncorrected it would be off by 250.
    let p50 = figure(&s, "/metrics/fanout_question_live/p50");
    assert!(
        (0.0..100.0).contains(&p50),
        "corrected question:live fan-out p50 {p50} ms"
    );
    assert!(
        s["clock"]["earlyDeliveries"]
            .as_object()
            .is_none_or(|m| m.is_empty()),
        "{}",
        s["clock"]
    );
}

#[test]
fn a_server_clock_250_ms_ahead_is_estimated_and_corrected() {
    estimated_within_bound(250.0, "+0.25");
}

#[test]
fn a_server_clock_250_ms_behind_is_estimated_and_corrected() {
    estimated_within_bound(-250.0, "-0.25");
}

#[test]
fn clocks_taken_as_the_same_are_reported_apart_and_a_loose_bound_withholds_fan_out() {
    let d = fresh_dir("clock-same");
    let profile = shifted_profile(&d, "+0.25");
    // Taken as the same clock: the figures stay as measured and the report says why they are off.
    let (_, log, s) = run(&profile, &d.join("same"), &["--clock", "same"]);
    let warnings = s["warnings"].to_string();
    assert!(
        warnings.contains("the servers' clock is +2"),
        "{warnings}\n{log}"
    );
    assert!(
        warnings.contains("arrived before their server time"),
        "{warnings}"
    );
    assert_eq!(s["clock"]["corrected"], false);
    // A bound tighter than any estimate: no fan-out figure, and the reason.
    let (_, log, s) = run(
        &profile,
        &d.join("withheld"),
        &["--clock", "estimate", "--clock-max-error", "0.001"],
    );
    assert!(
        s["metrics"].get("fanout_question_live").is_none(),
        "{}\n{log}",
        s["metrics"]
    );
    assert!(s["metrics"].get("vote_ack").is_some());
    assert!(
        s["warnings"]
            .to_string()
            .contains("wider than --clock-max-error 0.001 ms"),
        "{}",
        s["warnings"]
    );
}
