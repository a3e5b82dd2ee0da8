//! What the server's Redis keeps across a restart, read from its configuration at start-up
//! (docs/reference-server.md#redis-durability): a live question's votes survive a Redis crash
//! only if Redis writes them down.

use std::collections::HashMap;

use fred::prelude::*;
use fred::types::{ClusterHash, CustomCommand};

use crate::store::Durability;

/// Reads `appendonly`, `appendfsync` and `save` (`CONFIG GET`; managed Redis services that
/// refuse `CONFIG` give `INFO persistence`'s `aof_enabled`, or `unknown`).
pub(super) async fn of(client: &Client) -> Durability {
    let command = |name: &'static str| CustomCommand::new(name, ClusterHash::Random, false);
    let get = |name: &'static str| async move {
        client
            .custom::<HashMap<String, String>, _>(command("CONFIG"), vec!["GET", name])
            .await
            .ok()
            .and_then(|mut pair| pair.remove(name))
    };
    let (appendonly, appendfsync, save) = (
        get("appendonly").await,
        get("appendfsync").await,
        get("save").await,
    );
    let aof = match appendonly.as_deref() {
        Some(v) => Some(v == "yes"),
        None => client
            .custom::<String, _>(command("INFO"), vec!["persistence"])
            .await
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("aof_enabled:"))
                    .map(|v| v.trim() == "1")
            }),
    };
    classify(aof, appendfsync.as_deref(), save.as_deref())
}

/// Names the mode and says what it keeps, from the three settings (`None`: unreadable).
fn classify(aof: Option<bool>, appendfsync: Option<&str>, save: Option<&str>) -> Durability {
    let d = |mode: &str, keeps: String| Durability {
        mode: mode.to_owned(),
        keeps,
    };
    match (aof, appendfsync) {
        (Some(true), Some("always")) => d(
            "aof-always",
            "AOF fsync always: every acknowledged write survives a Redis crash and a machine crash"
                .into(),
        ),
        (Some(true), Some("everysec")) => d(
            "aof-everysec",
            "AOF fsync everysec: a Redis process crash loses nothing; a machine crash loses up \
             to the last second of writes (accepted votes among them)"
                .into(),
        ),
        (Some(true), other) => d(
            if other == Some("no") { "aof-no" } else { "aof" },
            "AOF without a regular fsync: a Redis process crash loses nothing; a machine crash \
             loses what the OS had not written yet"
                .into(),
        ),
        (Some(false), _) => match save.map(str::trim) {
            Some("") => d(
                "none",
                "no persistence: a Redis restart loses every live question, its votes and its \
                 pending results"
                    .into(),
            ),
            Some(rules) => d(
                "rdb",
                format!(
                    "RDB snapshots only (save {rules}): a Redis restart loses every write since \
                     the last snapshot, live votes among them"
                ),
            ),
            None => d(
                "unknown",
                "AOF off and the snapshot rules unreadable: a Redis restart may lose live \
                 questions"
                    .into(),
            ),
        },
        (None, _) => d(
            "unknown",
            "persistence settings unreadable (CONFIG and INFO refused): what a Redis restart \
             keeps is unknown"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn each_redis_setting_names_its_mode() {
        let mode = |aof, fsync, save| classify(aof, fsync, save).mode;
        assert_eq!(mode(Some(true), Some("always"), Some("")), "aof-always");
        assert_eq!(mode(Some(true), Some("everysec"), None), "aof-everysec");
        assert_eq!(mode(Some(true), Some("no"), None), "aof-no");
        assert_eq!(mode(Some(false), None, Some("")), "none");
        assert_eq!(mode(Some(false), None, Some("3600 1 300 100")), "rdb");
        assert_eq!(mode(Some(false), None, None), "unknown");
        assert_eq!(mode(None, None, None), "unknown");
        assert!(
            classify(Some(false), None, Some("900 1"))
                .keeps
                .contains("save 900 1")
        );
    }
}
