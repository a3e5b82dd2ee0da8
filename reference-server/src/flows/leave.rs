//! Spec §7.2 (leave) and §7.3 (disconnect).
//!
//! 1. userId from the socket.
//! 2. Leave `conference:{id}` and `host:{id}`.
//! 3. (with 4) Presence: the user leaves the audience when its last socket leaves (D9).
//! 5. `conference:left` to the sender, also when the socket had not joined (D12).
//! 6. `audience:left` to the host room for an audience user's last socket (D10).
//! 7. `audience:count` to the room, coalesced (D11).
//!
//! A disconnect leaves every conference the socket joined (D12).

use lcr_protocol::client::ConferenceLeave;
use lcr_protocol::event::{self, conference_room, host_room};
use lcr_protocol::server::{AudiencePresence, ConferenceLeft};
use lcr_protocol::{Role, now_millis};

use super::{Caller, FlowError};
use crate::audience;
use crate::node::Node;
use crate::session::Session;

/// Handles `conference:leave`.
pub async fn leave(
    node: &Node,
    caller: &Caller<'_>,
    req: ConferenceLeave,
) -> Result<(), FlowError> {
    let cid = req.conference_id.as_str();
    // The store first: if it fails, the socket is still joined and the leave can be retried.
    let change = match caller.session.role_in(cid) {
        Some(role) => {
            let count = leave_presence(node, caller.user_id(), cid, role).await?;
            caller.session.forget(cid);
            caller
                .out
                .leave_rooms(vec![conference_room(cid), host_room(cid)]);
            Some((role, count))
        }
        None => None,
    };
    caller.send(
        event::CONFERENCE_LEFT,
        &ConferenceLeft {
            conference_id: cid.to_owned(),
        },
    );
    if let Some((role, count)) = change {
        announce_left(node, caller.user_id(), cid, role, count).await;
    }
    Ok(())
}

/// Handles a disconnect: leaves every conference the socket had joined (spec §7.3, D12).
/// The socket is gone, so a failing store is retried (0.2 s doubling, 5 tries) before the
/// presence entry is given up on.
pub async fn disconnect(node: &Node, session: &Session) {
    for (cid, role) in session.forget_all() {
        let mut wait = std::time::Duration::from_millis(200);
        for attempt in 1..=5 {
            match leave_presence(node, &session.user_id, &cid, role).await {
                Ok(count) => {
                    announce_left(node, &session.user_id, &cid, role, count).await;
                    break;
                }
                Err(e) if attempt < 5 => {
                    tracing::warn!(conference = %cid, user = %session.user_id, error = %e,
                        "presence not cleaned on disconnect; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => tracing::error!(conference = %cid, user = %session.user_id, error = %e,
                    "presence not cleaned on disconnect; giving up"),
            }
        }
    }
}

/// Presence step: `Some(audience count)` when the user's last socket left.
async fn leave_presence(
    node: &Node,
    uid: &str,
    cid: &str,
    role: Role,
) -> Result<Option<u64>, FlowError> {
    let change = node.store.remove_member(cid, uid, role).await?;
    node.audience.socket_left(cid);
    Ok(change.user_changed.then_some(change.audience_count))
}

async fn announce_left(node: &Node, uid: &str, cid: &str, role: Role, count: Option<u64>) {
    let Some(audience_count) = count.filter(|_| role == Role::Audience) else {
        return;
    };
    node.broadcast(
        host_room(cid),
        event::AUDIENCE_LEFT,
        &AudiencePresence {
            conference_id: cid.to_owned(),
            user_id: uid.to_owned(),
            audience_count,
            timestamp: now_millis(),
        },
    )
    .await;
    audience::changed(node, cid).await;
}
