//! Moderation of a live room — mute one, mute all guests, remove, lock, end — written once and
//! callable without a WebSocket: the signalling session calls it for a moderator's message, and
//! an API method or an admin console can call it the same way. Who may moderate is the caller's
//! check; these only act.

use crate::{
    sfu::{PeerId, RoomId},
    signal::{Media, messages::ServerMessage},
};

/// Mutes one participant's microphone at the SFU and tells it and the room.
pub async fn mute(media: &Media, room: &RoomId, target: PeerId) {
    media.sfu.force_mute(target, true);
    media
        .hub
        .tell(room.as_str(), target, ServerMessage::MutedByModerator {})
        .await;
    media
        .hub
        .update(room.as_str(), target, |v| v.audio_muted = true)
        .await;
}

/// Mutes every guest (moderators keep their microphones).
pub async fn mute_all(media: &Media, room: &RoomId) {
    for guest in media.hub.guests(room.as_str()).await {
        mute(media, room, guest).await;
    }
}

/// Removes a participant: its media ends, and the hub takes it out at once, even when its
/// connection is stuck behind a full queue.
pub async fn remove(media: &Media, room: &RoomId, target: PeerId) {
    media.sfu.kick(target);
    let farewell = ServerMessage::Removed {
        reason: "removed_by_moderator",
    };
    media.hub.remove(room.as_str(), target, farewell).await;
}

/// Locks or unlocks the room: while locked, only moderators may join.
pub async fn lock(media: &Media, room: &RoomId, locked: bool) {
    media.hub.set_locked(room.as_str(), locked).await;
}

/// Ends the meeting for everyone in it, viewers included.
pub async fn end(media: &Media, room: &RoomId) {
    media.hub.end(room.as_str()).await;
    media.sfu.end_room(room);
}
