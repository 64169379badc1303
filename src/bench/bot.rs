//! A load-generating participant built on the sans-IO `rtc` core: it joins through the
//! signalling WebSocket, connects its own UDP socket, and publishes synthetic VP8-framed RTP at a
//! fixed rate or only receives.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use anyhow::Context;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use rtc::{
    ice::mdns::MulticastDnsMode,
    interceptor::Registry,
    media_stream::MediaStreamTrack,
    peer_connection::{
        RTCPeerConnectionBuilder,
        configuration::{
            RTCConfigurationBuilder, media_engine::MediaEngine,
            setting_engine::SettingEngineBuilder,
        },
        event::RTCPeerConnectionEvent,
        message::RTCMessage,
        sdp::RTCSessionDescription,
        state::RTCPeerConnectionState,
        transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit},
    },
    rtp_transceiver::{
        RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
        rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind},
    },
    sansio::Protocol,
    shared::{TaggedBytesMut, TransportContext, TransportProtocol},
};
use serde_json::{Value, json};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

/// What one bot measured.
#[derive(Debug, Default, Clone)]
pub struct BotReport {
    /// From opening the WebSocket to the media connection being up.
    pub join_time: Option<Duration>,
    pub sent: u64,
    pub received: u64,
}

/// How a bot behaves.
#[derive(Debug, Clone)]
pub struct BotPlan {
    pub server: SocketAddr,
    pub host: String,
    pub code: String,
    pub name: String,
    /// Packets per second to publish; `None` receives only.
    pub publish_pps: Option<u32>,
    /// Joins as a hidden live stream viewer.
    pub viewer: bool,
    pub payload_bytes: usize,
    /// Measurement window: packets are counted only inside it.
    pub count_from: Instant,
    pub until: Instant,
}

/// Runs one bot until `plan.until`.
pub async fn run(plan: BotPlan) -> anyhow::Result<BotReport> {
    let started = Instant::now();
    let mut request =
        format!("ws://{}/conf/call/{}/ws", plan.server, plan.code).into_client_request()?;
    request.headers_mut().insert("host", plan.host.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("signalling connection")?;
    let join = match plan.viewer {
        true => json!({"type": "join", "role": "viewer"}),
        false => json!({"type": "join", "name": plan.name}),
    };
    ws.send(Message::Text(join.to_string().into())).await?;

    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let local = socket.local_addr()?;
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
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".into(),
            address: local.ip().to_string(),
            port: local.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)?;
    pc.add_local_candidate(RTCIceCandidateInit::default())?;

    let ssrc = rand::random::<u32>();
    let sender: Option<RTCRtpSenderId> = match plan.publish_pps {
        Some(_) => {
            let track = MediaStreamTrack::new(
                "bench".into(),
                format!("{}-video", plan.name),
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
            Some(pc.add_track(track)?)
        }
        None => {
            let init = RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                streams: vec![],
                send_encodings: vec![],
            };
            pc.add_transceiver_from_kind(RtpCodecKind::Video, Some(init))?;
            None
        }
    };
    let offer = pc.create_offer(None)?;
    pc.set_local_description(Instant::now(), offer)?;
    let sdp = pc
        .local_description()
        .map(|d| d.sdp)
        .context("no local offer")?;

    let mut report = BotReport::default();
    let mut sent_offer = false;
    let mut connected = false;
    let mut payload_type = None;
    let mut sequence: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let interval = plan
        .publish_pps
        .map(|pps| Duration::from_secs_f64(1.0 / f64::from(pps.max(1))));
    let mut next_send = Instant::now();
    let payload = {
        let mut p = vec![0u8; plan.payload_bytes.max(16)];
        p[0] = 0x10; // VP8 payload descriptor: start of partition 0
        Bytes::from(p)
    };
    let mut buf = vec![0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= plan.until {
            break;
        }
        // Drain the connection: events, reads, writes.
        loop {
            let mut progressed = false;
            while let Some(event) = pc.poll_event() {
                progressed = true;
                if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = event {
                    match state {
                        RTCPeerConnectionState::Connected => {
                            connected = true;
                            report.join_time.get_or_insert(started.elapsed());
                        }
                        RTCPeerConnectionState::Failed => anyhow::bail!("media connection failed"),
                        _ => {}
                    }
                }
            }
            while let Some(message) = pc.poll_read() {
                progressed = true;
                if let RTCMessage::RtpPacket(..) = message.message
                    && now >= plan.count_from
                {
                    report.received += 1;
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
                timestamp = timestamp.wrapping_add(90_000 / plan.publish_pps.unwrap_or(30).max(1));
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
                    payload: payload.clone(),
                };
                if let Some(mut s) = pc.rtp_sender(id)
                    && s.write_rtp(Instant::now(), packet).is_ok()
                    && Instant::now() >= plan.count_from
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
                    let _ = pc.handle_read(TaggedBytesMut {
                        now: Instant::now(),
                        transport: TransportContext { local_addr: local, peer_addr: from, ecn: None, transport_protocol: TransportProtocol::UDP },
                        message: BytesMut::from(&buf[..n]),
                    });
                }
            }
            message = ws.next() => {
                let Some(Ok(Message::Text(text))) = message else {
                    if message.is_none() { anyhow::bail!("signalling closed") }
                    continue;
                };
                let value: Value = serde_json::from_str(text.as_str())?;
                match value["type"].as_str() {
                    Some("joined") if !sent_offer => {
                        sent_offer = true;
                        ws.send(Message::Text(json!({"type": "offer", "sdp": sdp}).to_string().into())).await?;
                    }
                    Some("answer") => {
                        let answer = RTCSessionDescription::answer(value["sdp"].as_str().unwrap_or_default().to_string())?;
                        pc.set_remote_description(Instant::now(), answer)?;
                    }
                    Some("offer") => {
                        let offer = RTCSessionDescription::offer(value["sdp"].as_str().unwrap_or_default().to_string())?;
                        pc.set_remote_description(Instant::now(), offer)?;
                        let answer = pc.create_answer(None)?;
                        pc.set_local_description(Instant::now(), answer)?;
                        let sdp = pc.local_description().map(|d| d.sdp).context("no local answer")?;
                        ws.send(Message::Text(json!({"type": "answer", "sdp": sdp}).to_string().into())).await?;
                    }
                    Some("error") => anyhow::bail!("server error: {}", value["message"]),
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(timer.into()) => {
                let _ = pc.handle_timeout(Instant::now());
            }
        }
    }
    let _ = ws
        .send(Message::Text(json!({"type": "leave"}).to_string().into()))
        .await;
    let _ = pc.close();
    Ok(report)
}
