//! Spec §7.1, the join flow.
//!
//! 1. userId from the token, role from `conference:{id}:host` (D3; a client's `role` is ignored).
//! 2. The conference must exist (`CONFERENCE_NOT_FOUND`, D7) and not be ENDED
//!    (`CONFERENCE_ENDED`); DRAFT may be joined.
//! 3. Join `conference:{id}`, and `host:{id}` for the host.
//! 4. Presence: the audience set counts users, not sockets (D9).
//! 5. (with 6) `conference:joined` to the sender with status, live question (D13) and audience count.
//! 7. `audience:joined` to the host room for an audience user's first socket (D10).
//! 8. `audience:count` to the room, coalesced (D11).

use lcr_protocol::client::ConferenceJoin;
use lcr_protocol::event::{self, conference_room, host_room};
use lcr_protocol::server::{AudiencePresence, ConferenceJoined};
use lcr_protocol::{ConferenceStatus, ErrorCode, Role, now_millis};

use super::{Caller, FlowError};
use crate::audience;
use crate::node::Node;

/// Handles `conference:join`.
pub async fn join(node: &Node, caller: &Caller<'_>, req: ConferenceJoin) -> Result<(), FlowError> {
    let cid = req.conference_id.as_str();
    let uid = caller.user_id();
    let conference = node.conference(cid).await?;
    if conference.status == ConferenceStatus::Ended {
        return Err(FlowError::new(
            ErrorCode::ConferenceEnded,
            format!("conference {cid} has ended"),
        ));
    }
    let role = conference.role_of(uid);

    // The store first: if it fails, the socket is neither counted nor in the rooms, and a
    // retried join starts clean. A socket that joined already is not counted twice.
    let presence = if caller.session.role_in(cid).is_none() {
        let change = node.store.add_member(cid, uid, role).await?;
        caller.session.mark_joined(cid, role);
        let mut rooms = vec![conference_room(cid)];
        if role == Role::Host {
            rooms.push(host_room(cid));
        }
        caller.out.join_rooms(rooms);
        node.audience.socket_joined(cid);
        Some(change)
    } else {
        None
    };

    let live_question = match node.store.live_question(cid).await? {
        Some(run) => node
            .store
            .question_meta(&run.question_id)
            .await?
            .map(|meta| run.live_payload(&meta)),
        None => None,
    };
    let audience_count = match presence {
        Some(p) => p.audience_count,
        None => node.store.audience_count(cid).await?,
    };
    caller.send(
        event::CONFERENCE_JOINED,
        &ConferenceJoined {
            conference_id: cid.to_owned(),
            conference_status: conference.status,
            live_question,
            audience_count,
            role: Some(role),
        },
    );

    node.metrics.joined();
    if let Some(p) = presence.filter(|p| p.user_changed && role == Role::Audience) {
        node.broadcast(
            host_room(cid),
            event::AUDIENCE_JOINED,
            &AudiencePresence {
                conference_id: cid.to_owned(),
                user_id: uid.to_owned(),
                audience_count: p.audience_count,
                timestamp: now_millis(),
            },
        )
        .await;
        audience::changed(node, cid).await;
    }
    Ok(())
}
