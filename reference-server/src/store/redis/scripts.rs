//! The Lua scripts of the Redis adapter, one per step that reads and then writes (`lua/`),
//! loaded by hash and reloaded transparently after a Redis restart.

use fred::types::scripts::Script;

/// Every script, parsed once per store.
pub(super) struct Scripts {
    pub(super) join: Script,
    pub(super) leave: Script,
    pub(super) clear_presence: Script,
    pub(super) start: Script,
    pub(super) vote: Script,
    pub(super) close: Script,
    pub(super) persisted: Script,
    pub(super) unlock: Script,
    pub(super) lease: Script,
    pub(super) handover: Script,
    pub(super) claim: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Scripts {
            join: Script::from_lua(include_str!("lua/join.lua")),
            leave: Script::from_lua(include_str!("lua/leave.lua")),
            clear_presence: Script::from_lua(include_str!("lua/clear_presence.lua")),
            start: Script::from_lua(include_str!("lua/start.lua")),
            vote: Script::from_lua(include_str!("lua/vote.lua")),
            close: Script::from_lua(include_str!("lua/close.lua")),
            persisted: Script::from_lua(include_str!("lua/persisted.lua")),
            unlock: Script::from_lua(include_str!("lua/unlock.lua")),
            lease: Script::from_lua(include_str!("lua/lease.lua")),
            handover: Script::from_lua(include_str!("lua/handover.lua")),
            claim: Script::from_lua(include_str!("lua/claim.lua")),
        }
    }
}
