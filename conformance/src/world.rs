//! The scenario's world: one fresh conference, named actors, and the helpers the steps call.
//!
//! Every scenario gets its own identifiers (conference, question and user ids carry a unique
//! suffix), so scenarios run concurrently against one server without seeing each other.
//! Feature text uses logical names ("alex", "q1"); the world maps them to the real ids.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cucumber::World;
use lcr_protocol::admin::{activate_path, conference_path, end_path};
use lcr_protocol::{ConferenceStatus, event};
use lcr_testkit::conference;
use rust_socketio::TransportType;
use serde_json::{Value, json};

use crate::actor::{Actor, Credentials};
use crate::target::Target;

/// A step's failure message.
pub type StepResult = Result<(), String>;

static SCENARIOS: AtomicU64 = AtomicU64::new(0);

/// The standard questions of every scenario's conference: (logical id, correct option); see
/// [`lcr_testkit::conference`].
pub use lcr_testkit::conference::QUESTIONS;

/// State of one scenario.
#[derive(Debug, World)]
#[world(init = Self::new)]
pub struct LiveWorld {
    /// The server under test.
    pub target: Arc<Target>,
    /// Unique suffix of this scenario's ids.
    pub tag: String,
    /// The host's actor name, once a conference exists.
    pub host: Option<String>,
    /// Actors by name.
    pub actors: BTreeMap<String, Actor>,
    /// The last Control API answer.
    pub last_http: Option<(u16, Value)>,
    /// Outcomes counted by the concurrency steps: (accepted, rejected by reason, per option).
    pub tally: Tally,
    /// The node (0-based) each actor connects to: named by a step, else the host on node 1
    /// and the audience spread over the other nodes.
    pub placement: BTreeMap<String, usize>,
    /// Nodes (1-based) this scenario killed; the After hook brings them back.
    pub killed_nodes: Vec<usize>,
    /// This scenario took MongoDB away; the After hook brings it back.
    pub mongo_down: bool,
}

/// Counts kept by the concurrency steps.
#[derive(Debug, Default)]
pub struct Tally {
    /// `vote:accepted` received.
    pub accepted: u64,
    /// `vote:rejected` received, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Accepted votes per option.
    pub per_option: BTreeMap<String, u64>,
}

impl LiveWorld {
    fn new() -> Self {
        let n = SCENARIOS.fetch_add(1, Ordering::Relaxed);
        let stamp = lcr_protocol::now_millis() % 100_000_000;
        LiveWorld {
            target: Target::get(),
            tag: format!("{n}x{stamp}"),
            host: None,
            actors: BTreeMap::new(),
            last_http: None,
            tally: Tally::default(),
            placement: BTreeMap::new(),
            killed_nodes: Vec::new(),
            mongo_down: false,
        }
    }

    /// The node (0-based) actor `name` connects to. With one node, always it. Otherwise the
    /// host goes to node 1 and audience actors round-robin over nodes 2…N, so every scenario
    /// crosses nodes (D25).
    pub fn node_of(&mut self, name: &str) -> usize {
        if let Some(n) = self.placement.get(name) {
            return *n;
        }
        let nodes = self.target.nodes.len();
        let n = if nodes < 2 || self.host.as_deref() == Some(name) {
            0
        } else {
            let audience = self.placement.values().filter(|n| **n > 0).count();
            1 + audience % (nodes - 1)
        };
        self.placement.insert(name.to_owned(), n);
        n
    }

    /// The scenario's conference id.
    pub fn conference(&self) -> String {
        format!("conf-{}", self.tag)
    }

    /// The real id of a logical question ("q1").
    pub fn question(&self, logical: &str) -> String {
        format!("{logical}-{}", self.tag)
    }

    /// The user id of an actor name ("alex#2" is a second socket of "alex").
    pub fn user(&self, name: &str) -> String {
        let base = name.split('#').next().unwrap_or(name);
        format!("{base}-{}", self.tag)
    }

    /// Replaces `$conference`, `$q1`…`$q9` and `$user(name)` in feature text.
    pub fn resolve(&self, text: &str) -> String {
        let mut out = text.replace("$conference", &self.conference());
        for i in (1..=9).rev() {
            out = out.replace(&format!("$q{i}"), &self.question(&format!("q{i}")));
        }
        while let Some(start) = out.find("$user(") {
            let Some(len) = out[start..].find(')') else {
                break;
            };
            let name = out[start + 6..start + len].to_owned();
            out.replace_range(start..start + len + 1, &self.user(&name));
        }
        out
    }

