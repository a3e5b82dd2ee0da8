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
    // The last case sends every round back to back, so the sender's writers finish while the
    // receiver still has frames to read.
    for (sender, receiver, interval) in [
        ("bare", "bare", "50"),
        ("tasks", "tasks", "50"),
        ("tasks", "bare", "0"),
    ] {
        let out = floor(&[
            "--sockets",
            "40",
            "--rounds",
            "5",
            "--interval-ms",
            interval,
            "--frame-bytes",
            "90",
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
        let header = format!("200 frames of 90 bytes, to 40 sockets every {interval} ms");
        assert!(text.starts_with(&header), "{text}");
        assert!(
            text.contains(&format!("sender {sender}, receiver {receiver}")),
            "{text}"
        );
        // The sender's system calls cost something, and so do the receiver's; every frame went
        // to a socket of its own, so it took at least one segment (other traffic only adds).
        // That the receiver read every byte sent is checked by the tool itself (it fails if not).
        assert!(figure(&text, "sender:") > 0.0, "{text}");
        assert!(figure(&text, "receiver:") > 0.0, "{text}");
        assert!(figure(&text, "TCP segments per delivery:") >= 1.0, "{text}");
    }
}

#[test]
fn refuses_an_empty_fan_out() {
    for flag in ["--sockets", "--rounds", "--frame-bytes"] {
        let out = floor(&[flag, "0"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(flag) && stderr.contains("is not in 1..="),
            "{stderr}"
        );
    }
}
