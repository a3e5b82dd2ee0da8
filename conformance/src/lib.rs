//! The Live Conference Runtime feature suite.
//!
//! The protocol's events, authority rules, lifecycles and errors as Gherkin scenarios
//! (`features/*.feature`), run by cucumber against any server that speaks Socket.IO v5. A
//! target profile ([`lcr_profile`]) says where the server is, how its users get tokens, how a
//! conference is created and what the server claims; every scenario is graded passed, failed,
//! not claimed or not applicable. Nothing here knows the reference server's internals.
//!
//! - [`run`]: one run: the server chosen, scenarios graded ([`grading`]) and played, reports
//!   written ([`report`]); [`matrix`]: several servers side by side.
//! - [`target`]: the server under test as the steps reach it; [`environment`]: killing and
//!   restarting its nodes, taking MongoDB away.
//! - [`world`]: a scenario's state (one fresh conference, named actors) and its helpers;
//!   [`actor`]: a real Socket.IO client per actor, every message it receives checked
//!   ([`checks`]); [`fields`]: the feature files' language for actors and payload fields.
//! - [`steps`]: the step definitions, by domain.
//! - [`cli`]: the command line.

pub mod actor;
pub mod checks;
pub mod cli;
pub mod environment;
pub mod fields;
pub mod grading;
pub mod matrix;
pub mod report;
pub mod run;
pub mod steps;
pub mod target;
pub mod world;

pub use target::Target;
pub use world::LiveWorld;
