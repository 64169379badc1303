//! The first message of a connection: `join` with a name and the room's credentials (PIN,
//! moderator PIN or link), or a viewer's join; checks, records and answers it.

use std::net::IpAddr;

use axum::extract::ws::Message;
use tokio::sync::mpsc;

use super::{
    Media, RoomAccess,
    link::Link,
    mailbox::Mailbox,
    messages::{ClientMessage, JoinRole, ParticipantView, ServerMessage, wire_id},
    pin_lockout,
    session::{Joined, secret_eq, send},
    viewer,
};
use crate::{sfu::SfuEvent, tenancy::names};

/// Reads messages until a valid `join`; answers errors for anything else.
#[allow(clippy::too_many_arguments)]
pub(super) async fn wait_for_join(
    socket: &mut Link,
    state: &crate::app::AppState,
    media: &Media,
    access: &RoomAccess,
    client: IpAddr,
    mailbox: Mailbox,
    sfu_tx: mpsc::UnboundedSender<SfuEvent>,
    deadline: tokio::time::Instant,
) -> Option<Joined> {
    loop {
        if socket.lost().is_some() {
            return None;
        }
        // Only waiting for the message is bounded: once a join is being recorded it completes.
        let Ok(received) = tokio::time::timeout_at(deadline, socket.recv()).await else {
            let timeout = ServerMessage::error("join_timeout", "Send `join` within 30 seconds");
            send(socket, &timeout).await;
            return None;
        };
        let text = match received? {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        };
        let (name, pin, moderator_pin, moderator_token) =
            match serde_json::from_str::<ClientMessage>(text.as_str()) {
                Ok(ClientMessage::Join {
                    role: JoinRole::Viewer,
                    pin,
                    ..
                }) => {
                    // Viewers skip names, moderator credentials and the lock: see viewer.rs.
                    return viewer::admit(socket, media, access, client, pin, mailbox, sfu_tx)
                        .await;
                }
                Ok(ClientMessage::Join {
                    name: Some(name),
                    pin,
                    moderator_pin,
                    moderator_token,
                    ..
                }) => (name, pin, moderator_pin, moderator_token),
                Ok(ClientMessage::Join { name: None, .. }) => {
                    let missing = "Invalid message: missing field `name`";
                    send(socket, &ServerMessage::error("bad_message", missing)).await;
                    continue;
                }
                Ok(ClientMessage::Ping {}) => {
                    send(socket, &ServerMessage::Pong {}).await;
                    continue;
                }
                Ok(_) => {
                    send(
                        socket,
                        &ServerMessage::error("not_joined", "Send `join` first"),
                    )
                    .await;
                    continue;
                }
                Err(err) => {
                    send(
                        socket,
                        &ServerMessage::error("bad_message", format!("Invalid message: {err}")),
                    )
                    .await;
                    continue;
                }
            };
        let name = match names::display_name("name", &name) {
            Ok(name) if name.chars().count() <= 100 => name,
            _ => {
                send(
                    socket,
                    &ServerMessage::error(
                        "invalid_name",
                        "name: 1 to 100 characters, no control characters",
                    ),
                )
                .await;
                continue;
            }
        };
        let by_token = match moderator_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => match super::is_moderator_token(state, access, token).await {
                Ok(valid) => valid,
                Err(err) => {
                    tracing::error!(%err, "cannot check moderator token");
                    false
                }
            },
            None => false,
        };
        if moderator_token.as_deref().is_some_and(|t| !t.is_empty()) && !by_token {
            pin_lockout::count_wrong_pin(media, access, client);
            let refused =
                ServerMessage::error("invalid_moderator_link", "This moderator link is not valid");
            send(socket, &refused).await;
            return None;
        }
        let trusted = access.signed_in_host || by_token;
        let gives_moderator_pin = moderator_pin.as_deref().is_some_and(|p| !p.is_empty());
        if !trusted
            && (gives_moderator_pin || access.security_pin.is_some())
            && let Some(refusal) = pin_lockout::refusal_while_locked(media, access)
        {
            send(socket, &refusal).await;
            return None;
        }
        let moderator = match moderator_pin.as_deref() {
            _ if trusted => true,
            None | Some("") => false,
            Some(given) if secret_eq(given, &access.moderator_pin) => true,
            Some(_) => {
                pin_lockout::count_wrong_pin(media, access, client);
                send(
                    socket,
                    &ServerMessage::error("invalid_moderator_pin", "The moderator PIN is wrong"),
                )
                .await;
                return None;
            }
        };
        // Moderators have their own credentials; the room PIN is for guests.
        if let Some(required) = access.security_pin.as_ref().filter(|_| !moderator)
            && !pin.as_deref().is_some_and(|p| secret_eq(p, required))
        {
            pin_lockout::count_wrong_pin(media, access, client);
            send(
                socket,
                &ServerMessage::error("invalid_pin", "This meeting needs its PIN"),
            )
            .await;
            return None;
        }
        if !moderator && media.hub.is_locked(access.room_key.as_str()).await {
            send(
                socket,
                &ServerMessage::error("room_locked", "The host has locked this meeting"),
            )
            .await;
            return None;
        }
        let peer = media.next_peer();
        let role = if moderator { "moderator" } else { "guest" };
        let view = ParticipantView {
            participant_id: wire_id(peer),
            name: name.clone(),
            role,
            // Guests of presentations and lectures join muted (the page mutes their microphone).
            audio_muted: !moderator && access.mute_mode != "conversation",
            video_muted: false,
            screen_sharing: false,
            hand_raised: false,
        };
        if let Err(err) = media.sfu.join(&access.room_key, peer, sfu_tx).await {
            send(
                socket,
                &ServerMessage::error("media_unavailable", err.to_string()),
            )
            .await;
            return None;
        }
        let others = match media
            .hub
            .join(
                access.room_key.as_str(),
                &access.record,
                peer,
                view,
                moderator,
                mailbox,
            )
            .await
        {
            Ok(others) => others,
            Err(err) => {
                tracing::error!(%err, "cannot record join");
                media.sfu.leave(peer);
                send(
                    socket,
                    &ServerMessage::error("internal_error", "Internal server error"),
                )
                .await;
                return None;
            }
        };
        let joined = ServerMessage::Joined {
            participant_id: wire_id(peer),
            role,
            participants: others,
            ice_servers: media.ice_servers.clone(),
            viewers: media.hub.audience.count(access.room_key.as_str()),
            room: super::room_view(access),
        };
        if !send(socket, &joined).await {
            media.sfu.leave(peer);
            media
                .hub
                .leave(access.room_key.as_str(), peer, "left")
                .await;
            return None;
        }
        let lecture_guest = !moderator && access.mute_mode == "lecture";
        if lecture_guest {
            media.sfu.force_mute(peer, true);
        }
        return Some(Joined::new(peer, moderator, name, lecture_guest, false));
    }
}
