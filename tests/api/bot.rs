//! A real WebRTC client (webrtc-rs) that joins a room through the signalling WebSocket,
//! publishes VP8 video and Opus audio from small fixture files, and counts what it receives.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
use webrtc::{
    media_stream::{
        Track,
        track_local::{TrackLocal, static_sample::TrackLocalStaticSample},
        track_remote::{TrackRemote, TrackRemoteEvent},
    },
    peer_connection::{
        MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
        RTCConfigurationBuilder, RTCIceGatheringState, RTCPeerConnectionState,
        RTCSessionDescription, Registry, SettingEngineBuilder, register_default_interceptors,
    },
};

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What a bot received on one remote track.
#[derive(Debug, Default, Clone)]
pub struct Received {
    pub kind: String,
    pub stream_id: String,
    pub packets: u64,
    pub vp8_keyframes: u64,
    pub first_packet: Option<Instant>,
}

#[derive(Default)]
struct Shared {
    tracks: Mutex<HashMap<String, Received>>,
    gathered: tokio::sync::Notify,
    connected: tokio::sync::Notify,
    state: Mutex<Option<RTCPeerConnectionState>>,
    packets: AtomicU64,
    /// RFC 6464 level put on outgoing audio (127 = silence).
    audio_level: std::sync::atomic::AtomicU8,
}

struct Handler(Arc<Shared>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.0.gathered.notify_one();
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        *self.0.state.lock().expect("state") = Some(state);
        if state == RTCPeerConnectionState::Connected {
            self.0.connected.notify_one();
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = self.0.clone();
        tokio::spawn(async move {
            let id = track.track_id().await;
            let stream_id = track.stream_id().await;
            let kind = format!("{}", track.kind().await);
            shared.tracks.lock().expect("tracks").insert(
                id.clone(),
                Received {
                    kind,
                    stream_id,
                    ..Default::default()
                },
            );
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    shared.packets.fetch_add(1, Ordering::Relaxed);
                    let mut tracks = shared.tracks.lock().expect("tracks");
                    if let Some(entry) = tracks.get_mut(&id) {
                        entry.packets += 1;
                        entry.first_packet.get_or_insert_with(Instant::now);
                        if is_vp8_keyframe_start(&packet.payload) {
                            entry.vp8_keyframes += 1;
                        }
                    }
                }
            }
        });
    }
}

/// Whether an RTP payload starts a VP8 key frame (RFC 7741 §4.2/4.3: S bit, partition 0, P bit
/// clear, and the key frame start code 9d 01 2a).
pub fn is_vp8_keyframe_start(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start_of_partition = first & 0x10 != 0 && first & 0x07 == 0;
    if !start_of_partition {
        return false;
    }
    let mut offset = 1;
    if first & 0x80 != 0 {
        let Some(&x) = payload.get(1) else {
            return false;
        };
        offset += 1;
        if x & 0x80 != 0 {
            let picture_id_long = payload.get(offset).is_some_and(|b| b & 0x80 != 0);
            offset += if picture_id_long { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            offset += 1;
        }
        if x & 0x30 != 0 {
            offset += 1;
        }
    }
    let frame = &payload[offset.min(payload.len())..];
    frame.len() >= 6 && frame[0] & 0x01 == 0 && frame[3..6] == [0x9d, 0x01, 0x2a]
}

/// A connected bot.
pub struct Bot {
    pub participant_id: String,
    pub role: String,
    pub pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    /// Messages from the server other than SDP (handled inside).
    pub events: mpsc::UnboundedReceiver<Value>,
    outgoing: mpsc::UnboundedSender<Value>,
    pub joined: Value,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Runtime running the media side (peer connection and senders) when it must be able to
    /// vanish on its own.
    media_runtime: Option<tokio::runtime::Runtime>,
}

/// Opens the signalling socket of a room as a browser on `host` would.
pub async fn connect_ws(addr: std::net::SocketAddr, host: &str, code: &str) -> Ws {
    let mut request = format!("ws://{addr}/conf/call/{code}/ws")
        .into_client_request()
        .expect("request");
    request
        .headers_mut()
        .insert("host", host.parse().expect("host"));
    let (ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    ws
}

/// Reads the next JSON message.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("message in time")
            .expect("open")
            .expect("ok");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).expect("json");
        }
    }
}

