//! Step definitions: thin functions over [`crate::world::LiveWorld`], grouped by what they are
//! about, whatever their keyword (Given, When or Then).
//!
//! | module | steps about |
//! |---|---|
//! | [`connection`] | connecting, tokens, refusals (D1, D2) |
//! | [`conference`] | creating, activating and ending the conference, through the fixture |
//! | [`presence`] | joining and leaving |
//! | [`questions`] | pushing, closing, the countdown (D14–D17) |
//! | [`voting`] | votes, their answers and the counts (D18–D21) |
//! | [`messages`] | what actors receive, raw events they send |
//! | [`errors`] | `error` events (D5) |
//! | [`control_api`] | the Control API's own contract (D8, `@control-api`) |
//! | [`cluster`] | nodes: placement, kill, stop (D25, `@cluster`) |
//! | [`redis`] | the server's Redis keys (`@redis`) |
//! | [`mongo`] | the server's MongoDB (`@mongo`) |

pub mod cluster;
pub mod conference;
pub mod connection;
pub mod control_api;
pub mod errors;
pub mod messages;
pub mod mongo;
pub mod presence;
pub mod questions;
pub mod redis;
pub mod voting;
