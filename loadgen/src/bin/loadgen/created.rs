//! `created.json`: the run's conferences as the server knows them, written by the process that
//! created them and read by the shards that did not.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use lcr_profile::Created;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct File {
    conferences: Vec<Created>,
}

/// Writes `created` to `path`, whole or not at all (a reader never sees half of it).
pub fn write(path: &Path, created: &[Created]) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&File {
        conferences: created.to_vec(),
    })?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Reads `path` once it exists (another shard writes it), waiting up to `wait`.
pub async fn read(path: &Path, wait: Duration) -> anyhow::Result<Vec<Created>> {
    let until = Instant::now() + wait;
    loop {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let file: File = serde_json::from_str(&text).with_context(|| {
                    format!("{}: not a created.json of this loadgen", path.display())
                })?;
                return Ok(file.conferences);
            }
            Err(_) if Instant::now() < until => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("{}: not there after {} s", path.display(), wait.as_secs())
                });
            }
        }
    }
}
