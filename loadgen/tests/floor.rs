//! `loadgen floor` end to end: a small fan-out over loopback, both shapes of each side, and the
//! refusal of a fan-out of nothing.

use std::process::Command;

fn floor(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("floor")
        .args(args)
        .output()
        .expect("loadgen runs")
}

/// The number after `label` in `text`.
fn figure(text: &str, label: &str) -> f64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        + label.len();
    let number: String = text[at..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no figure after {label:?} in {text}"))
}

#[test]
fn measures_a_fan_out_with_each_shape() {
    for (sender, receiver) in [("bare", "bare"), ("tasks", "tasks"), ("tasks", "bare")] {
        let out = floor(&[
            "--sockets",
            "40",
            "--rounds",
            "5",
            "--interval-ms",
            "50",
            "--sender",
            sender,
            "--receiver",
            receiver,
            "--worker-threads",
            "1",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{sender}/{receiver}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.starts_with("200 frames of 90 bytes, to 40 sockets every 50 ms"),
            "{text}"
        );
        // The sender's system calls cost something; every frame went to a socket of its own, so
        // it took at least one segment (the machine's other traffic can only add).
        assert!(figure(&text, "sender:") > 0.0, "{text}");
        assert!(figure(&text, "receiver:") > 0.0, "{text}");
        assert!(figure(&text, "TCP segments per delivery:") >= 1.0, "{text}");
    }
}

#[test]
fn refuses_an_empty_fan_out() {
    let out = floor(&["--sockets", "0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--sockets, --rounds and --frame-bytes must be above 0"),
        "{stderr}"
    );
}
