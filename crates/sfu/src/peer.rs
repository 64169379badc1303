//! One participant's peer connection on the server side: ICE-lite on the shared socket, what it
//! publishes, what it receives, and where its offer/answer exchange stands.

use std::{
    collections::HashMap,
    net::SocketAddr,
    time::{Duration, Instant},
};

use rtc::{
    ice::mdns::MulticastDnsMode,
    interceptor::{
        Attribute, Interceptor, NackResponderBuilder, Packet, Registry, SenderReportBuilder, Slot,
        StreamInfo, TaggedPacket,
    },
    peer_connection::{
        RTCPeerConnection, RTCPeerConnectionBuilder,
        configuration::{
            RTCConfigurationBuilder, interceptor_registry::register_default_interceptors,
            media_engine::MediaEngine, setting_engine::SettingEngineBuilder,
        },
        transport::RTCDtlsRole,
    },
    rtp_transceiver::{
        RTCRtpReceiverId, RTCRtpSenderId,
        rtp_sender::{RTCPFeedback, RTCRtpHeaderExtensionCapability, RtpCodecKind},
    },
    sansio::Protocol,
    shared::error::Error as RtcError,
};
use std::collections::VecDeque;
use tokio::sync::mpsc;

use super::{PeerId, SfuEvent, TrackSource, ice_path::IcePath};

/// RFC 6464 client-to-mixer audio level, used for dominant-speaker detection.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// A track this peer publishes.
pub struct Published {
    pub receiver_id: RTCRtpReceiverId,
    pub kind: RtpCodecKind,
    pub source: TrackSource,
    /// Track id subscribers see; unique in the process.
    pub forwarded_id: std::sync::Arc<str>,
    pub media_ssrc: Option<u32>,
    pub mime: Option<String>,
    pub clock_rate: u32,
    pub channels: u16,
    pub fmtp: String,
    pub audio_level_ext: Option<u8>,
    pub last_pli: Option<Instant>,
}

/// A track of another peer forwarded to this one.
pub struct Subscription {
    pub publisher: PeerId,
    pub publisher_track: String,
    pub sender_id: RTCRtpSenderId,
    pub ssrc: u32,
    pub mime: String,
    /// Payload type negotiated on this leg, known once the answer is applied.
    pub payload_type: Option<u8>,
    pub offered: bool,
    pub ready: bool,
    /// Bitrate this subscriber's receiver estimates for the stream (REMB), if it said.
    pub remb: Option<f32>,
}

/// One participant's connection.
pub struct Peer {
    pub id: PeerId,
    pub room: crate::RoomId,
    pub pc: RTCPeerConnection,
    pub events: mpsc::UnboundedSender<SfuEvent>,
    pub ufrag: String,
    /// Publisher track id (from the client's msid) → what we know of it.
    pub published: HashMap<String, Published>,
    /// Declared sources of tracks not seen yet, by client track id.
    pub declared_sources: HashMap<String, TrackSource>,
    /// Forwarded track id → subscription.
    pub subscriptions: HashMap<String, Subscription>,
    pub awaiting_answer: bool,
    pub needs_offer: bool,
    /// The first client offer has been answered (renegotiation is possible).
    pub negotiated: bool,
    pub connected: bool,
    pub forced_audio_mute: bool,
    /// A live stream viewer: it subscribes to the room but never publishes.
    pub receive_only: bool,
    pub joined_at: Instant,
    pub next_timeout: Option<Instant>,
    /// The nominated client address and liveness, kept outside the connection (see `ice_path`).
    pub path: IcePath,
}

/// Hands keyframe requests and bitrate estimates from peers to the engine; without it the
/// interceptor chain swallows inbound RTCP.
#[derive(Default)]
struct DeliverFeedback {
    reads: VecDeque<TaggedPacket>,
    writes: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for DeliverFeedback {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = RtcError;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), RtcError> {
        if matches!(msg.message.packet, Packet::Rtcp(_)) {
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.reads.push_back(msg);
        Ok(())
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.reads.pop_front()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), RtcError> {
        self.writes.push_back(msg);
        Ok(())
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.writes.pop_front()
    }
    fn handle_timeout(&mut self, _now: Instant) -> Result<(), RtcError> {
        Ok(())
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }
}

impl Interceptor for DeliverFeedback {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// The RTCP feedback type of NACK and PLI (RFC 4585); `rtc` keeps its constant private.
const RTCP_FB_NACK: &str = "nack";

/// What a connection that only receives from us needs: retransmissions on NACK (and the
/// feedback types that ask for them and for keyframes) and sender reports for lip sync; no NACK
/// generator, receiver reports or transport-wide feedback, since it sends us no media.
fn sending_interceptors(registry: Registry, media: &mut MediaEngine) -> Registry {
    for parameter in ["", "pli"] {
        media.register_feedback(
            RTCPFeedback {
                typ: RTCP_FB_NACK.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    registry
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(Slot::SenderReport, SenderReportBuilder::new().build())
}

/// Builds the server side of a peer connection: ICE-lite with our credentials (liveness and the
/// nominated address are `ice_path`'s), one host
/// candidate (the advertised address of the shared socket), no mDNS, NACK/RTX, RTCP reports and
/// transport-wide congestion control feedback, and the audio-level header extension. A
/// receive-only connection (a live stream viewer) gets only the interceptors of what it
/// receives from us: every interceptor moves each forwarded packet once more.
pub fn new_connection(
    now: Instant,
    ufrag: &str,
    pwd: &str,
    advertised: SocketAddr,
    receive_only: bool,
    answering_dtls_role: RTCDtlsRole,
) -> Result<RTCPeerConnection, RtcError> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.into(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    let registry = Registry::new().with(Slot::from(14_000), DeliverFeedback::default());
    let registry = match receive_only {
        true => sending_interceptors(registry, &mut media),
        false => register_default_interceptors(registry, &mut media)?,
    };
    let settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_ice_credentials(ufrag.to_string(), pwd.to_string())
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_answering_dtls_role(answering_dtls_role)
        // Zero turns the connection's own disconnected/failed timers off: they watch only the
        // first nominated pair, so `ice_path` judges liveness instead.
        .with_ice_timeouts(
            Some(Duration::ZERO),
            Some(Duration::ZERO),
            Some(Duration::from_secs(2)),
        )
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .build(now)?;
    crate::udp::add_host_candidate(&mut pc, advertised)?;
    Ok(pc)
}
