//! An admin API in the style of the existing backend, for the `http` fixture's test: the routes
//! `POST /api/conference`, `POST /api/conference/:id/questions`, `POST /api/conference/:id/activate`
//! and `…/end`, authenticated by the host's own JWT, assigning MongoDB-style ObjectIds of its own
//! to conferences and questions, and forwarding each change to the reference server's Control
//! API under those ids. A server the suite knows only through its own API and ids.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use lcr_protocol::admin::{QuestionSpec, activate_path, conference_path, end_path};
use lcr_protocol::server::QuestionOption;
use serde::Deserialize;
use serde_json::{Value, json};

/// The conferences this API holds: id → (host, questions).
type Conferences = Arc<Mutex<HashMap<String, (String, Vec<QuestionSpec>)>>>;

/// A refused request: its status and why.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

#[derive(Clone)]
struct Api {
    control_api: String,
    admin_token: String,
    jwt_secret: String,
    http: reqwest::Client,
    ids: Arc<AtomicU64>,
    conferences: Conferences,
    /// Every id this API gave out, for the test to look for in the suite's report.
    pub issued: Arc<Mutex<Vec<String>>>,
}

/// What the running API gave out.
pub struct SeedApi {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Every id it assigned.
    pub issued: Arc<Mutex<Vec<String>>>,
}

impl Api {
    /// A new 24-hex-digit id, as MongoDB's ObjectId looks.
    fn object_id(&self) -> String {
        let seconds = lcr_protocol::now_millis() / 1000;
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let id = format!("{seconds:08x}{:016x}", 0x5eed_0000_0000 + n);
        self.issued.lock().unwrap().push(id.clone());
        id
    }

    fn user(&self, headers: &HeaderMap) -> Result<String, Refusal> {
        let token = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| Refusal(StatusCode::UNAUTHORIZED, "no token".into()))?;
        lcr_protocol::token::verify(&self.jwt_secret, token)
            .map(|i| i.user_id)
            .map_err(|e| Refusal(StatusCode::UNAUTHORIZED, e.to_string()))
    }

    fn host_of(&self, id: &str, user: &str) -> Result<(), Refusal> {
        match self.conferences.lock().unwrap().get(id) {
            None => Err(Refusal(StatusCode::NOT_FOUND, "no such conference".into())),
            Some((host, _)) if host != user => {
                Err(Refusal(StatusCode::FORBIDDEN, "not the host".into()))
            }
            Some(_) => Ok(()),
        }
    }

    async fn forward(
        &self,
        method: reqwest::Method,
        path: String,
        body: Option<Value>,
    ) -> Result<(), Refusal> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.control_api))
            .bearer_auth(&self.admin_token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Refusal(StatusCode::BAD_GATEWAY, e.to_string()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            Err(Refusal(
                StatusCode::BAD_GATEWAY,
                format!("control API {status}: {text}"),
            ))
        }
    }

    async fn put(&self, id: &str) -> Result<(), Refusal> {
        let (host, questions) = self.conferences.lock().unwrap()[id].clone();
        let body = json!({ "hostUserId": host, "questions": questions });
        self.forward(reqwest::Method::PUT, conference_path(id), Some(body))
            .await
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewConference {
    title: String,
    host_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewQuestion {
    question_text: String,
    options: Vec<QuestionOption>,
    correct_option: String,
}

async fn create(
    State(api): State<Api>,
    headers: HeaderMap,
    Json(c): Json<NewConference>,
) -> Response {
    let user = match api.user(&headers) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if user != c.host_id {
        return (StatusCode::FORBIDDEN, "a host creates its own conferences").into_response();
    }
    let id = api.object_id();
    api.conferences
        .lock()
        .unwrap()
        .insert(id.clone(), (c.host_id.clone(), Vec::new()));
    if let Err(e) = api.put(&id).await {
        return e.into_response();
    }
    (
        StatusCode::CREATED,
        Json(json!({"success": true, "data": {"_id": id, "title": c.title, "hostId": c.host_id, "status": "DRAFT"}})),
    )
        .into_response()
}

async fn add_question(
    State(api): State<Api>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(q): Json<NewQuestion>,
) -> Response {
    let user = match api.user(&headers) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = api.host_of(&id, &user) {
        return e.into_response();
    }
    let qid = api.object_id();
    api.conferences
        .lock()
        .unwrap()
        .get_mut(&id)
        .expect("checked")
        .1
        .push(QuestionSpec {
            question_id: qid.clone(),
            question_text: q.question_text,
            options: q.options,
            correct_option: q.correct_option,
        });
    if let Err(e) = api.put(&id).await {
        return e.into_response();
    }
    (
        StatusCode::CREATED,
        Json(json!({"success": true, "data": {"_id": qid}})),
    )
        .into_response()
}

async fn transition(api: Api, id: String, headers: HeaderMap, path: String) -> Response {
    let user = match api.user(&headers) {
        Ok(u) => u,
        Err(e) => return e.into_response(),
    };
    if let Err(e) = api.host_of(&id, &user) {
        return e.into_response();
    }
    match api.forward(reqwest::Method::POST, path, None).await {
        Ok(()) => Json(json!({"success": true})).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn activate(State(api): State<Api>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let path = activate_path(&id);
    transition(api, id, headers, path).await
}

async fn end(State(api): State<Api>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let path = end_path(&id);
    transition(api, id, headers, path).await
}

/// Serves the API on a free port of 127.0.0.1 on `runtime`, forwarding to the Control API at
/// `control_api` with `admin_token`, verifying host tokens with `jwt_secret`.
pub fn start(
    runtime: &tokio::runtime::Runtime,
    control_api: &str,
    admin_token: &str,
    jwt_secret: &str,
) -> SeedApi {
    let api = Api {
        control_api: control_api.trim_end_matches('/').to_owned(),
        admin_token: admin_token.to_owned(),
        jwt_secret: jwt_secret.to_owned(),
        http: reqwest::Client::new(),
        ids: Arc::new(AtomicU64::new(0)),
        conferences: Arc::default(),
        issued: Arc::default(),
    };
    let issued = api.issued.clone();
    let app = Router::new()
        .route("/api/conference", post(create))
        .route("/api/conference/{id}/questions", post(add_question))
        .route("/api/conference/{id}/activate", post(activate))
        .route("/api/conference/{id}/end", post(end))
        .with_state(api);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    SeedApi { url, issued }
}
