//! The protocol crate's payload validation of every client event, on any JSON value: it never
//! panics, accepted payloads re-serialize and re-validate to the same value, and only what is
//! not a JSON object is refused as "payload must be a JSON object".

#![no_main]

use libfuzzer_sys::fuzz_target;
use livepoll_fuzz::check_every_event;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        check_every_event(&value);
    }
});