async fn new_peer_connection(shared: Arc<Shared>) -> Arc<dyn PeerConnection> {
    let mut media = MediaEngine::default();
    media.register_default_codecs().expect("codecs");
    media
        .register_header_extension(
            rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability {
                uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level".into(),
            },
            rtc::rtp_transceiver::rtp_sender::RtpCodecKind::Audio,
            None,
        )
        .expect("audio level extension");
    let registry =
        register_default_interceptors(Registry::new(), &mut media).expect("interceptors");
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Handler(shared)))
        .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
        .build()
        .await
        .expect("peer connection");
    Arc::new(pc)
}

fn local_track(
    kind: rtc::rtp_transceiver::rtp_sender::RtpCodecKind,
    mime: &str,
    clock_rate: u32,
    channels: u16,
    ssrc: u32,
    id: &str,
) -> Arc<TrackLocalStaticSample> {
    use rtc::rtp_transceiver::rtp_sender::{
        RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    };
    let track = rtc::media_stream::MediaStreamTrack::new(
        "bot".into(),
        id.into(),
        id.into(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: RTCRtpCodec {
                mime_type: mime.into(),
                clock_rate,
                channels,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: vec![],
            },
            ..Default::default()
        }],
    );
    Arc::new(TrackLocalStaticSample::new(Instant::now(), track).expect("track"))
}

