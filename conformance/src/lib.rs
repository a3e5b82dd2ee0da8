//! The Live Conference Runtime feature suite.
//!
//! The spec's events, authority rules, lifecycles and errors as Gherkin scenarios
//! (`features/*.feature`), run by cucumber against any server that speaks Socket.IO v5 and
//! exposes the Control API of D8. Nothing here knows the reference server's internals.
//!
//! - [`world`]: a scenario's state (one fresh conference, named actors) and its helpers.
//! - [`actor`]: a real Socket.IO client per actor; every message it receives is checked.
//! - [`checks`]: the strict checks applied to every received message.
//! - [`steps`]: the step definitions.
//! - [`report`]: the HTML and JSON reports made from cucumber's JSON output.
//! - [`target`]: the server under test (one or several nodes).
//! - [`environment`]: killing and restarting nodes, taking MongoDB away (`@cluster`, `@mongo`).
//! - [`cli`]: the `conformance` binary's options (the suite's and cucumber's), importable.
//!
//! The binary (`src/main.rs`) chooses the server under test with `lcr-profile`: the
//! `--target` URLs with their secrets, or the reference server in process.

pub mod actor;
pub mod checks;
pub mod cli;
pub mod environment;
pub mod report;
pub mod steps;
pub mod target;
pub mod world;

pub use target::Target;
pub use world::LiveWorld;