    /// The actor called `name`.
    pub fn actor(&self, name: &str) -> Result<&Actor, String> {
        self.actors
            .get(name)
            .ok_or_else(|| format!("no actor {name:?} in this scenario"))
    }

    /// Creates the conference with the standard questions, in `status`, hosted by `host`.
    pub async fn create_conference(&mut self, host: &str, status: ConferenceStatus) -> StepResult {
        let spec = conference::spec(
            self.user(host),
            Some(if status == ConferenceStatus::Active {
                ConferenceStatus::Draft
            } else {
                status
            }),
            QUESTIONS
                .iter()
                .map(|(q, correct)| {
                    conference::question(self.question(q), conference::question_text(q), *correct)
                })
                .collect(),
        );
        self.host = Some(host.to_owned());
        let body = serde_json::to_string(&spec).map_err(|e| e.to_string())?;
        self.admin_ok("PUT", &conference_path(&self.conference()), Some(body))
            .await?;
        if status == ConferenceStatus::Active {
            self.admin_ok("POST", &activate_path(&self.conference()), None)
                .await?;
        }
        Ok(())
    }

    /// Activates or ends the conference through the Control API.
    pub async fn set_status(&mut self, status: ConferenceStatus) -> StepResult {
        let path = match status {
            ConferenceStatus::Active => activate_path(&self.conference()),
            _ => end_path(&self.conference()),
        };
        self.admin_ok("POST", &path, None).await
    }

    /// A Control API call with the admin token that must answer 200.
    pub async fn admin_ok(&mut self, method: &str, path: &str, body: Option<String>) -> StepResult {
        let token = self.target.admin_token.clone();
        self.admin(method, path, Some(&token), body).await?;
        match &self.last_http {
            Some((200, _)) => Ok(()),
            other => Err(format!(
                "Control API {method} {path} answered {other:?}, expected 200"
            )),
        }
    }

    /// A Control API call; the answer is kept in `last_http`.
    pub async fn admin(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> StepResult {
        let m = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        self.last_http = Some(self.target.admin(m, path, token, body).await?);
        Ok(())
    }

    /// Connects actor `name` with `credentials`; refused connections are kept too.
    pub async fn connect_with(
        &mut self,
        name: &str,
        credentials: Credentials,
        transport: TransportType,
    ) {
        let node = self.node_of(name);
        let url = self.target.nodes[node].clone();
        let actor = Actor::connect(
            &url,
            name,
            &self.user(name),
            credentials,
            transport,
            self.target.wait,
        )
        .await;
        actor.set_audience(self.host.as_deref().map(|h| self.user(h)) != Some(self.user(name)));
        if let Some(old) = self.actors.insert(name.to_owned(), actor) {
            old.disconnect().await;
        }
    }

    /// A valid token for `name`'s user.
    pub fn token(&self, name: &str) -> String {
        lcr_protocol::token::mint(&self.target.jwt_secret, &self.user(name), 3600)
            .unwrap_or_default()
    }

    /// Connects actor `name` with a valid token over websocket; fails if refused.
    pub async fn connect(&mut self, name: &str) -> StepResult {
        let token = self.token(name);
        self.connect_with(name, Credentials::Token(token), TransportType::Websocket)
            .await;
        let actor = self.actor(name)?;
        if actor.is_connected() {
            Ok(())
        } else {
            Err(format!(
                "{name} could not connect: {:?}",
                actor.connect_error()
            ))
        }
    }

    /// Emits `event` from `name`.
    pub async fn emit(&self, name: &str, event: &str, data: Option<Value>) -> StepResult {
        self.actor(name)?.emit(event, data).await
    }

    /// `name` joins the conference and gets `conference:joined`.
    pub async fn join(&mut self, name: &str) -> StepResult {
        if !self.actors.contains_key(name) {
            self.connect(name).await?;
        }
        self.emit(
            name,
            event::CONFERENCE_JOIN,
            Some(json!({ "conferenceId": self.conference() })),
        )
        .await?;
        self.expect(name, event::CONFERENCE_JOINED, &[])
            .await
            .map(drop)
    }

    /// Waits for `name` to receive `event` whose fields equal `fields` (dotted paths).
    pub async fn expect(
        &self,
        name: &str,
        event: &str,
        fields: &[(String, Value)],
    ) -> Result<Value, String> {
        let actor = self.actor(name)?;
        let fields: Vec<(String, Value)> = fields
            .iter()
            .map(|(k, v)| (k.clone(), self.logical(k, v)))
            .collect();
        let got = actor
            .take(event, self.target.wait, |data| {
                fields
                    .iter()
                    .all(|(path, want)| matches(lookup(data, path), want))
            })
            .await;
        match got {
            Some(v) => {
                self.no_violations()?;
                Ok(v)
            }
            None => Err(format!(
                "{name} did not receive {event}{} within {:?}.\nReceived (* = not yet matched by a step):\n  {}",
                describe(&fields),
                self.target.wait,
                actor.inbox.transcript().join("\n  ")
            )),
        }
    }

    /// Asserts `name` receives no `event` during the quiet period.
    pub async fn expect_none(&self, name: &str, event: &str) -> StepResult {
        let actor = self.actor(name)?;
        match actor.take(event, self.target.quiet, |_| true).await {
            None => Ok(()),
            Some(v) => Err(format!("{name} must not receive {event}, but received {v}")),
        }
    }

    /// Marks everything received so far as seen (after a Given, so Thens look at what follows).
    pub async fn settle(&self) {
        for actor in self.actors.values() {
            actor.consume_all();
        }
    }

    /// Fails with every protocol violation any actor received.
    pub fn no_violations(&self) -> StepResult {
        let all: Vec<String> = self
            .actors
            .values()
            .flat_map(|a| {
                a.inbox
                    .violations()
                    .into_iter()
                    .map(move |v| format!("{}: {v}", a.name))
            })
            .collect();
        if all.is_empty() {
            Ok(())
        } else {
            Err(format!("protocol violations:\n  {}", all.join("\n  ")))
        }
    }

    /// Parses a `field value, …` clause and maps its logical names to the wire's ids.
    pub fn wanted(&self, text: &str) -> Result<Vec<(String, Value)>, String> {
        Ok(parse_fields(text)?
            .into_iter()
            .map(|(k, v)| {
                let v = self.logical(&k, &v);
                (k, v)
            })
            .collect())
    }

    /// Feature text names users, questions and the conference logically; the wire has real ids.
    fn logical(&self, field: &str, value: &Value) -> Value {
        let leaf = field.rsplit('.').next().unwrap_or(field);
        match (leaf, value) {
            ("userId", Value::String(s)) => Value::String(self.user(s)),
            ("questionId", Value::String(s)) if s.starts_with('q') && s.len() <= 3 => {
                Value::String(self.question(s))
            }
            ("conferenceId", Value::String(s)) if s == "the conference" => {
                Value::String(self.conference())
            }
            (_, Value::String(s)) => Value::String(self.resolve(s)),
            _ => value.clone(),
        }
    }
}

/// The value at a dotted path (`optionCounts.A`, `context.event`, `liveQuestion`).
pub fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(data, |v, key| v.get(key))
}

