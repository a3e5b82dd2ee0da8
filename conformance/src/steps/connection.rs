//! Connecting and authenticating (D1, D2): valid tokens the profile's way, and every kind of
//! bad token, presented the way the profile's server takes tokens.

use cucumber::{given, then, when};
use lcr_profile::{Carrier, Presentation};
use rust_socketio::TransportType;
use serde_json::{Value, json};

use crate::fields::names;
use crate::world::{LiveWorld, StepResult};

/// How a scenario's `connects with …` presents itself; the grading refuses ways the profile
/// cannot make ([`crate::grading`]).
pub const WAYS: [&str; 12] = [
    "a valid token",
    "the polling transport",
    "a token in the Authorization header",
    "a token whose user is in sub",
    "an expired token",
    "a token with a bad signature",
    "an unsigned alg none token",
    "a malformed token",
    "a token without a user",
    "a token whose user id is invalid",
    "no token",
    "a token that is not a string",
];

#[given(regex = r#"^(".+") (?:is|are) connected$"#)]
async fn connected(w: &mut LiveWorld, list: String) -> StepResult {
    for name in names(&list) {
        w.connect(&name).await?;
    }
    w.settle().await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" connects(?: with (.+))?$"#)]
async fn connects(w: &mut LiveWorld, name: String, how: String) -> StepResult {
    let tokens = w.target.tokens.clone();
    let user = w.user(&name);
    let carrier = tokens.carrier();
    let signed = |claims: Value| tokens.sign(&claims).map_err(|e| e.to_string());
    let present = |token: Value| tokens.present(carrier, token);
    let (credentials, transport) = match how.as_str() {
        "" | "a valid token" => (w.credentials(&name).await?, TransportType::Websocket),
        "the polling transport" => (w.credentials(&name).await?, TransportType::Polling),
        "a token in the Authorization header" => {
            let token = tokens.token(&user).await.map_err(|e| e.to_string())?;
            (
                tokens.present(Carrier::Header, Value::String(token)),
                TransportType::Websocket,
            )
        }
        "a token whose user is in sub" => (
            present(Value::String(signed(tokens.claims(&user, "sub", 0))?)),
            TransportType::Websocket,
        ),
        "an expired token" => (
            present(Value::String(signed(tokens.expired_claims(&user, 120))?)),
            TransportType::Websocket,
        ),
        "a token with a bad signature" => {
            let token = tokens
                .badly_signed(&user)
                .await
                .map_err(|e| e.to_string())?;
            (present(Value::String(token)), TransportType::Websocket)
        }
        "an unsigned alg none token" => {
            let claims = tokens.claims(&user, &tokens.auth().user_claims[0], 0);
            (
                present(Value::String(lcr_protocol::token::unsigned(&claims))),
                TransportType::Websocket,
            )
        }
        "a malformed token" => (present(json!("not.a.jwt")), TransportType::Websocket),
        "a token without a user" => {
            let mut claims = tokens.claims(&user, "userId", 0);
            if let Some(map) = claims.as_object_mut() {
                for claim in &tokens.auth().user_claims {
                    map.remove(claim);
                }
                map.remove("userId");
                map.remove("sub");
            }
            (
                present(Value::String(signed(claims)?)),
                TransportType::Websocket,
            )
        }
        "a token whose user id is invalid" => {
            let claims = tokens.claims("no spaces allowed", &tokens.auth().user_claims[0], 0);
            (
                present(Value::String(signed(claims)?)),
                TransportType::Websocket,
            )
        }
        "no token" => (Presentation::default(), TransportType::Websocket),
        "a token that is not a string" => (present(json!(12345)), TransportType::Websocket),
        other => {
            return Err(format!(
                "unknown way to connect: {other} (one of: {})",
                WAYS.join(", ")
            ));
        }
    };
    w.connect_with(&name, credentials, transport).await;
    Ok(())
}

#[when(regex = r#"^"([^"]+)" disconnects$"#)]
async fn disconnects(w: &mut LiveWorld, name: String) -> StepResult {
    w.actor(&name)?.disconnect().await;
    Ok(())
}

#[then(regex = r#"^the connection of "([^"]+)" is refused with ([A-Z_]+)$"#)]
async fn refused(w: &mut LiveWorld, name: String, code: String) -> StepResult {
    let actor = w.actor(&name)?;
    if actor.is_connected() {
        return Err(format!(
            "{name} was accepted; expected connect_error {code} (D2)"
        ));
    }
    let data = actor
        .connect_error()
        .ok_or_else(|| format!("{name} got no connect_error"))?;
    if data["data"]["code"] == code.as_str() && data["message"].is_string() {
        Ok(())
    } else {
        Err(format!(
            "connect_error {data}: expected data.code {code} and a message (D2)"
        ))
    }
}

#[then(regex = r#"^"([^"]+)" is connected$"#)]
async fn is_connected(w: &mut LiveWorld, name: String) -> StepResult {
    let actor = w.actor(&name)?;
    if actor.is_connected() {
        Ok(())
    } else {
        Err(format!(
            "{name} is not connected: {:?}",
            actor.connect_error()
        ))
    }
}
