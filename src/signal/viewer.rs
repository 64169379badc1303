//! Live stream viewers (`{"type": "join", "role": "viewer"}`): hidden, receive-only connections
//! for the `/livestream/<access_code>` page. They need the room's PIN like guests, but not a
//! name, and they are admitted to a locked room: the lock decides who takes part, and a viewer
//! takes no part.

use std::net::IpAddr;

use tokio::sync::mpsc;

use super::{
    Media, RoomAccess,
    link::Link,
    mailbox::Mailbox,
    messages::{ClientMessage, ServerMessage, wire_id},
    pin_lockout,
    session::{Joined, secret_eq, send},
};
use crate::sfu::SfuEvent;

/// Admits a viewer after its `join`; `None` when it was refused (the reason has been sent).
pub(super) async fn admit(
    socket: &mut Link,
    media: &Media,
    access: &RoomAccess,
    client: IpAddr,
    pin: Option<String>,
    mailbox: Mailbox,
    sfu_tx: mpsc::UnboundedSender<SfuEvent>,
) -> Option<Joined> {
    if access.security_pin.is_some()
        && let Some(refusal) = pin_lockout::refusal_while_locked(media, access)
    {
        send(socket, &refusal).await;
        return None;
    }
    if let Some(required) = access.security_pin.as_ref()
        && !pin.as_deref().is_some_and(|p| secret_eq(p, required))
    {
        pin_lockout::count_wrong_pin(media, access, client);
        let refused = ServerMessage::error("invalid_pin", "This meeting needs its PIN");
        send(socket, &refused).await;
        return None;
    }
    let room = access.room_key.as_str();
    let peer = media.next_peer();
    // The seat is taken before the media join so that the cap holds under concurrent joins.
    let (participants, viewers) = match media.hub.add_viewer(room, peer, mailbox).await {
        Ok(admitted) => admitted,
        Err(full) => {
            let message = format!(
                "This live stream is full ({} viewers); try again later",
                full.max
            );
            send(socket, &ServerMessage::error("livestream_full", message)).await;
            return None;
        }
    };
    if let Err(err) = media
        .sfu
        .join_receive_only(&access.room_key, peer, sfu_tx)
        .await
    {
        media.hub.remove_viewer(room, peer).await;
        let refused = ServerMessage::error("media_unavailable", err.to_string());
        send(socket, &refused).await;
        return None;
    }
    let joined = ServerMessage::Joined {
        participant_id: wire_id(peer),
        role: "viewer",
        participants,
        ice_servers: media.ice_servers.clone(),
        viewers,
        room: super::room_view(access),
    };
    if !send(socket, &joined).await {
        media.sfu.leave(peer);
        media.hub.remove_viewer(room, peer).await;
        return None;
    }
    Some(Joined::new(peer, false, String::new(), false, true))
}

/// The error a viewer gets for a message only participants may send; `None` when it may.
pub(super) fn refusal(message: &ClientMessage) -> Option<ServerMessage> {
    let forbidden = |what: &str| {
        Some(ServerMessage::error(
            "forbidden",
            format!("Live stream viewers cannot {what}"),
        ))
    };
    match message {
        ClientMessage::Chat { .. } => forbidden("chat"),
        ClientMessage::MediaState { .. } => forbidden("send media"),
        ClientMessage::RaiseHand { .. } => forbidden("raise a hand"),
        ClientMessage::MuteParticipant { .. } | ClientMessage::MuteAll {} => {
            forbidden("mute anyone")
        }
        ClientMessage::RemoveParticipant { .. } => forbidden("remove anyone"),
        ClientMessage::LockRoom { .. } => forbidden("lock the meeting"),
        ClientMessage::EndMeeting {} => forbidden("end the meeting"),
        ClientMessage::Offer { sdp, sources } if !sources.is_empty() || sends_media(sdp) => {
            Some(ServerMessage::error(
                "bad_offer",
                "Live stream viewers only receive: offer recvonly audio and video sections",
            ))
        }
        _ => None,
    }
}

/// Whether an SDP has an audio or video section that sends (`sendrecv`, the default, or
/// `sendonly`).
fn sends_media(sdp: &str) -> bool {
    sdp.split("\nm=").skip(1).any(|section| {
        let is_av = section.starts_with("audio") || section.starts_with("video");
        let direction = section
            .lines()
            .map(str::trim)
            .find_map(|line| {
                ["sendrecv", "sendonly", "recvonly", "inactive"]
                    .into_iter()
                    .find(|d| line.strip_prefix("a=") == Some(d))
            })
            .unwrap_or("sendrecv");
        is_av && matches!(direction, "sendrecv" | "sendonly")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_receiving_offers_pass() {
        let receive = "v=0\r\ns=-\r\na=group:BUNDLE 0 1\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=recvonly\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=recvonly\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert!(!sends_media(receive));
        assert!(sends_media(&receive.replacen(
            "a=recvonly",
            "a=sendrecv",
            1
        )));
        assert!(sends_media(
            "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n"
        ));
        let offer = |sdp: &str| ClientMessage::Offer {
            sdp: sdp.into(),
            sources: Default::default(),
        };
        assert!(refusal(&offer(receive)).is_none());
        assert!(refusal(&offer("v=0\r\nm=video 9 RTP/SAVPF 96\r\na=sendonly\r\n")).is_some());
        assert!(refusal(&ClientMessage::Chat { text: "hi".into() }).is_some());
        assert!(refusal(&ClientMessage::Ping {}).is_none());
    }
}
