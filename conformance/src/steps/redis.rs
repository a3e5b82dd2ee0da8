//! Then (`@redis`): the server's Redis keys, as spec §2 lays them out.

use cucumber::then;
use fred::prelude::*;

use crate::world::{LiveWorld, StepResult};

fn redis(w: &LiveWorld) -> Result<&Client, String> {
    w.target
        .redis
        .as_ref()
        .ok_or_else(|| "@redis scenario without --redis-url".to_owned())
}

async fn cmd(w: &LiveWorld, args: Vec<String>) -> Result<fred::types::Value, String> {
    let client = redis(w)?;
    let name = args[0].clone();
    client
        .custom(
            fred::types::CustomCommand::new_static(Box::leak(name.into_boxed_str()), None, false),
            args[1..].to_vec(),
        )
        .await
        .map_err(|e| format!("redis: {e}"))
}

async fn ttl(w: &LiveWorld, key: &str) -> Result<i64, String> {
    let v = cmd(w, vec!["TTL".into(), key.into()]).await?;
    v.as_i64().ok_or_else(|| format!("TTL {key}: {v:?}"))
}

#[then(
    regex = r#"^Redis holds (string|hash|set) "([^"]+)"(?: with (no TTL|a TTL of (\d+) to (\d+) seconds))?$"#
)]
async fn holds(
    w: &mut LiveWorld,
    kind: String,
    key: String,
    ttl_text: String,
    lo: String,
    hi: String,
) -> StepResult {
    let key = w.resolve(&key);
    let t = cmd(w, vec!["TYPE".into(), key.clone()]).await?;
    let t = t.as_string().unwrap_or_default();
    if t != kind {
        return Err(format!("{key} is a {t:?}, expected a {kind} (spec §2)"));
    }
    let got = ttl(w, &key).await?;
    match ttl_text.as_str() {
        "no TTL" if got != -1 => Err(format!("{key} has TTL {got} s, expected none (spec §2)")),
        s if s.starts_with("a TTL") => {
            let (lo, hi): (i64, i64) = (lo.parse().unwrap_or(0), hi.parse().unwrap_or(0));
            if (lo..=hi).contains(&got) {
                Ok(())
            } else {
                Err(format!(
                    "{key} has TTL {got} s, expected {lo} to {hi} (spec §2)"
                ))
            }
        }
        _ => Ok(()),
    }
}

#[then(regex = r#"^Redis holds no key "([^"]+)"(?: once the result is written)?$"#)]
async fn absent(w: &mut LiveWorld, key: String) -> StepResult {
    let key = w.resolve(&key);
    let deadline = tokio::time::Instant::now() + w.target.wait;
    loop {
        let n = cmd(w, vec!["EXISTS".into(), key.clone()]).await?;
        if n.as_i64() == Some(0) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("{key} still exists (spec §4.3 cleanup)"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[then(regex = r#"^Redis (string|hash field) "([^"]+)"(?: field "([^"]+)")? is "([^"]*)"$"#)]
async fn value(
    w: &mut LiveWorld,
    kind: String,
    key: String,
    field: String,
    want: String,
) -> StepResult {
    let key = w.resolve(&key);
    let want = w.resolve(&want);
    let got = if kind == "string" {
        cmd(w, vec!["GET".into(), key.clone()]).await?
    } else {
        cmd(w, vec!["HGET".into(), key.clone(), field.clone()]).await?
    };
    let got = got.as_string().unwrap_or_default();
    if got == want {
        Ok(())
    } else {
        Err(format!("{key} {field}: {got:?}, expected {want:?}"))
    }
}

#[then(regex = r#"^Redis set "([^"]+)" (contains|does not contain) "([^"]+)"$"#)]
async fn set_member(w: &mut LiveWorld, key: String, how: String, who: String) -> StepResult {
    let key = w.resolve(&key);
    let who = w.resolve(&who);
    let is = cmd(w, vec!["SISMEMBER".into(), key.clone(), who.clone()])
        .await?
        .as_i64()
        == Some(1);
    if is == (how == "contains") {
        Ok(())
    } else {
        Err(format!("{key} {how} {who}: it does not"))
    }
}
