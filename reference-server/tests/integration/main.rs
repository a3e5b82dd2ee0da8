//! Integration tests of the reference server: every flow and rejection, on both stores, against
//! real Redis processes and real Socket.IO connections.

mod harness;

mod auth;
mod bad_input;
mod binary;
mod cluster;
mod concurrency;
mod control_api;
mod durability;
mod escapes;
mod interop_js;
mod mongo;
mod presence;
mod questions;
mod redis_keys;
mod slow_readers;
mod store_contract;
mod votes;
