//! `error` events (spec §9.2, D5): the code, a message, a timestamp, and a context naming the
//! event and, where the payload named them, the ids.

use cucumber::{then, when};
use lcr_protocol::event;
use serde_json::json;

use crate::fields::{lookup, matches};
use crate::world::{LiveWorld, StepResult};

#[when(regex = r#"^"([^"]+)" receives error ([A-Z_]+)(?: for ([a-z_:]+))?$"#)]
#[then(regex = r#"^"([^"]+)" receives error ([A-Z_]+)(?: for ([a-z_:]+))?$"#)]
async fn receives_error(w: &mut LiveWorld, name: String, code: String, on: String) -> StepResult {
    let mut fields = vec![("code".to_owned(), json!(code))];
    if !on.is_empty() {
        fields.push(("context.event".to_owned(), json!(on)));
    }
    let e = w.expect(&name, event::ERROR, &fields).await?;
    for required in ["message", "timestamp", "context.event"] {
        if lookup(&e, required).is_none_or(|v| v.is_null() || v == "") {
            return Err(format!("error {e} lacks {required} (D5)"));
        }
    }
    Ok(())
}

#[then(regex = r#"^"([^"]+)" received an error with (.+)$"#)]
async fn error_with(w: &mut LiveWorld, name: String, fields: String) -> StepResult {
    let want = w.wanted(&fields)?;
    let errors = w.actor(&name)?.all(event::ERROR);
    if errors
        .iter()
        .any(|e| want.iter().all(|(p, v)| matches(lookup(e, p), v)))
    {
        Ok(())
    } else {
        Err(format!(
            "no error of {name} has {want:?}; errors: {errors:?}"
        ))
    }
}
