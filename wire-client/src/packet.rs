//! Engine.IO v4 and Socket.IO v5 text packets, as sent over one websocket frame each.
//!
//! ```
//! use lcr_client::packet::{encode_event, decode, Frame};
//! let text = encode_event("vote:submit", &serde_json::json!({"selectedOption": "A"})).unwrap();
//! assert_eq!(text, r#"42["vote:submit",{"selectedOption":"A"}]"#);
//! match decode(&text) {
//!     Frame::Event { name, data } => { assert_eq!(name, "vote:submit"); assert_eq!(data["selectedOption"], "A"); }
//!     other => panic!("{other:?}"),
//! }
//! assert!(matches!(decode("2"), Frame::Ping));
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Engine.IO OPEN (`0{…}`), with its handshake object.
    Open(Value),
    /// Engine.IO CLOSE (`1`).
    Close,
    /// Engine.IO PING (`2`): answer PONG.
    Ping,
    /// Socket.IO CONNECT (`40{…}`) to the default namespace.
    Connect(Value),
    /// Socket.IO DISCONNECT (`41`).
    Disconnect,
    /// Socket.IO EVENT (`42[name, data]`); `data` is Null when the event has no argument.
    Event {
        /// The event name.
        name: String,
        /// Its first argument.
        data: Value,
    },
    /// Socket.IO CONNECT_ERROR (`44{…}`).
    ConnectError(Value),
    /// Anything else (acks, binary packets, other namespaces, noop).
    Other(String),
}

/// Decodes one text frame.
pub fn decode(text: &str) -> Frame {
    let mut chars = text.chars();
    match chars.next() {
        Some('0') => Frame::Open(serde_json::from_str(&text[1..]).unwrap_or(Value::Null)),
        Some('1') => Frame::Close,
        Some('2') => Frame::Ping,
        Some('4') => decode_socketio(&text[1..]),
        _ => Frame::Other(text.to_owned()),
    }
}

fn decode_socketio(body: &str) -> Frame {
    let json = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
    match body.as_bytes().first() {
        Some(b'0') if !body[1..].starts_with('/') => Frame::Connect(json(&body[1..])),
        Some(b'1') if !body[1..].starts_with('/') => Frame::Disconnect,
        Some(b'4') if !body[1..].starts_with('/') => Frame::ConnectError(json(&body[1..])),
        Some(b'2') => match event_array(body) {
            Some(array) => match serde_json::from_str::<Vec<Value>>(array) {
                Ok(mut items) if !items.is_empty() => match items.remove(0) {
                    Value::String(name) => Frame::Event {
                        name,
                        data: items.into_iter().next().unwrap_or(Value::Null),
                    },
                    _ => Frame::Other(body.to_owned()),
                },
                _ => Frame::Other(body.to_owned()),
            },
            None => Frame::Other(body.to_owned()),
        },
        _ => Frame::Other(body.to_owned()),
    }
}

/// The JSON array of a Socket.IO EVENT in the default namespace, `[name, data…]`, from the
/// packet after its Engine.IO type (`2…`, ack id skipped); `None` for any other packet.
fn event_array(body: &str) -> Option<&str> {
    let rest = body.strip_prefix('2')?;
    if rest.starts_with('/') {
        return None;
    }
    Some(rest.trim_start_matches(|c: char| c.is_ascii_digit()))
}

#[derive(Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
struct EventTuple<'a, T>(#[serde(borrow)] Cow<'a, str>, #[serde(default)] Option<T>);

/// Decodes an event frame (`42["name", data]`) straight into `T`, borrowing from `text` where
/// `T` does: no `Value` tree, for hot paths that read a few fields of many messages. `None` when
/// the frame is not an event, or its argument does not fit `T`; the argument is `None` when the
/// event has none.
///
/// ```
/// use lcr_client::packet::parse_event;
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Tick<'a> { question_id: &'a str, time_remaining: u32 }
/// let text = r#"42["question:timer_update",{"questionId":"q1","timeRemaining":44,"expiresAt":1}]"#;
/// let (name, tick) = parse_event::<Tick>(text).unwrap();
/// let tick = tick.unwrap();
/// assert_eq!((&*name, tick.question_id, tick.time_remaining), ("question:timer_update", "q1", 44));
/// assert!(parse_event::<Tick>("2").is_none());
/// ```
pub fn parse_event<'a, T: Deserialize<'a>>(text: &'a str) -> Option<(Cow<'a, str>, Option<T>)> {
    let array = event_array(text.strip_prefix('4')?)?;
    let EventTuple(name, data) = serde_json::from_str(array).ok()?;
    Some((name, data))
}

/// Encodes `42["event", data]`.
pub fn encode_event<T: Serialize + ?Sized>(event: &str, data: &T) -> serde_json::Result<String> {
    let array = (event, data);
    Ok(format!("42{}", serde_json::to_string(&array)?))
}

/// Encodes `42["event"]`, an event without argument.
pub fn encode_bare_event(event: &str) -> String {
    format!("42{}", Value::Array(vec![Value::String(event.to_owned())]))
}

/// Encodes the CONNECT packet with an auth payload: `40{…}`.
pub fn encode_connect(auth: Option<&Value>) -> String {
    match auth {
        Some(a) => format!("40{a}"),
        None => "40".to_owned(),
    }
}

/// Engine.IO PONG.
pub const PONG: &str = "3";
