//! The vendored Socket.IO packet decoder on arbitrary input: the text frame is the input up to
//! the first 0xFF byte (never part of UTF-8, read lossily), and each later 0xFF-separated part
//! is a binary frame. Decoding never panics; a decoded event packet whose data is a JSON array
//! re-encodes and decodes again to the same packet, and its event name and payload are those
//! serde_json reads from the same text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use livepoll_fuzz::{check_event_against_reference, decode, encode, event_data, reference_array};

fuzz_target!(|data: &[u8]| {
    let mut frames = data.split(|&b| b == 0xFF);
    let text = String::from_utf8_lossy(frames.next().unwrap_or_default());
    let binaries: Vec<&[u8]> = frames.collect();
    let Some(packet) = decode(&text, &binaries) else {
        return;
    };
    // Whatever decodes also encodes.
    let (encoded, bins) = encode(packet.clone());
    let Some(value) = event_data(&packet) else {
        return;
    };
    let Some(data) = value.as_str().map(|s| s.as_str().to_owned()) else {
        return;
    };
    if reference_array(&data).is_none() {
        return;
    }
    let bins: Vec<&[u8]> = bins.iter().map(|b| &b[..]).collect();
    let again = decode(&encoded, &bins)
        .unwrap_or_else(|| panic!("{text:?} decoded, its encoding {encoded:?} did not"));
    assert_eq!(packet, again, "{text:?} -> {encoded:?}");
    if binaries.is_empty() {
        let mut value = value.clone();
        check_event_against_reference(&mut value);
    }
});
