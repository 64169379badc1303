//! One participant's signalling connection: join, SDP relay with the SFU, room events, chat and
//! moderator commands.

use std::{net::IpAddr, time::Duration};

use axum::extract::ws::{Message, WebSocket};
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;

use super::{
    Media, RoomAccess,
    chat_limit::{PARTICIPANT_CHAT, PARTICIPANT_STATE_CHANGES, TokenBucket},
    join::wait_for_join,
    link::Link,
    mailbox::{self, Farewell},
    messages::{ClientMessage, ServerMessage, parse_wire_id, wire_id},
    viewer,
};
use crate::{
    api::fields::timestamp,
    room::moderation,
    sfu::{CloseReason, PeerId, SfuEvent},
    store,
    tenancy::names::without_bidi_controls,
};

/// Time allowed between opening the socket and sending `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval of server pings on an idle connection.
const KEEPALIVE: Duration = Duration::from_secs(20);
/// Longest chat message, in characters.
const MAX_CHAT_CHARS: usize = 2000;

/// Whether the session goes on after a message.
enum Flow {
    Continue,
    Leave(&'static str),
}

pub(super) struct Joined {
    pub peer: PeerId,
    pub moderator: bool,
    pub name: String,
    /// Guests of a lecture stay muted: only a moderator's voice goes out.
    pub lecture_guest: bool,
    /// A hidden, receive-only live stream viewer.
    pub viewer: bool,
    /// This participant's chat allowance (the room has one too).
    pub chat: TokenBucket,
    /// This participant's allowance of announcements to everyone (state, hand, offers).
    pub state_changes: TokenBucket,
}

impl Joined {
    /// A joined connection with a full chat allowance.
    pub fn new(
        peer: PeerId,
        moderator: bool,
        name: String,
        lecture_guest: bool,
        viewer: bool,
    ) -> Self {
        Self {
            peer,
            moderator,
            name,
            lecture_guest,
            viewer,
            chat: TokenBucket::new(PARTICIPANT_CHAT, tokio::time::Instant::now()),
            state_changes: TokenBucket::new(PARTICIPANT_STATE_CHANGES, tokio::time::Instant::now()),
        }
    }
}

pub(super) fn secret_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Sends a message (a write bounded by `signal_write_timeout_secs`); false when it failed.
pub(super) async fn send(socket: &mut Link, message: &ServerMessage) -> bool {
    socket.send(message).await
}

/// Runs a connection until the participant leaves or is disconnected.
pub async fn run(
    socket: WebSocket,
    state: crate::app::AppState,
    media: std::sync::Arc<Media>,
    access: RoomAccess,
    client: IpAddr,
) {
    let write_timeout = Duration::from_secs(state.config.signal_write_timeout_secs);
    let mut socket = Link::new(socket, write_timeout);
    let (mailbox, mut inbox) = mailbox::channel();
    let (sfu_tx, mut sfu_rx) = mpsc::unbounded_channel::<SfuEvent>();
    let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
    let joined = wait_for_join(
        &mut socket,
        &state,
        &media,
        &access,
        client,
        mailbox,
        sfu_tx,
        deadline,
    );
    let Some(mut joined) = joined.await else {
        return;
    };
    // Pings keep idle connections open through proxies with read timeouts.
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    let reason = loop {
        // A write that failed or timed out ends the session: the client is gone or not reading.
        if let Some(reason) = socket.lost() {
            break reason;
        }
        tokio::select! {
            farewell = &mut inbox.farewell => match farewell {
                Ok(Farewell::Close(message)) => {
                    send(&mut socket, &message).await;
                    break match message {
                        ServerMessage::Ended {} => "ended",
                        _ => "removed",
                    };
                }
                Ok(Farewell::Overflowed) => {
                    tracing::info!(peer = %joined.peer, "disconnecting a client that does not keep up with its messages");
                    break "connection_lost";
                }
                Err(_) => break "left",
            },
            _ = keepalive.tick() => {
                socket.ping().await;
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => match handle(&mut socket, &media, &access, &mut joined, text.as_str()).await {
                    Flow::Continue => {}
                    Flow::Leave(reason) => break reason,
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break "left",
                Some(Ok(_)) => {}
            },
            Some(message) = inbox.messages.recv() => {
                send(&mut socket, &message).await;
            }
            Some(event) = sfu_rx.recv() => {
                let message = match event {
                    SfuEvent::Offer(sdp) => ServerMessage::Offer { sdp },
                    SfuEvent::TrackAdded(t) => ServerMessage::Track {
                        participant_id: wire_id(t.publisher),
                        stream_id: t.stream_id,
                        track_id: t.track_id,
                        kind: t.kind,
                        source: t.source.into(),
                    },
                    SfuEvent::TrackRemoved { publisher, track_id } => {
                        ServerMessage::TrackRemoved { participant_id: wire_id(publisher), track_id }
                    }
                    SfuEvent::DominantSpeaker(peer) => ServerMessage::DominantSpeaker { participant_id: wire_id(peer) },
                    SfuEvent::Closed(reason) => {
                        let why = match reason {
                            CloseReason::ConnectionLost => "The media connection was lost",
                            CloseReason::NeverConnected => "The media connection could not be established",
                        };
                        send(&mut socket, &ServerMessage::error("media_lost", why)).await;
                        break "connection_lost";
                    }
                };
                send(&mut socket, &message).await;
            }
        }
    };
    media.sfu.leave(joined.peer);
    if joined.viewer {
        media
            .hub
            .remove_viewer(access.room_key.as_str(), joined.peer)
            .await;
    } else {
        media
            .hub
            .leave(access.room_key.as_str(), joined.peer, reason)
            .await;
    }
    socket.close().await;
}

/// Handles one message of a joined participant.
async fn handle(
    socket: &mut Link,
    media: &Media,
    access: &RoomAccess,
    me: &mut Joined,
    text: &str,
) -> Flow {
    let message = match serde_json::from_str::<ClientMessage>(text) {
        Ok(message) => message,
        Err(err) => {
            send(
                socket,
                &ServerMessage::error("bad_message", format!("Invalid message: {err}")),
            )
            .await;
            return Flow::Continue;
        }
    };
    let room = access.room_key.as_str();
    if me.viewer
        && let Some(refusal) = viewer::refusal(&message)
    {
        send(socket, &refusal).await;
        return Flow::Continue;
    }
    let announces = matches!(
        message,
        ClientMessage::MediaState { .. }
            | ClientMessage::RaiseHand { .. }
            | ClientMessage::Offer { .. }
    );
    if announces && !me.moderator && !me.state_changes.try_take(tokio::time::Instant::now()) {
        let why = "You are changing your state too fast; wait a moment";
        send(socket, &ServerMessage::error("rate_limited", why)).await;
        return Flow::Continue;
    }
    match message {
        ClientMessage::Join { .. } => {
            send(
                socket,
                &ServerMessage::error("already_joined", "Already in the meeting"),
            )
            .await;
        }
        ClientMessage::Offer { sdp, sources } => match media
            .sfu
            .offer(
                me.peer,
                sdp,
                sources.into_iter().map(|(id, s)| (id, s.into())).collect(),
            )
            .await
        {
            Ok(sdp) => {
                send(socket, &ServerMessage::Answer { sdp }).await;
            }
            Err(err) => {
                send(socket, &ServerMessage::error("bad_offer", err.to_string())).await;
            }
        },
        ClientMessage::Answer { sdp } => {
            if let Err(err) = media.sfu.answer(me.peer, sdp).await {
                send(socket, &ServerMessage::error("bad_answer", err.to_string())).await;
            }
        }
        ClientMessage::Candidate { .. } => {}
        ClientMessage::Chat { text } => {
            // Bidirectional controls would let a message display reversed or reorder the
            // chat shown after it.
            let text = without_bidi_controls(&text).trim().to_string();
            if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
                send(
                    socket,
                    &ServerMessage::error(
                        "invalid_chat",
                        format!("text: 1 to {MAX_CHAT_CHARS} characters"),
                    ),
                )
                .await;
                return Flow::Continue;
            }
            let now = tokio::time::Instant::now();
            let refusal = if !me.chat.try_take(now) {
                Some("You are sending chat messages too fast; wait a moment")
            } else if !media.hub.allow_room_chat(room) {
                Some("This meeting is receiving too many chat messages; wait a moment")
            } else {
                None
            };
            if let Some(why) = refusal {
                send(socket, &ServerMessage::error("rate_limited", why)).await;
                return Flow::Continue;
            }
            media
                .hub
                .record_chat(room, &wire_id(me.peer), &me.name, &text)
                .await;
            let message = ServerMessage::Chat {
                participant_id: wire_id(me.peer),
                name: me.name.clone(),
                text,
                sent_at: timestamp(store::now()),
            };
            media.hub.broadcast(room, message, None).await;
        }
        ClientMessage::MediaState {
            audio_muted,
            video_muted,
            screen_sharing,
        } => {
            if audio_muted == Some(false) && !me.lecture_guest {
                media.sfu.force_mute(me.peer, false);
            }
            media
                .hub
                .update(room, me.peer, |v| {
                    v.audio_muted = audio_muted.unwrap_or(v.audio_muted);
                    v.video_muted = video_muted.unwrap_or(v.video_muted);
                    v.screen_sharing = screen_sharing.unwrap_or(v.screen_sharing);
                })
                .await;
        }
        ClientMessage::RaiseHand { raised } => {
            media
                .hub
                .update(room, me.peer, |v| v.hand_raised = raised)
                .await;
        }
        ClientMessage::MuteParticipant { participant_id } => {
            let Some(target) = moderated_target(socket, media, room, me, &participant_id).await
            else {
                return Flow::Continue;
            };
            moderation::mute(media, &access.room_key, target).await;
        }
        ClientMessage::RemoveParticipant { participant_id } => {
            let Some(target) = moderated_target(socket, media, room, me, &participant_id).await
            else {
                return Flow::Continue;
            };
            moderation::remove(media, &access.room_key, target).await;
        }
        ClientMessage::MuteAll {} => {
            if !me.moderator {
                send(
                    socket,
                    &ServerMessage::error("forbidden", "Only moderators may mute everyone"),
                )
                .await;
                return Flow::Continue;
            }
            moderation::mute_all(media, &access.room_key).await;
        }
        ClientMessage::LockRoom { locked } => {
            if !me.moderator {
                send(
                    socket,
                    &ServerMessage::error("forbidden", "Only moderators may lock the meeting"),
                )
                .await;
                return Flow::Continue;
            }
            moderation::lock(media, &access.room_key, locked).await;
        }
        ClientMessage::EndMeeting {} => {
            if !me.moderator {
                send(
                    socket,
                    &ServerMessage::error("forbidden", "Only moderators may end the meeting"),
                )
                .await;
                return Flow::Continue;
            }
            moderation::end(media, &access.room_key).await;
        }
        ClientMessage::Leave {} => return Flow::Leave("left"),
        ClientMessage::Ping {} => {
            send(socket, &ServerMessage::Pong {}).await;
        }
    }
    Flow::Continue
}

/// The participant a moderator command is about, after checking the caller may give it.
async fn moderated_target(
    socket: &mut Link,
    media: &Media,
    room: &str,
    me: &Joined,
    participant_id: &str,
) -> Option<PeerId> {
    if !me.moderator {
        send(
            socket,
            &ServerMessage::error("forbidden", "Only moderators may do that"),
        )
        .await;
        return None;
    }
    let target = parse_wire_id(participant_id);
    let present = match target {
        Some(peer) => media.hub.contains(room, peer).await,
        None => false,
    };
    if !present {
        send(
            socket,
            &ServerMessage::error(
                "unknown_participant",
                format!("No participant {participant_id} here"),
            ),
        )
        .await;
        return None;
    }
    target
}
