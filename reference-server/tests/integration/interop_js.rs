//! D1: the official JavaScript client (`socket.io-client` v4, default options) drives a whole
//! conference. npm installs the client into the target directory on first use.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::*;

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Installs `socket.io-client` (pinned in tests/js/package.json) once, into the target dir.
/// One test at a time: the other store's test must not find a half-installed package.
fn installed() -> PathBuf {
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("js-interop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(js_dir().join("package.json"), dir.join("package.json")).unwrap();
    std::fs::copy(js_dir().join("interop.mjs"), dir.join("interop.mjs")).unwrap();
    if !dir.join("node_modules/socket.io-client").exists() {
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .output()
            .expect("npm is installed (Node.js 18 or later)");
        assert!(
            out.status.success(),
            "npm install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

async fn official_client_runs_a_whole_conference(store: Store) {
    let dir = tokio::task::spawn_blocking(installed).await.unwrap();
    let env = Env::start(store).await;
    let cid = env.active_conference_with("hana", &[("js1", "B")]).await;
    let token = |u: &str| lcr_protocol::token::mint(JWT_SECRET, u, 600).unwrap();
    let out = tokio::process::Command::new("node")
        .arg("interop.mjs")
        .current_dir(&dir)
        .env("URL", env.url())
        .env("CONF", &cid)
        .env("HOST_TOKEN", token("hana"))
        .env("ALEX_TOKEN", token("alex"))
        .env("BO_TOKEN", token("bo"))
        .env(
            "BAD_TOKEN",
            lcr_protocol::token::mint("wrong-secret", "eve", 600).unwrap(),
        )
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "no summary; stdout {stdout}; stderr {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success() && summary["ok"] == true, "{summary:#}");
    assert!(
        summary["checks"].as_array().unwrap().len() >= 15,
        "{summary:#}"
    );
    env.shutdown().await;
}

crate::both_stores!(official_client_runs_a_whole_conference);
