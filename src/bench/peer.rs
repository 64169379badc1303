//! One WebRTC peer connection of a bot, built on the sans-IO `rtc` core with its own UDP socket:
//! it publishes synthetic VP8-framed RTP at a fixed rate or only receives, and measures the
//! delay of every packet it receives from the stamp its sender wrote into the payload.
//!
//! Signalling is someone else's job: descriptions come and go over channels, so the same media
//! path serves every server the benchmark drives.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use anyhow::Context;
use bytes::Bytes;
use rtc::{
    ice::mdns::MulticastDnsMode,
    interceptor::Registry,
    media_stream::MediaStreamTrack,
    peer_connection::{
        RTCPeerConnection, RTCPeerConnectionBuilder,
        configuration::{
            RTCConfigurationBuilder, media_engine::MediaEngine,
            setting_engine::SettingEngineBuilder,
        },
        event::RTCPeerConnectionEvent,
        message::RTCMessage,
        sdp::RTCSessionDescription,
        state::RTCPeerConnectionState,
    },
    rtp_transceiver::{
        RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
        rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind},
    },
    sansio::Protocol,
};
use tokio::{
    net::UdpSocket,
    sync::{mpsc, oneshot},
};

/// A session description travelling between a peer and its signalling.
#[derive(Debug, Clone)]
pub enum Description {
    Offer(String),
    Answer(String),
}

/// How a peer connection starts.
#[derive(Debug, Clone, Copy)]
pub enum Role {
    /// Offers one video track and publishes at this many packets per second.
    Publish { pps: u32 },
    /// Offers one receive-only video transceiver.
    OfferToReceive,
    /// Waits for the server's offer and answers it (a server that offers its streams).
    AnswerToReceive,
}

/// The measured window, fixed once every bot has been started.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub count_from: Instant,
    pub until: Instant,
}

/// Set once by the benchmark; peers count packets only inside it and stop at its end.
pub type SharedWindow = Arc<OnceLock<Window>>;

/// What one peer connection measured inside the window.
#[derive(Debug, Default, Clone)]
pub struct PeerReport {
    /// When the connection first reached `connected`.
    pub connected_at: Option<Instant>,
    pub sent: u64,
    pub received: u64,
    /// Send-to-receive delay of each received packet, microseconds.
    pub latencies_us: Vec<u32>,
}

/// The end of every payload: a marker, then the send time in nanoseconds since [`epoch`].
const STAMP_MAGIC: [u8; 4] = *b"CFBS";
const STAMP_LEN: usize = 12;

/// One clock for every bot of the process, so a stamp written by one bot is read by another.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Writes the send time into the payload's last bytes; the first byte stays a VP8 descriptor.
fn stamp(payload: &mut [u8], at: Instant) {
    let nanos = u64::try_from(at.duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX);
    let start = payload.len() - STAMP_LEN;
    payload[start..start + 4].copy_from_slice(&STAMP_MAGIC);
    payload[start + 4..].copy_from_slice(&nanos.to_be_bytes());
}

/// The delay since the stamp in a received payload, if it carries one.
fn delay_since_stamp(payload: &[u8], now: Instant) -> Option<Duration> {
    let start = payload.len().checked_sub(STAMP_LEN)?;
    if payload[start..start + 4] != STAMP_MAGIC {
        return None;
    }
    let nanos = u64::from_be_bytes(payload[start + 4..].try_into().ok()?);
    let sent = epoch() + Duration::from_nanos(nanos);
    Some(now.saturating_duration_since(sent))
}

/// Where bots bind when nothing else is asked.
pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Smallest payload that holds the VP8 descriptor and the stamp.
pub const MIN_PAYLOAD: usize = STAMP_LEN + 4;

fn build_connection(local: SocketAddr) -> anyhow::Result<RTCPeerConnection> {
    let mut media = MediaEngine::default();
    media.register_default_codecs()?;
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(Registry::new())
        .build(Instant::now())?;
    crate::sfu::udp::add_host_candidate(&mut pc, local)?;
    Ok(pc)
}

fn add_video_track(
    pc: &mut RTCPeerConnection,
    name: &str,
    ssrc: u32,
) -> anyhow::Result<RTCRtpSenderId> {
    let track = MediaStreamTrack::new(
        "bench".into(),
        format!("{name}-video"),
        "video".into(),
        RtpCodecKind::Video,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: RTCRtpCodec {
                mime_type: "video/VP8".into(),
                clock_rate: 90_000,
                ..Default::default()
            },
            ..Default::default()
        }],
    );
    Ok(pc.add_track(track)?)
}

fn local_sdp(pc: &RTCPeerConnection) -> anyhow::Result<String> {
    pc.local_description()
        .map(|d| d.sdp)
        .context("no local description")
}

/// The signalling side of a peer connection.
pub struct Signals {
    /// This peer's descriptions, to the server.
    pub outgoing: mpsc::UnboundedSender<Description>,
    /// The server's descriptions.
    pub incoming: mpsc::UnboundedReceiver<Description>,
    /// Told once the connection is up.
    pub connected: Option<oneshot::Sender<()>>,
}