/// Whether an observed value equals the expected one (numbers by value; objects as subsets).
pub fn matches(got: Option<&Value>, want: &Value) -> bool {
    match (got, want) {
        (None, Value::Null) => true,
        (None, _) => false,
        (Some(g), Value::Object(w)) => w.iter().all(|(k, v)| matches(g.get(k), v)),
        (Some(Value::Number(g)), Value::Number(w)) => {
            (g.as_f64().unwrap_or(f64::NAN) - w.as_f64().unwrap_or(f64::NAN)).abs() < 1e-9
        }
        (Some(g), w) => g == w,
    }
}

fn describe(fields: &[(String, Value)]) -> String {
    if fields.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!(" with {}", parts.join(", "))
    }
}

/// Parses `field value, field value and field value`; values are JSON (`"B"`, `1`, `true`,
/// `{"A":1}`) or a bare word taken as a string.
///
/// ```
/// let f = conformance::world::parse_fields(r#"isCorrect true and selectedOption "B", optionCounts.A 2"#).unwrap();
/// assert_eq!(f.len(), 3);
/// assert_eq!(f[1], ("selectedOption".to_string(), serde_json::json!("B")));
/// ```
pub fn parse_fields(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (field, after) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| format!("no value for {rest:?}"))?;
        let after = after.trim_start();
        let (raw, tail) = split_value(after);
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        out.push((field.to_owned(), value));
        rest = tail.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        rest = rest.strip_prefix("and ").unwrap_or(rest).trim_start();
    }
    Ok(out)
}

fn split_value(s: &str) -> (&str, &str) {
    let bytes = s.as_bytes();
    let end = match bytes.first() {
        Some(b'"') => s[1..].find('"').map_or(s.len(), |i| i + 2),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0i32;
            let mut end = s.len();
            for (i, c) in s.char_indices() {
                match c {
                    '{' | '[' => depth += 1,
                    '}' | ']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            end
        }
        _ => s.find([' ', ',']).unwrap_or(s.len()),
    };
    s.split_at(end)
}
