//! Structure-aware: real event packets (the seed corpus holds one of each client event) written
//! again with JSON escapes inserted. The input is a Socket.IO event packet, `2[…]`, optionally
//! followed by a 0xFF byte and bytes that choose where escapes and whitespace go (without them
//! the choice comes from a hash of the packet). Its JSON array is rewritten with characters of
//! strings and keys escaped in every way JSON allows (`\u00e9`, `\u00E9`, surrogate pairs,
//! `\/`, `\"` …) and whitespace between tokens, and the escaped packet must decode exactly as
//! the plain one: same event name, same payload, same validation of every client event.

#![no_main]

use libfuzzer_sys::fuzz_target;
use livepoll_fuzz::{check_every_event, decode, event_data, needs_escape, reference_array};
use socketioxide_core::parser::Parse;
use socketioxide_parser_common::CommonParser;

/// Where the escapes go: the bytes given, else a xorshift generator seeded from the input.
struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
    state: u64,
}

impl Choices<'_> {
    fn next(&mut self) -> u8 {
        if !self.bytes.is_empty() {
            let b = self.bytes[self.at % self.bytes.len()];
            self.at += 1;
            return b ^ (self.at / self.bytes.len()) as u8;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state as u8
    }
}

fn whitespace(out: &mut String, choices: &mut Choices<'_>) {
    let b = choices.next();
    if b.is_multiple_of(4) {
        out.push([' ', '\t', '\n', '\r'][(b as usize / 4) % 4]);
    }
}

fn unicode_escape(c: char, upper: bool, out: &mut String) {
    let mut units = [0u16; 2];
    for unit in c.encode_utf16(&mut units) {
        if upper {
            out.push_str(&format!("\\u{unit:04X}"));
        } else {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
}

fn write_str(s: &str, out: &mut String, choices: &mut Choices<'_>) {
    out.push('"');
    for c in s.chars() {
        let b = choices.next();
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\r' => Some("\\r"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            _ => None,
        };
        let must_escape = c == '"' || c == '\\' || c < '\u{20}';
        match b % 8 {
            5 => unicode_escape(c, false, out),
            6 => unicode_escape(c, true, out),
            7 if short.is_some() => out.push_str(short.unwrap()),
            _ if must_escape => match short {
                Some(short) => out.push_str(short),
                None => unicode_escape(c, false, out),
            },
            _ => out.push(c),
        }
    }
    out.push('"');
}

fn write_value(v: &serde_json::Value, out: &mut String, choices: &mut Choices<'_>) {
    use serde_json::Value;
    whitespace(out, choices);
    match v {
        Value::String(s) => write_str(s, out, choices),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out, choices);
            }
            whitespace(out, choices);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                whitespace(out, choices);
                write_str(k, out, choices);
                whitespace(out, choices);
                out.push(':');
                write_value(item, out, choices);
            }
            whitespace(out, choices);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
    whitespace(out, choices);
}

fuzz_target!(|data: &[u8]| {
    let (packet, choice_bytes) = match data.iter().position(|&b| b == 0xFF) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(packet) else {
        return;
    };
    // `2`, an optional namespace and ack id, then the JSON array.
    let Some(json_at) = text.find('[') else {
        return;
    };
    let (prefix, json) = text.split_at(json_at);
    if !prefix.starts_with('2') {
        return;
    }
    let Some(array) = reference_array(json) else {
        return;
    };
    let Some(serde_json::Value::String(name)) = array.first() else {
        return;
    };
    let plain_text = format!("{prefix}{}", serde_json::Value::Array(array.clone()));
    let Some(plain) = decode(&plain_text, &[]) else {
        return;
    };
    // The prefix must be only the packet type, namespace and ack id: the parser's event data is
    // then the JSON array itself.
    let plain_data = event_data(&plain)
        .and_then(|v| v.as_str())
        .map(|s| s.as_str());
    if plain_data.and_then(reference_array).as_ref() != Some(&array) {
        return;
    }

    let seed = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) | 1;
    let mut choices = Choices {
        bytes: choice_bytes,
        at: 0,
        state: seed,
    };
    let mut escaped_text = prefix.to_owned();
    write_value(
        &serde_json::Value::Array(array.clone()),
        &mut escaped_text,
        &mut choices,
    );
    let escaped = decode(&escaped_text, &[])
        .unwrap_or_else(|| panic!("{plain_text:?} decodes, {escaped_text:?} does not"));
    assert_eq!(plain.ns, escaped.ns, "{escaped_text:?}");

    let (Some(plain_value), Some(escaped_value)) = (event_data(&plain), event_data(&escaped))
    else {
        panic!("{plain_text:?} and {escaped_text:?} must both be events");
    };
    match CommonParser.read_event(escaped_value) {
        Ok(read) => assert_eq!(read, name, "{escaped_text:?}"),
        Err(e) => assert!(
            needs_escape(name),
            "event name {name:?} of {escaped_text:?} refused: {e}"
        ),
    }
    let mut plain_value = plain_value.clone();
    let mut escaped_value = escaped_value.clone();
    let plain_payload = CommonParser.decode_value::<serde_json::Value>(&mut plain_value, true);
    let escaped_payload = CommonParser.decode_value::<serde_json::Value>(&mut escaped_value, true);
    match (array.get(1), escaped_payload) {
        (Some(expected), Ok(payload)) => {
            assert_eq!(&payload, expected, "{escaped_text:?}");
            assert_eq!(
                plain_payload.ok().as_ref(),
                Some(expected),
                "{plain_text:?}"
            );
            check_every_event(&payload);
        }
        (None, Err(_)) => assert!(plain_payload.is_err()),
        (expected, got) => panic!("{escaped_text:?}: expected {expected:?}, got {got:?}"),
    }
});
