//! The scenario's world: one fresh conference, named actors, and the helpers the steps call.
//!
//! Every scenario gets its own identifiers (conference, question and user ids carry a unique
//! suffix), so scenarios run concurrently against one server without seeing each other. Feature
//! text uses logical names ("alex", "q1"); the world maps them to the real ids, and to the
//! server's own ids when the profile's fixture took them from the server (a MongoDB backend's
//! ObjectIds). Conferences are created, activated and ended only through the profile's fixture;
//! tokens only through the profile's auth.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cucumber::World;
use lcr_profile::{Conference, Created, Presentation};
use lcr_protocol::{ConferenceStatus, event};
use lcr_testkit::conference;
use rust_socketio::TransportType;
use serde_json::{Value, json};

use crate::actor::Actor;
use crate::fields::{describe, lookup, matches, parse_fields};
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
    /// The conference as the server knows it, once created.
    pub created: Option<Created>,
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
        // Runs against one server at once (a matrix, CI) must not share an id: the process too.
        let pid = std::process::id();
        LiveWorld {
            target: Target::get(),
            tag: format!("{pid}x{n}x{stamp}"),
            host: None,
            created: None,
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

    /// The conference id the suite chose for this scenario.
    fn own_conference(&self) -> String {
        format!("conf-{}", self.tag)
    }

    /// The question id the suite chose for logical question `logical` ("q1").
    fn own_question(&self, logical: &str) -> String {
        format!("{logical}-{}", self.tag)
    }

    /// The scenario's conference id, as the server knows it.
    pub fn conference(&self) -> String {
        match &self.created {
            Some(c) => c.conference_id.clone(),
            None => self.own_conference(),
        }
    }

    /// The id of a logical question ("q1"), as the server knows it.
    pub fn question(&self, logical: &str) -> String {
        let own = self.own_question(logical);
        match &self.created {
            Some(c) => c.question(&own).to_owned(),
            None => own,
        }
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

    /// The scenario's conference as the suite describes it to a fixture: hosted by `host`, with
    /// the standard questions.
    pub fn sample_conference(&self, host: &str) -> Conference {
        Conference {
            conference_id: self.own_conference(),
            title: format!("Conference {}", self.tag),
            host_user_id: self.user(host),
            questions: QUESTIONS
                .iter()
                .map(|(q, correct)| {
                    conference::question(
                        self.own_question(q),
                        conference::question_text(q),
                        *correct,
                    )
                })
                .collect(),
        }
    }

    /// Creates the conference through the profile's fixture, in `status`, hosted by `host`.
    pub async fn create_conference(&mut self, host: &str, status: ConferenceStatus) -> StepResult {
        self.host = Some(host.to_owned());
        let conference = self.sample_conference(host);
        let created = self
            .target
            .fixture
            .create(&conference, status)
            .await
            .map_err(|e| e.to_string())?;
        self.created = Some(created);
        Ok(())
    }

    /// Activates or ends the conference through the profile's fixture.
    pub async fn set_status(&mut self, status: ConferenceStatus) -> StepResult {
        let created = self
            .created
            .clone()
            .ok_or("no conference was created in this scenario")?;
        let fixture = &self.target.fixture;
        match status {
            ConferenceStatus::Active => fixture.activate(&created).await,
            _ => fixture.end(&created).await,
        }
        .map_err(|e| e.to_string())
    }

    /// A Control API call (D8); the answer is kept in `last_http`.
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

    /// Connects actor `name` presenting `credentials`; refused connections are kept too.
    pub async fn connect_with(
        &mut self,
        name: &str,
        credentials: Presentation,
        transport: TransportType,
    ) {
        let node = self.node_of(name);
        let url = self.target.nodes[node].clone();
        let actor = Actor::connect(
            (&url, self.target.path()),
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

    /// A valid token for `name`'s user, presented the profile's way.
    pub async fn credentials(&self, name: &str) -> Result<Presentation, String> {
        self.target
            .tokens
            .presentation(&self.user(name))
            .await
            .map_err(|e| e.to_string())
    }

    /// Connects actor `name` with a valid token over websocket; fails if refused.
    pub async fn connect(&mut self, name: &str) -> StepResult {
        let credentials = self.credentials(name).await?;
        self.connect_with(name, credentials, TransportType::Websocket)
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

    /// `name` sends `conference:join` for the scenario's conference (connecting first).
    pub async fn send_join(&mut self, name: &str) -> StepResult {
        if !self.actors.contains_key(name) {
            self.connect(name).await?;
        }
        let cid = self.conference();
        self.emit(
            name,
            event::CONFERENCE_JOIN,
            Some(json!({ "conferenceId": cid })),
        )
        .await
    }

    /// `name` joins the conference and gets `conference:joined`.
    pub async fn join(&mut self, name: &str) -> StepResult {
        self.send_join(name).await?;
        self.expect(name, event::CONFERENCE_JOINED, &[])
            .await
            .map(drop)
    }

    /// The `question:push_live` payload for logical question `q`, with `duration` when given.
    pub fn push_payload(&self, q: &str, duration: Option<Value>) -> Value {
        let mut payload =
            json!({ "conferenceId": self.conference(), "questionId": self.question(q) });
        if let Some(d) = duration {
            payload["duration"] = d;
        }
        payload
    }

    /// `name` votes `option` on logical question `q`.
    pub async fn vote(&self, name: &str, option: &str, q: &str) -> StepResult {
        let payload = json!({ "conferenceId": self.conference(), "questionId": self.question(q), "selectedOption": option });
        self.emit(name, event::VOTE_SUBMIT, Some(payload)).await
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