/// Runs one peer connection until the window ends, its socket bound to `local_ip`.
pub async fn run(
    name: String,
    local_ip: IpAddr,
    role: Role,
    payload_bytes: usize,
    window: SharedWindow,
    signals: Signals,
) -> anyhow::Result<PeerReport> {
    let Signals {
        outgoing,
        mut incoming,
        connected: mut connected_tx,
    } = signals;
    // The clock starts before any send time this peer will stamp.
    epoch();
    let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0)).await?;
    let local = socket.local_addr()?;
    let mut pc = build_connection(local)?;
    let ssrc = rand::random::<u32>();
    let (sender, pps) = match role {
        Role::Publish { pps } => (Some(add_video_track(&mut pc, &name, ssrc)?), Some(pps)),
        Role::OfferToReceive => {
            let init = RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                streams: vec![],
                send_encodings: vec![],
            };
            pc.add_transceiver_from_kind(RtpCodecKind::Video, Some(init))?;
            (None, None)
        }
        Role::AnswerToReceive => (None, None),
    };
    if !matches!(role, Role::AnswerToReceive) {
        let offer = pc.create_offer(None)?;
        pc.set_local_description(Instant::now(), offer)?;
        let _ = outgoing.send(Description::Offer(local_sdp(&pc)?));
    }

    let mut report = PeerReport::default();
    let mut connected = false;
    let mut payload_type = None;
    let mut sequence: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let interval = pps.map(|pps| Duration::from_secs_f64(1.0 / f64::from(pps.max(1))));
    let mut next_send = Instant::now();
    let mut payload = vec![0u8; payload_bytes.max(MIN_PAYLOAD)];
    payload[0] = 0x10; // VP8 payload descriptor: start of partition 0
    let mut buf = vec![0u8; 2048];
    let mut signalling_open = true;
    loop {
        let now = Instant::now();
        let window_now = window.get().copied();
        if window_now.is_some_and(|w| now >= w.until) {
            break;
        }
        let counting = window_now.is_some_and(|w| now >= w.count_from);
        // Drain the connection: events, reads, writes.
        loop {
            let mut progressed = false;
            while let Some(event) = pc.poll_event() {
                progressed = true;
                if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                    match state {
                        RTCPeerConnectionState::Connected => {
                            connected = true;
                            report.connected_at.get_or_insert_with(Instant::now);
                            if let Some(tx) = connected_tx.take() {
                                let _ = tx.send(());
                            }
                        }
                        RTCPeerConnectionState::Failed => anyhow::bail!("media connection failed"),
                        _ => {}
                    }
                }
            }
            while let Some(message) = pc.poll_read() {
                progressed = true;
                if let RTCMessage::RtpPacket(_, packet) = message.message
                    && counting
                {
                    report.received += 1;
                    if let Some(delay) = delay_since_stamp(&packet.payload, Instant::now()) {
                        report
                            .latencies_us
                            .push(u32::try_from(delay.as_micros()).unwrap_or(u32::MAX));
                    }
                }
            }
            while let Some(out) = pc.poll_write() {
                progressed = true;
                let _ = socket.try_send_to(&out.message, out.transport.peer_addr);
            }
            if !progressed {
                break;
            }
        }
        if let (Some(id), Some(step), true) = (sender, interval, connected) {
            if payload_type.is_none() {
                payload_type = pc.rtp_sender(id).and_then(|mut s| {
                    s.get_parameters()
                        .rtp_parameters
                        .codecs
                        .iter()
                        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("video/VP8"))
                        .map(|c| c.payload_type)
                });
            }
            while let Some(pt) = payload_type.filter(|_| Instant::now() >= next_send) {
                next_send += step;
                sequence = sequence.wrapping_add(1);
                timestamp = timestamp.wrapping_add(90_000 / pps.unwrap_or(30).max(1));
                let sent_at = Instant::now();
                stamp(&mut payload, sent_at);
                let packet = rtc::rtp::Packet {
                    header: rtc::rtp::header::Header {
                        version: 2,
                        marker: true,
                        payload_type: pt,
                        sequence_number: sequence,
                        timestamp,
                        ssrc,
                        ..Default::default()
                    },
                    payload: Bytes::copy_from_slice(&payload),
                };
                if let Some(mut s) = pc.rtp_sender(id)
                    && s.write_rtp(sent_at, packet).is_ok()
                    && window.get().is_some_and(|w| sent_at >= w.count_from)
                {
                    report.sent += 1;
                }
            }
            while let Some(out) = pc.poll_write() {
                let _ = socket.try_send_to(&out.message, out.transport.peer_addr);
            }
        }
        let timer = pc
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(50))
            .min(now + Duration::from_millis(50));
        let timer = match (sender, connected) {
            (Some(_), true) => timer.min(next_send),
            _ => timer,
        };
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                if let Ok((n, from)) = received {
                    let _ = pc.handle_read(crate::sfu::udp::inbound(Instant::now(), local, from, &buf[..n]));
                }
            }
            description = incoming.recv(), if signalling_open => match description {
                Some(Description::Answer(sdp)) => {
                    pc.set_remote_description(Instant::now(), RTCSessionDescription::answer(sdp)?)?;
                }
                Some(Description::Offer(sdp)) => {
                    pc.set_remote_description(Instant::now(), RTCSessionDescription::offer(sdp)?)?;
                    let answer = pc.create_answer(None)?;
                    pc.set_local_description(Instant::now(), answer)?;
                    let _ = outgoing.send(Description::Answer(local_sdp(&pc)?));
                }
                // Signalling ended: keep the media running to the end of the window.
                None => signalling_open = false,
            },
            _ = tokio::time::sleep_until(timer.into()) => {
                let _ = pc.handle_timeout(Instant::now());
            }
        }
    }
    let _ = pc.close();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_as_the_delay_since_it_was_written() {
        let mut payload = vec![0u8; 100];
        epoch();
        let sent = Instant::now();
        stamp(&mut payload, sent);
        let delay = delay_since_stamp(&payload, sent + Duration::from_micros(750));
        assert_eq!(delay, Some(Duration::from_micros(750)));
        assert_eq!(delay_since_stamp(&[0u8; 100], sent), None);
        assert_eq!(delay_since_stamp(&[0u8; 5], sent), None);
    }
}
