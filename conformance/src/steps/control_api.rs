//! The Control API's own contract (D8), for a server that claims it (`@control-api`): the
//! admin token is required, a bad body is refused, an unknown conference is not found, the
//! probes answer. Only status codes are judged; what an answer's body says is the server's.

use cucumber::{then, when};

use crate::world::{LiveWorld, StepResult};

#[when(
    regex = r#"^the operator calls (PUT|POST|GET) (\S+) with (the admin token|no token|a wrong token)(?: and body (.+))?$"#
)]
async fn operator(
    w: &mut LiveWorld,
    method: String,
    path: String,
    token: String,
    body: String,
) -> StepResult {
    let path = w.resolve(&path);
    let admin = w
        .target
        .admin_token()
        .ok_or("the profile's server has no Control API")?
        .to_owned();
    let token = match token.as_str() {
        "the admin token" => Some(admin.as_str()),
        "a wrong token" => Some("definitely-wrong"),
        _ => None,
    };
    let body = (!body.is_empty()).then(|| w.resolve(&body));
    w.admin(&method, &path, token, body).await
}

#[then(regex = r#"^the Control API answers (\d+)$"#)]
async fn api_answers(w: &mut LiveWorld, status: u16) -> StepResult {
    let (got, body) = w.last_http.clone().ok_or("no Control API call was made")?;
    if got == status {
        Ok(())
    } else {
        Err(format!(
            "Control API answered {got} {body}, expected {status}"
        ))
    }
}

#[then(regex = r#"^the Control API refuses it as a client error$"#)]
async fn api_refuses(w: &mut LiveWorld) -> StepResult {
    let (got, body) = w.last_http.clone().ok_or("no Control API call was made")?;
    if (400..500).contains(&got) {
        Ok(())
    } else {
        Err(format!(
            "Control API answered {got} {body}, expected a client error (4xx)"
        ))
    }
}
