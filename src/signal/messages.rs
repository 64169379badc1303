//! The JSON messages of the signalling WebSocket (documented in docs/signalling.md).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::sfu::TrackSource;

/// [`TrackSource`] on the wire (`microphone`, `camera`, `screen`); the SFU crate knows no serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireSource {
    Microphone,
    Camera,
    Screen,
}

impl From<WireSource> for TrackSource {
    fn from(source: WireSource) -> Self {
        match source {
            WireSource::Microphone => TrackSource::Microphone,
            WireSource::Camera => TrackSource::Camera,
            WireSource::Screen => TrackSource::Screen,
        }
    }
}

impl From<TrackSource> for WireSource {
    fn from(source: TrackSource) -> Self {
        match source {
            TrackSource::Microphone => WireSource::Microphone,
            TrackSource::Camera => WireSource::Camera,
            TrackSource::Screen => WireSource::Screen,
        }
    }
}

/// What a client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Enter the room. Guests give a name (and the room's PIN when it has one); moderators also
    /// give the host's moderator PIN. Live stream viewers join with `role: viewer` and no name.
    Join {
        /// Required for participants; viewers are anonymous.
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        role: JoinRole,
        #[serde(default)]
        pin: Option<String>,
        #[serde(default)]
        moderator_pin: Option<String>,
        /// The token of a moderator link (`?mod=` of a conference invitation).
        #[serde(default)]
        moderator_token: Option<String>,
    },
    /// An SDP offer from the client (first connection, or when it adds/removes its own tracks).
    /// `sources` maps the offered track ids to `microphone`, `camera` or `screen`.
    Offer {
        sdp: String,
        #[serde(default)]
        sources: HashMap<String, WireSource>,
    },
    /// The client's answer to a server offer.
    Answer { sdp: String },
    /// Trickled ICE candidates are accepted and ignored: the server is ICE-lite and learns the
    /// client's addresses from its connectivity checks.
    Candidate {
        #[serde(default)]
        candidate: serde_json::Value,
    },
    /// Text chat to everyone in the room.
    Chat { text: String },
    /// The client's own microphone/camera/screen state, relayed to the others.
    MediaState {
        #[serde(default)]
        audio_muted: Option<bool>,
        #[serde(default)]
        video_muted: Option<bool>,
        #[serde(default)]
        screen_sharing: Option<bool>,
    },
    /// Raise or lower a hand.
    RaiseHand { raised: bool },
    /// Moderator: mute someone's microphone.
    MuteParticipant { participant_id: String },
    /// Moderator: remove someone from the meeting.
    RemoveParticipant { participant_id: String },
    /// Moderator: mute every guest's microphone.
    MuteAll {},
    /// Moderator: lock (or unlock) the room; while locked only moderators may join.
    LockRoom { locked: bool },
    /// Moderator: end the meeting for everyone.
    EndMeeting {},
    /// Leave the meeting.
    Leave {},
    /// Keep-alive; answered with `pong`.
    Ping {},
}

/// How a connection takes part in a room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinRole {
    /// Seen by the others, may publish, chat and (as moderator) moderate.
    #[default]
    Participant,
    /// A hidden, receive-only live stream viewer.
    Viewer,
}

/// A participant as others see them.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantView {
    pub participant_id: String,
    pub name: String,
    pub role: &'static str,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub screen_sharing: bool,
    pub hand_raised: bool,
}

/// What the server sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    Joined {
        participant_id: String,
        role: &'static str,
        participants: Vec<ParticipantView>,
        room: RoomView,
        /// STUN/TURN servers for the client's RTCPeerConnection configuration.
        ice_servers: Vec<IceServer>,
        /// Live stream viewers watching the room.
        viewers: usize,
    },
    Answer {
        sdp: String,
    },
    Offer {
        sdp: String,
    },
    ParticipantJoined {
        participant: ParticipantView,
    },
    ParticipantUpdated {
        participant: ParticipantView,
    },
    ParticipantLeft {
        participant_id: String,
        reason: &'static str,
    },
    Track {
        participant_id: String,
        stream_id: String,
        track_id: String,
        kind: String,
        source: WireSource,
    },
    TrackRemoved {
        participant_id: String,
        track_id: String,
    },
    DominantSpeaker {
        participant_id: String,
    },
    /// The number of live stream viewers changed.
    Viewers {
        count: usize,
    },
    Chat {
        participant_id: String,
        name: String,
        text: String,
        sent_at: String,
    },
    MutedByModerator {},
    RoomLocked {
        locked: bool,
    },
    Removed {
        reason: &'static str,
    },
    Ended {},
    Error {
        code: &'static str,
        message: String,
    },
    Pong {},
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Debug, Clone, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The room a participant joined.
#[derive(Debug, Clone, Serialize)]
pub struct RoomView {
    pub access_code: String,
    pub host_name: String,
    /// `conversation`, `presentation` (guests start muted) or `lecture` (guests stay muted).
    pub mute_mode: String,
}

impl ServerMessage {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            code,
            message: message.into(),
        }
    }
}

/// Wire id of a participant (also the `msid` stream id of its tracks).
pub fn wire_id(peer: crate::sfu::PeerId) -> String {
    format!("p{peer}")
}

/// Parses a wire id back.
pub fn parse_wire_id(id: &str) -> Option<crate::sfu::PeerId> {
    id.strip_prefix('p')?.parse().ok().map(crate::sfu::PeerId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_parse_and_reject_unknown_shapes() {
        let join: ClientMessage =
            serde_json::from_str(r#"{"type":"join","name":"Ann","pin":"1234"}"#).unwrap();
        assert!(
            matches!(join, ClientMessage::Join { ref name, role: JoinRole::Participant, .. } if name.as_deref() == Some("Ann"))
        );
        let watch: ClientMessage =
            serde_json::from_str(r#"{"type":"join","role":"viewer"}"#).unwrap();
        assert!(matches!(
            watch,
            ClientMessage::Join {
                role: JoinRole::Viewer,
                ..
            }
        ));
        assert!(
            serde_json::from_str::<ClientMessage>(r#"{"type":"join","role":"director"}"#).is_err()
        );
        let offer: ClientMessage =
            serde_json::from_str(r#"{"type":"offer","sdp":"v=0","sources":{"abc":"screen"}}"#)
                .unwrap();
        assert!(
            matches!(offer, ClientMessage::Offer { ref sources, .. } if sources["abc"] == WireSource::Screen)
        );
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"explode"}"#).is_err());
        assert!(
            serde_json::from_str::<ClientMessage>(r#"{"type":"chat","text":"x","extra":1}"#)
                .is_err()
        );
        assert_eq!(
            parse_wire_id(&wire_id(crate::sfu::PeerId(42))),
            Some(crate::sfu::PeerId(42))
        );
        assert_eq!(parse_wire_id("x42"), None);
    }
}
