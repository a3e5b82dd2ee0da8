//! Step definitions: thin functions over [`crate::world::LiveWorld`], grouped by mood.

pub mod actions;
pub mod cluster;
pub mod mongo;
pub mod outcomes;
pub mod redis;
pub mod setup;