/// Plays a fixture into a track in real time, looping, until the track stops taking samples:
/// VP8 frames from `video.ivf` every 66 ms, or Opus pages from `audio.ogg` every 20 ms carrying
/// the bot's current RFC 6464 audio level.
async fn play_fixture(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    pt: u8,
    video: bool,
    shared: Arc<Shared>,
) {
    use rtc::rtp::extension::{HeaderExtension, audio_level_extension::AudioLevelExtension};
    let (path, period) = if video {
        ("tests/fixtures/media/video.ivf", Duration::from_millis(66))
    } else {
        ("tests/fixtures/media/audio.ogg", Duration::from_millis(20))
    };
    let mut tick = tokio::time::interval(period);
    loop {
        let Ok(file) = std::fs::File::open(path) else {
            return;
        };
        let reader = std::io::BufReader::new(file);
        let mut next: Box<dyn FnMut() -> Option<bytes::Bytes> + Send> = if video {
            let Ok((mut ivf, _)) = rtc::media::io::ivf_reader::IVFReader::new(reader) else {
                return;
            };
            Box::new(move || ivf.parse_next_frame().ok().map(|(frame, _)| frame.freeze()))
        } else {
            let Ok((mut ogg, _)) = rtc::media::io::ogg_reader::OggReader::new(reader, true) else {
                return;
            };
            Box::new(move || ogg.parse_next_page().ok().map(|(page, _)| page.freeze()))
        };
        while let Some(data) = next() {
            tick.tick().await;
            let sample = rtc::media::Sample {
                data,
                duration: period,
                ..rtc::media::Sample::new(Instant::now())
            };
            let extensions = if video {
                vec![]
            } else {
                let level = shared.audio_level.load(Ordering::Relaxed);
                vec![HeaderExtension::AudioLevel(AudioLevelExtension {
                    level,
                    voice: level < 127,
                })]
            };
            if track
                .write_sample(ssrc, pt, &sample, &extensions)
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

impl Bot {
    /// Joins `code` on `host` as `name`, publishing video and audio when `publish` is set.
    pub async fn join(
        addr: std::net::SocketAddr,
        host: &str,
        code: &str,
        name: &str,
        moderator_pin: Option<&str>,
        publish: bool,
    ) -> Bot {
        let mut join = json!({"type": "join", "name": name});
        if let Some(pin) = moderator_pin {
            join["moderator_pin"] = json!(pin);
        }
        Self::join_on(addr, host, code, join, publish, None).await
    }

    /// Joins `code` as a hidden live stream viewer that only receives (audio and video).
    pub async fn watch(
        addr: std::net::SocketAddr,
        host: &str,
        code: &str,
        pin: Option<&str>,
    ) -> Bot {
        let mut join = json!({"type": "join", "role": "viewer"});
        if let Some(pin) = pin {
            join["pin"] = json!(pin);
        }
        Self::join_on(addr, host, code, join, false, None).await
    }

    /// Like [`Bot::join`], with the media side on its own runtime so that it can vanish.
    pub async fn join_vanishable(
        addr: std::net::SocketAddr,
        host: &str,
        code: &str,
        name: &str,
    ) -> Bot {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let join = json!({"type": "join", "name": name});
        Self::join_on(addr, host, code, join, true, Some(runtime)).await
    }

    async fn join_on(
        addr: std::net::SocketAddr,
        host: &str,
        code: &str,
        join: Value,
        publish: bool,
        media_runtime: Option<tokio::runtime::Runtime>,
    ) -> Bot {
        let viewer = join["role"] == "viewer";
        let mut ws = connect_ws(addr, host, code).await;
        ws.send(Message::Text(join.to_string().into()))
            .await
            .expect("send join");
        let joined = next_json(&mut ws).await;
        assert_eq!(joined["type"], "joined", "{joined}");
        let shared = Arc::new(Shared::default());
        shared.audio_level.store(127, Ordering::Relaxed);
        let pc = match &media_runtime {
            Some(runtime) => runtime
                .spawn(new_peer_connection(shared.clone()))
                .await
                .expect("media runtime"),
            None => new_peer_connection(shared.clone()).await,
        };
        let mut sources = serde_json::Map::new();
        let mut senders = Vec::new();
        if publish {
            use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
            let video = local_track(
                RtpCodecKind::Video,
                "video/VP8",
                90_000,
                0,
                rand::random(),
                "bot-video",
            );
            let audio = local_track(
                RtpCodecKind::Audio,
                "audio/opus",
                48_000,
                2,
                rand::random(),
                "bot-audio",
            );
            let video_sender = pc
                .add_track(video.clone() as Arc<dyn TrackLocal>)
                .await
                .expect("add video");
            let audio_sender = pc
                .add_track(audio.clone() as Arc<dyn TrackLocal>)
                .await
                .expect("add audio");
            sources.insert("bot-video".into(), json!("camera"));
            sources.insert("bot-audio".into(), json!("microphone"));
            senders.push((video, video_sender));
            senders.push((audio, audio_sender));
        } else if viewer {
            // Viewers must offer receive-only sections: the server refuses any that would send.
            use rtc::rtp_transceiver::{
                RTCRtpTransceiverDirection, RTCRtpTransceiverInit, rtp_sender::RtpCodecKind,
            };
            for kind in [RtpCodecKind::Video, RtpCodecKind::Audio] {
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                };
                pc.add_transceiver_from_kind(kind, Some(init))
                    .await
                    .expect("receive-only transceiver");
            }
        } else {
            use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
            pc.add_transceiver_from_kind(RtpCodecKind::Video, None)
                .await
                .expect("recv video");
        }
        let offer = pc.create_offer(None).await.expect("offer");
        pc.set_local_description(offer).await.expect("local offer");
        tokio::time::timeout(Duration::from_secs(5), shared.gathered.notified())
            .await
            .expect("gathered");
        let sdp = pc.local_description().await.expect("local description").sdp;
        ws.send(Message::Text(
            json!({"type": "offer", "sdp": sdp, "sources": sources})
                .to_string()
                .into(),
        ))
        .await
        .expect("send offer");

        let (events_tx, events) = mpsc::unbounded_channel();
        let (outgoing, mut outgoing_rx) = mpsc::unbounded_channel::<Value>();
        let mut tasks = Vec::new();
        let pc_for_ws = pc.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = ws.next() => {
                        let Some(Ok(message)) = message else { break };
                        let Message::Text(text) = message else { continue };
                        let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                        match value["type"].as_str() {
                            Some("answer") => {
                                let answer = RTCSessionDescription::answer(value["sdp"].as_str().unwrap_or_default().into()).expect("answer");
                                pc_for_ws.set_remote_description(answer).await.expect("remote answer");
                            }
                            Some("offer") => {
                                let offer = RTCSessionDescription::offer(value["sdp"].as_str().unwrap_or_default().into()).expect("offer");
                                pc_for_ws.set_remote_description(offer).await.expect("remote offer");
                                let answer = pc_for_ws.create_answer(None).await.expect("create answer");
                                pc_for_ws.set_local_description(answer).await.expect("local answer");
                                let sdp = pc_for_ws.local_description().await.expect("local").sdp;
                                let reply = json!({"type": "answer", "sdp": sdp}).to_string();
                                if ws.send(Message::Text(reply.into())).await.is_err() {
                                    break;
                                }
                            }
                            _ => {
                                let _ = events_tx.send(value);
                            }
                        }
                    }
                    Some(out) = outgoing_rx.recv() => {
                        if ws.send(Message::Text(out.to_string().into())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
        tokio::time::timeout(Duration::from_secs(10), shared.connected.notified())
            .await
            .expect("connected to the SFU");
        for (track, sender) in senders {
            let pt = sender
                .get_parameters()
                .await
                .expect("parameters")
                .rtp_parameters
                .codecs
                .first()
                .expect("codec")
                .payload_type;
            let ssrc = track.ssrcs().await.first().copied().expect("ssrc");
            let kind = track.kind().await;
            let levels = shared.clone();
            let spawner = media_runtime
                .as_ref()
                .map(|r| r.handle().clone())
                .unwrap_or_else(tokio::runtime::Handle::current);
            tasks.push(spawner.spawn(play_fixture(
                track,
                ssrc,
                pt,
                format!("{kind}") == "video",
                levels,
            )));
        }
        Bot {
            participant_id: joined["participant_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            role: joined["role"].as_str().unwrap_or_default().to_string(),
            pc,
            shared,
            events,
            outgoing,
            joined,
            tasks,
            media_runtime,
        }
    }

    /// Starts sharing a (fake) screen: a third track, announced as `screen`, negotiated by a new
    /// client offer. Returns its sender for [`Bot::stop_screen`].
    pub async fn share_screen(&mut self) -> Arc<dyn webrtc::rtp_transceiver::RtpSender> {
        use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
        let ssrc = rand::random();
        let track = local_track(
            RtpCodecKind::Video,
            "video/VP8",
            90_000,
            0,
            ssrc,
            "bot-screen",
        );
        let sender = self
            .pc
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .expect("add screen");
        self.renegotiate(json!({"bot-screen": "screen"})).await;
        let pt = sender
            .get_parameters()
            .await
            .expect("parameters")
            .rtp_parameters
            .codecs
            .first()
            .expect("codec")
            .payload_type;
        self.tasks.push(tokio::spawn(play_fixture(
            track,
            ssrc,
            pt,
            true,
            self.shared.clone(),
        )));
        sender
    }

    /// Stops sharing: the screen track is removed and renegotiated away.
    pub async fn stop_screen(&mut self, sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>) {
        self.pc.remove_track(&sender).await.expect("remove screen");
        self.renegotiate(json!({})).await;
    }

    async fn renegotiate(&mut self, sources: Value) {
        let offer = self.pc.create_offer(None).await.expect("offer");
        self.pc
            .set_local_description(offer)
            .await
            .expect("local offer");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sdp = self.pc.local_description().await.expect("local").sdp;
        self.send(json!({"type": "offer", "sdp": sdp, "sources": sources}));
    }

    /// Sets the loudness announced on outgoing audio (0 loudest, 127 silence).
    pub fn set_audio_level(&self, level: u8) {
        self.shared.audio_level.store(level, Ordering::Relaxed);
    }

    /// Sends a signalling message.
    pub fn send(&self, message: Value) {
        let _ = self.outgoing.send(message);
    }

    /// What arrived so far, by track id.
    pub fn received(&self) -> HashMap<String, Received> {
        self.shared.tracks.lock().expect("tracks").clone()
    }

    /// Waits for a server event of `kind` (skipping others); None after `timeout`.
    pub async fn wait_event(&mut self, kind: &str, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .ok()??;
            if event["type"] == kind {
                return Some(event);
            }
        }
    }

    /// Waits until `check` holds for what was received.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        check: impl Fn(&HashMap<String, Received>) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check(&self.received()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        check(&self.received())
    }

    /// Stops all media at once without a word to the server (as a client whose network
    /// dropped), while the signalling socket stays open.
    pub fn vanish_media(&mut self) {
        for task in self.tasks.iter().skip(1) {
            task.abort();
        }
        if let Some(runtime) = self.media_runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Closes the peer connection properly.
    pub async fn close(&self) {
        let _ = self.pc.close().await;
    }
}
