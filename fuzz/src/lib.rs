//! What the fuzz targets share: decoding a Socket.IO packet with the vendored parser the way
//! socketioxide does, and the checks made on every decoded event.

use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};
use socketioxide_core::{
    Value,
    packet::{Packet, PacketData},
    parser::{Parse, ParseConfig, ParseError, ParserState},
};
use socketioxide_parser_common::CommonParser;

use lcr_protocol::{
    PayloadError, Validate,
    client::{ConferenceJoin, ConferenceLeave, QuestionClose, QuestionPushLive, VoteSubmit},
    parse_request,
};

/// Decodes one text frame and the binary frames after it, as socketioxide feeds them: `None`
/// when the parser refused them or still waits for attachments.
pub fn decode(text: &str, binaries: &[&[u8]]) -> Option<Packet> {
    let config = ParseConfig::default();
    let state = ParserState::default();
    let mut result = CommonParser.decode_str(&config, &state, text.to_owned().into());
    for bin in binaries {
        if !matches!(result, Err(ParseError::NeedsMoreBinaryData)) {
            break;
        }
        result = CommonParser.decode_bin(&config, &state, Bytes::copy_from_slice(bin));
    }
    result.ok()
}

/// The text and binary frames of an encoded packet.
pub fn encode(packet: Packet) -> (String, Vec<Bytes>) {
    match CommonParser.encode(packet) {
        Value::Str(text, bins) => (
            text.as_str().to_owned(),
            bins.map(Vec::from).unwrap_or_default(),
        ),
        Value::Bytes(_) => panic!("the common parser encodes text"),
    }
}

/// The event data of a packet, when it is an event.
pub fn event_data(packet: &Packet) -> Option<&Value> {
    match &packet.inner {
        PacketData::Event(value, _) | PacketData::BinaryEvent(value, _) => Some(value),
        _ => None,
    }
}

/// The JSON text of an event's data read as serde_json reads it, without the parser: the
/// reference the parser's answers are compared with. Trailing text is ignored, as the parser
/// ignores it.
pub fn reference_array(text: &str) -> Option<Vec<serde_json::Value>> {
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserialize::deserialize(&mut de).ok()
}

/// Whether JSON must escape a character of `s`: then the name cannot be borrowed from any JSON
/// text, and `read_event` refuses it (vendor/README.md).
pub fn needs_escape(s: &str) -> bool {
    s.chars().any(|c| c == '"' || c == '\\' || c < '\u{20}')
}

/// Checks an event packet's data (without binary attachments) against serde_json's reading of
/// the same text: the event name `read_event` gives and the payload the server decodes.
pub fn check_event_against_reference(value: &mut Value) {
    let Some(text) = value.as_str().map(|s| s.as_str().to_owned()) else {
        return;
    };
    let Some(array) = reference_array(&text) else {
        return;
    };
    if let Some(serde_json::Value::String(name)) = array.first() {
        match CommonParser.read_event(value) {
            Ok(read) => assert_eq!(read, name, "event name of {text:?}"),
            Err(e) => assert!(
                needs_escape(name),
                "event name {name:?} of {text:?} refused: {e}"
            ),
        }
    }
    // The payload, as the reference server takes it (`TryData<serde_json::Value>`).
    let decoded = CommonParser.decode_value::<serde_json::Value>(value, true);
    match array.get(1) {
        Some(expected) => {
            let decoded = decoded.unwrap_or_else(|e| panic!("payload of {text:?}: {e}"));
            assert_eq!(&decoded, expected, "payload of {text:?}");
            check_every_event(&decoded);
        }
        None => assert!(decoded.is_err(), "payload of {text:?}"),
    }
}

/// Validates `value` as the payload of every client event.
pub fn check_every_event(value: &serde_json::Value) {
    check_payload::<ConferenceJoin>(value);
    check_payload::<ConferenceLeave>(value);
    check_payload::<QuestionPushLive>(value);
    check_payload::<QuestionClose>(value);
    check_payload::<VoteSubmit>(value);
    let _ = lcr_protocol::client::context_ids(value);
}

/// Validation never panics; an accepted payload re-serializes and re-validates to the same value;
/// "payload must be a JSON object" is said only of what is not one.
pub fn check_payload<T>(value: &serde_json::Value) -> Option<T>
where
    T: DeserializeOwned + Validate + Serialize + PartialEq + std::fmt::Debug,
{
    match parse_request::<T>(value) {
        Ok(parsed) => {
            let again = serde_json::to_value(&parsed).expect("serializes");
            let reparsed = parse_request::<T>(&again)
                .unwrap_or_else(|e| panic!("{value} accepted, {again} refused: {e}"));
            assert_eq!(parsed, reparsed, "{value} -> {again}");
            Some(parsed)
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.is_empty());
            assert_eq!(
                e == PayloadError::NotAnObject,
                !value.is_object(),
                "{value}: {message}"
            );
            None
        }
    }
}
