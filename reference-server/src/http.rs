//! The HTTP surface on the Socket.IO port: the Control API of D8 and the probes.
//!
//! | route | answer |
//! |---|---|
//! | `PUT /admin/conferences/{id}` | 200 [`ConferenceState`]; 400 bad body or id |
//! | `POST /admin/conferences/{id}/activate` | 200; 404 unknown; 409 ended |
//! | `POST /admin/conferences/{id}/end` | 200; 404 unknown |
//! | `GET /health` | 200 while the process runs |
//! | `GET /ready` | 200 when the store answers within a second, 503 otherwise |
//! | `GET /metrics` | Prometheus text: connections, joins, votes, errors, broadcasts, questions |
//!
//! Every `/admin` call needs `Authorization: Bearer <ADMIN_TOKEN>` (401 otherwise, checked
//! before the body is read). Every error body is an [`ApiError`] with a message.
//!
//! Without an admin token (`--control-api off`) no `/admin` route exists: those paths answer
//! 404 like any unknown path, and the probes and Socket.IO are served as usual.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use lcr_protocol::admin::{
    ACTIVATE_ROUTE, ApiError, CONFERENCE_ROUTE, ConferenceSpec, ConferenceState, END_ROUTE,
    HEALTH_PATH, METRICS_PATH, READY_PATH,
};
use lcr_protocol::ids::check_id;
use serde_json::json;

use crate::control::{self, AdminError};
use crate::node::Node;

#[derive(Clone)]
struct AdminState {
    node: Arc<Node>,
    token: Arc<str>,
}

/// The router of the Control API and probes; the Socket.IO layer is added by the caller.
/// CORS for the Control API, the probes and Socket.IO's polling transport: `origins` lists the
/// allowed origins, `*` allows any.
///
/// ```
/// let any = reference_server::http::cors(&["*".to_owned()]);
/// let some = reference_server::http::cors(&["https://app.example".to_owned()]);
/// # let _ = (any, some);
/// ```
pub fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderValue, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let allow = if origins.iter().any(|o| o.trim() == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
                .collect::<Vec<_>>(),
        )
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}

/// The probes, and the Control API (D8) guarded by `admin_token`; `None` serves no Control
/// API (every `/admin` path is then unknown: 404).
pub fn router(node: Arc<Node>, admin_token: Option<Arc<str>>) -> Router {
    let probes = Router::new()
        .route(HEALTH_PATH, get(health))
        .route(READY_PATH, get(ready))
        .route(METRICS_PATH, get(metrics))
        .with_state(node.clone());
    let Some(token) = admin_token else {
        return probes;
    };
    let state = AdminState { node, token };
    let admin = Router::new()
        .route(CONFERENCE_ROUTE, put(put_conference))
        .route(ACTIVATE_ROUTE, post(activate))
        .route(END_ROUTE, post(end))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .with_state(state);
    probes.merge(admin)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: code.to_owned(),
            message: message.into(),
        }),
    )
        .into_response()
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AdminError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            AdminError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            AdminError::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            AdminError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        };
        error(status, code, self.to_string())
    }
}

async fn require_admin(State(state): State<AdminState>, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "));
    match presented {
        Some(t) if constant_time_eq(t.trim().as_bytes(), state.token.as_bytes()) => {
            next.run(req).await
        }
        Some(_) => error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "wrong admin token",
        ),
        None => error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "missing admin token: send Authorization: Bearer <ADMIN_TOKEN>",
        ),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn conference_id(id: &str) -> Result<(), AdminError> {
    check_id("conferenceId", id).map_err(|e| AdminError::BadRequest(e.to_string()))
}

async fn put_conference(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Result<Json<ConferenceSpec>, JsonRejection>,
) -> Result<Json<ConferenceState>, AdminError> {
    conference_id(&id)?;
    let Json(spec) = body.map_err(|e| AdminError::BadRequest(e.body_text()))?;
    control::put(&state.node, &id, spec).await.map(Json)
}

async fn activate(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<ConferenceState>, AdminError> {
    conference_id(&id)?;
    control::activate(&state.node, &id).await.map(Json)
}

async fn end(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<ConferenceState>, AdminError> {
    conference_id(&id)?;
    control::end(&state.node, &id).await.map(Json)
}

/// Which process answers a probe (several nodes behind a balancer, or a port another server
/// took): the probes' common fields, with `extra` added.
fn probe_body(node: &Node, extra: serde_json::Value) -> Json<serde_json::Value> {
    let mut body = json!({
        "node": node.settings.node_id,
        "pid": std::process::id(),
        "store": node.store.kind(),
    });
    if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    Json(body)
}

async fn health(State(node): State<Arc<Node>>) -> Response {
    probe_body(&node, json!({ "status": "ok" })).into_response()
}

/// How long `/ready` waits for the store: a stalled Redis makes the node unready at once,
/// rather than a probe that hangs.
const READY_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

async fn ready(State(node): State<Arc<Node>>) -> Response {
    let unready = |message: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            probe_body(&node, json!({ "ready": false, "message": message })),
        )
            .into_response()
    };
    match tokio::time::timeout(READY_BUDGET, node.store.ping()).await {
        Ok(Ok(())) => probe_body(&node, json!({ "ready": true })).into_response(),
        Ok(Err(e)) => unready(e.to_string()),
        Err(_) => unready(format!(
            "the runtime store did not answer within {} ms",
            READY_BUDGET.as_millis()
        )),
    }
}

async fn metrics(State(node): State<Arc<Node>>) -> Response {
    let pending = node.store.pending_results().await.map_or(0, |p| p.len());
    let body = node
        .metrics
        .render(&node.settings.node_id, node.running_timers(), pending);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
