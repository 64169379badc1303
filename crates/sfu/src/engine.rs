//! The SFU task: owns the UDP socket and every peer connection, and drives them sans-IO.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, HashSet},
    net::SocketAddr,
    time::{Duration, Instant},
};

use rtc::{
    peer_connection::{
        event::{RTCPeerConnectionEvent, RTCTrackEvent},
        message::RTCMessage,
        sdp::RTCSessionDescription,
        state::{RTCIceConnectionState, RTCPeerConnectionState},
    },
    sansio::Protocol,
};
use tokio::{net::UdpSocket, sync::mpsc};

use super::{
    CloseReason, Command, PeerId, RoomId, SfuConfig, SfuError, SfuEvent,
    demux::Demux,
    ice_path::{IcePath, Liveness},
    peer,
    peer::Peer,
    speaker::SpeakerTracker,
    stats::{Collector, SfuStats},
};

/// A peer that has not connected by then is dropped.
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);
/// Room housekeeping period (dominant speaker, bitrate caps, reaping).
const TICK: Duration = Duration::from_millis(500);

/// Members of one room.
#[derive(Default)]
pub(super) struct Room {
    pub peers: Vec<PeerId>,
    pub speaker: SpeakerTracker,
}

/// Media work found while servicing one peer, done once its borrow ends.
pub(super) enum Pending {
    Rtp {
        // Shared, not copied: one of these is made for every packet received.
        forwarded_id: std::sync::Arc<str>,
        packet: rtc::rtp::Packet,
    },
    Feedback {
        forwarded_id: String,
        packets: Vec<Box<dyn rtc::rtcp::Packet>>,
    },
    NewTrack {
        track_id: String,
    },
    TrackEnded {
        track_id: String,
    },
    Lost(CloseReason),
}

pub(super) struct Engine {
    pub socket: UdpSocket,
    pub advertised: SocketAddr,
    pub config: SfuConfig,
    // Boxed: a peer connection is large, and peers move in and out of the map while serviced.
    pub peers: HashMap<PeerId, Box<Peer>>,
    pub rooms: HashMap<RoomId, Room>,
    pub demux: Demux,
    pub deadlines: BinaryHeap<Reverse<(Instant, PeerId)>>,
    pub dirty: Vec<PeerId>,
    pub stats: Collector,
    /// Forwarded track id → (publisher, publisher's track id).
    pub forwarded_index: HashMap<String, (PeerId, String)>,
    pub next_track: u64,
    pub batch_started: Option<Instant>,
    pub batch_forwarded: u64,
    /// The DTLS role the SFU takes in its answers: the server (`a=setup:passive`), so the client
    /// starts the handshake once its own ICE check succeeded. As the client, the SFU sent its
    /// ClientHello the moment it answered the nominating check, before the client had seen that
    /// answer; the client dropped it, and every join waited for the 200 ms retransmission.
    pub answering_dtls_role: rtc::peer_connection::transport::RTCDtlsRole,
}

/// Binds the socket and starts the engine on its own thread (media work stays off the HTTP
/// runtime, and its CPU time can be measured); returns the advertised address.
pub(super) async fn spawn(
    config: SfuConfig,
    inbox: mpsc::UnboundedReceiver<Command>,
) -> anyhow::Result<SocketAddr> {
    let std_socket = std::net::UdpSocket::bind(config.udp)?;
    std_socket.set_nonblocking(true)?;
    let bound = std_socket.local_addr()?;
    let ip = match config.public_ip {
        Some(ip) => ip,
        None if bound.ip().is_unspecified() => {
            anyhow::bail!(
                "CONFAB_MEDIA_PUBLIC_IP must be set when CONFAB_MEDIA_UDP binds all interfaces"
            )
        }
        None => bound.ip(),
    };
    let advertised = SocketAddr::new(ip, bound.port());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("confab-sfu".into())
        .spawn(move || {
            runtime.block_on(async move {
                let socket = match UdpSocket::from_std(std_socket) {
                    Ok(socket) => socket,
                    Err(err) => {
                        tracing::error!(%err, "SFU socket unusable");
                        return;
                    }
                };
                let engine = Engine::new(socket, advertised, config);
                engine.run(inbox).await;
            });
        })?;
    tracing::info!(%bound, %advertised, "SFU listening");
    Ok(advertised)
}

impl Engine {
    pub(super) fn new(socket: UdpSocket, advertised: SocketAddr, config: SfuConfig) -> Self {
        Engine {
            socket,
            advertised,
            config,
            peers: HashMap::new(),
            rooms: HashMap::new(),
            demux: Demux::default(),
            deadlines: BinaryHeap::new(),
            dirty: Vec::new(),
            stats: Collector::default(),
            forwarded_index: HashMap::new(),
            next_track: 0,
            batch_started: None,
            batch_forwarded: 0,
            answering_dtls_role: rtc::peer_connection::transport::RTCDtlsRole::Server,
        }
    }

    async fn run(mut self, mut inbox: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 2048];
        let mut next_tick = Instant::now() + TICK;
        loop {
            let deadline = self
                .deadlines
                .peek()
                .map(|Reverse((at, _))| *at)
                .unwrap_or(next_tick)
                .min(next_tick);
            tokio::select! {
                command = inbox.recv() => match command {
                    Some(command) => self.command(command, Instant::now()),
                    None => break,
                },
                received = self.socket.recv_from(&mut buf) => {
                    let now = Instant::now();
                    self.batch_started = Some(now);
                    if let Ok((n, from)) = received {
                        self.datagram(from, &buf[..n], now);
                    }
                    // Drain what else is queued before servicing, so bursts are handled together.
                    for _ in 0..64 {
                        match self.socket.try_recv_from(&mut buf) {
                            Ok((n, from)) => self.datagram(from, &buf[..n], now),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = Instant::now();
                    self.timers(now);
                    if now >= next_tick {
                        self.tick(now);
                        next_tick = now + TICK;
                    }
                }
            }
            self.service_dirty(Instant::now());
        }
    }

    fn command(&mut self, command: Command, now: Instant) {
        match command {
            Command::Join {
                room,
                peer,
                events,
                receive_only,
                reply,
            } => {
                let _ = reply.send(self.join(room, peer, events, receive_only, now));
            }
            Command::Offer {
                peer,
                sdp,
                sources,
                reply,
            } => {
                let _ = reply.send(self.client_offer(peer, sdp, sources, now));
            }
            Command::Answer { peer, sdp, reply } => {
                let _ = reply.send(self.client_answer(peer, sdp, now));
            }
            Command::Leave { peer } => self.remove_peer(peer, None, now),
            Command::ForceMute { peer, muted } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.forced_audio_mute = muted;
                }
            }
            Command::EndRoom { room } => {
                for peer in self.members_of(&room) {
                    self.remove_peer(peer, None, now);
                }
            }
            Command::Stats { reply, percentiles } => {
                let _ = reply.send(self.snapshot(percentiles));
            }
        }
    }

    /// The collector's totals with the current gauges.
    pub(super) fn snapshot(&self, percentiles: bool) -> SfuStats {
        let mut stats = self.stats.snapshot(percentiles);
        stats.peers = self.peers.len();
        stats.rooms = self.rooms.len();
        stats.published_tracks = self.peers.values().map(|p| p.published.len()).sum();
        stats.subscriptions = self.peers.values().map(|p| p.subscriptions.len()).sum();
        stats
    }

    pub(super) fn join(
        &mut self,
        room: RoomId,
        id: PeerId,
        events: mpsc::UnboundedSender<SfuEvent>,
        receive_only: bool,
        now: Instant,
    ) -> Result<(), SfuError> {
        if self.peers.contains_key(&id) {
            return Err(SfuError::DuplicatePeer);
        }
        // The ufrag starts with the peer id so that logs name the peer; both are ICE characters.
        let ufrag = format!("cf{id:x}{}", ice_chars(8));
        let pwd = ice_chars(32);
        let pc = peer::new_connection(
            now,
            &ufrag,
            &pwd,
            self.advertised,
            receive_only,
            self.answering_dtls_role,
        )
        .map_err(|e| SfuError::BadDescription(e.to_string()))?;
        self.demux.add_peer(&ufrag, id);
        self.rooms.entry(room.clone()).or_default().peers.push(id);
        self.peers.insert(
            id,
            Box::new(Peer {
                id,
                room,
                pc,
                events,
                ufrag,
                published: HashMap::new(),
                declared_sources: HashMap::new(),
                subscriptions: HashMap::new(),
                awaiting_answer: false,
                needs_offer: false,
                negotiated: false,
                connected: false,
                forced_audio_mute: false,
                receive_only,
                joined_at: now,
                next_timeout: None,
                path: IcePath::default(),
            }),
        );
        Ok(())
    }

    pub(super) fn client_offer(
        &mut self,
        id: PeerId,
        sdp: String,
        sources: HashMap<String, super::TrackSource>,
        now: Instant,
    ) -> Result<String, SfuError> {
        let peer = self.peers.get_mut(&id).ok_or(SfuError::UnknownPeer)?;
        let bad = |e: rtc::shared::error::Error| SfuError::BadDescription(e.to_string());
        let offer = RTCSessionDescription::offer(sdp).map_err(bad)?;
        if peer.awaiting_answer {
            // Both sides offered at once: the server yields, and offers again afterwards.
            let rollback = RTCSessionDescription::rollback(None).map_err(bad)?;
            peer.pc.set_local_description(now, rollback).map_err(bad)?;
            peer.awaiting_answer = false;
            // Whatever the withdrawn offer carried (new tracks or removals) is offered again.
            peer.needs_offer = true;
            for sub in peer.subscriptions.values_mut().filter(|s| !s.ready) {
                sub.offered = false;
            }
        }
        peer.declared_sources.extend(sources);
        peer.pc.set_remote_description(now, offer).map_err(bad)?;
        let answer = peer.pc.create_answer(None).map_err(bad)?;
        peer.pc.set_local_description(now, answer).map_err(bad)?;
        let sdp = peer
            .pc
            .local_description()
            .map(|d| d.sdp)
            .ok_or_else(|| SfuError::BadDescription("no local description".into()))?;
        let first = !peer.negotiated;
        peer.negotiated = true;
        // A published track whose m-line no longer receives was stopped by the client.
        let stopped: Vec<String> = peer
            .published
            .iter()
            .map(|(track_id, p)| (track_id.clone(), p.receiver_id))
            .collect::<Vec<_>>()
            .into_iter()
            .filter(|(_, receiver)| peer.pc.rtp_receiver(*receiver).is_none())
            .map(|(track_id, _)| track_id)
            .collect();
        self.dirty.push(id);
        for track_id in stopped {
            self.track_ended(id, &track_id, now);
        }
        if first {
            self.subscribe_to_room(id, now);
        }
        Ok(sdp)
    }

    fn client_answer(&mut self, id: PeerId, sdp: String, now: Instant) -> Result<(), SfuError> {
        let peer = self.peers.get_mut(&id).ok_or(SfuError::UnknownPeer)?;
        if !peer.awaiting_answer {
            return Err(SfuError::BadDescription(
                "no offer is waiting for an answer".into(),
            ));
        }
        let answer = RTCSessionDescription::answer(sdp)
            .map_err(|e| SfuError::BadDescription(e.to_string()))?;
        peer.pc
            .set_remote_description(now, answer)
            .map_err(|e| SfuError::BadDescription(e.to_string()))?;
        peer.awaiting_answer = false;
        self.dirty.push(id);
        self.activate_offered(id, now);
        Ok(())
    }

    pub(super) fn datagram(&mut self, from: SocketAddr, data: &[u8], now: Instant) {
        self.stats.totals.datagrams_in += 1;
        self.stats.totals.received_bytes += data.len() as u64;
        let Some(id) = self.demux.route(from, data) else {
            self.stats.totals.dropped_unrouted += 1;
            return;
        };
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.path.inbound(now, from, data);
        let _ = peer
            .pc
            .handle_read(crate::udp::inbound(now, self.advertised, from, data));
        self.dirty.push(id);
    }

    pub(super) fn timers(&mut self, now: Instant) {
        while let Some(Reverse((at, id))) = self.deadlines.peek().copied() {
            if at > now {
                break;
            }
            self.deadlines.pop();
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            if peer.next_timeout != Some(at) {
                continue; // superseded entry
            }
            peer.next_timeout = None;
            if peer.pc.handle_timeout(now).is_err() {
                tracing::debug!(peer = %id, "peer connection timer failed");
            }
            self.dirty.push(id);
        }
    }

    /// Services every peer touched since the last pass, until nothing more happens.
    pub(super) fn service_dirty(&mut self, now: Instant) {
        let mut rounds = 0;
        while !self.dirty.is_empty() && rounds < 8 {
            rounds += 1;
            let batch: HashSet<PeerId> = self.dirty.drain(..).collect();
            for id in batch {
                self.service(id, now);
            }
            self.negotiate_pending(now);
        }
        if let Some(started) = self.batch_started.take()
            && self.batch_forwarded > 0
        {
            self.stats.latency(started.elapsed(), self.batch_forwarded);
        }
        self.batch_forwarded = 0;
    }

    fn service(&mut self, id: PeerId, now: Instant) {
        let Some(mut peer) = self.peers.remove(&id) else {
            return;
        };
        let mut pending = Vec::new();
        loop {
            let mut progressed = false;
            while let Some(event) = peer.pc.poll_event() {
                progressed = true;
                self.on_event(&mut peer, event, &mut pending);
            }
            while let Some(message) = peer.pc.poll_read() {
                progressed = true;
                match message.message {
                    RTCMessage::RtpPacket(track_id, packet) => {
                        self.on_rtp(&mut peer, &track_id, packet, &mut pending)
                    }
                    RTCMessage::RtcpPacket(track_id, packets) => pending.push(Pending::Feedback {
                        forwarded_id: track_id,
                        packets,
                    }),
                    _ => {}
                }
            }
            while let Some(out) = peer.pc.poll_write() {
                progressed = true;
                let sent = peer
                    .path
                    .outbound(now, out.transport.peer_addr, &out.message);
                if sent.renominated {
                    self.stats.totals.ice_renominations += 1;
                    tracing::info!(peer = %id, to = %sent.to, "client nominated another address; media follows");
                }
                // The connection only writes to addresses it accepted: bind them for routing.
                if self.demux.route(sent.to, &[]) != Some(id) {
                    self.demux.bind_addr(sent.to, id);
                }
                if self.socket.try_send_to(&out.message, sent.to).is_err() {
                    self.stats.totals.dropped_send_failed += 1;
                }
            }
            if !progressed {
                break;
            }
        }
        let next = peer.pc.poll_timeout();
        if next != peer.next_timeout
            && let Some(at) = next
        {
            self.deadlines.push(Reverse((at, id)));
        }
        peer.next_timeout = next;
        self.peers.insert(id, peer);
        for work in pending {
            match work {
                Pending::Rtp {
                    forwarded_id,
                    packet,
                } => self.forward(id, &forwarded_id, packet, now),
                Pending::Feedback {
                    forwarded_id,
                    packets,
                } => self.feedback(id, &forwarded_id, packets, now),
                Pending::NewTrack { track_id } => self.track_published(id, &track_id, now),
                Pending::TrackEnded { track_id } => self.track_ended(id, &track_id, now),
                Pending::Lost(reason) => self.remove_peer(id, Some(reason), now),
            }
        }
    }

    fn on_event(
        &mut self,
        peer: &mut Peer,
        event: RTCPeerConnectionEvent,
        pending: &mut Vec<Pending>,
    ) {
        match event {
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => match state {
                RTCPeerConnectionState::Connected => peer.connected = true,
                RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                    pending.push(Pending::Lost(CloseReason::ConnectionLost))
                }
                _ => {}
            },
            RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(
                RTCIceConnectionState::Failed,
            ) => pending.push(Pending::Lost(CloseReason::ConnectionLost)),
            // Its own timers are off (`ice_path` watches liveness), so this should not come;
            // if it does, it is counted like ours.
            RTCPeerConnectionEvent::OnIceConnectionStateChangeEvent(
                RTCIceConnectionState::Disconnected,
            ) => {
                self.stats.totals.ice_disconnects += 1;
                tracing::info!(peer = %peer.id, "ICE disconnected (connection's own timer)");
            }
            // A receive-only peer's tracks are never opened: its packets then find no published
            // track and are dropped on arrival.
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init))
                if !peer.receive_only && !peer.published.contains_key(&init.track_id) =>
            {
                let track_id = self.open_published(peer, init);
                pending.push(Pending::NewTrack { track_id });
            }
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnClose(track_id)) => {
                pending.push(Pending::TrackEnded { track_id })
            }
            _ => {}
        }
    }

    /// Every half second: dominant speakers, bitrate caps, reaping peers that never connected.
    pub(super) fn tick(&mut self, now: Instant) {
        let mut announcements = Vec::new();
        for (name, room) in &mut self.rooms {
            if let Some(speaker) = room.speaker.evaluate() {
                announcements.push((name.clone(), speaker));
            }
        }
        for (room, speaker) in announcements {
            self.broadcast(&room, SfuEvent::DominantSpeaker(speaker));
        }
        self.send_bitrate_caps(now);
        let stale: Vec<PeerId> = self
            .peers
            .values()
            .filter(|p| !p.connected && now.duration_since(p.joined_at) > CONNECT_DEADLINE)
            .map(|p| p.id)
            .collect();
        for id in stale {
            self.remove_peer(id, Some(CloseReason::NeverConnected), now);
        }
        self.check_liveness(now);
    }

    /// Counts peers that went silent or came back, and removes those silent for too long.
    fn check_liveness(&mut self, now: Instant) {
        let mut failed = Vec::new();
        for peer in self.peers.values_mut() {
            let before = peer.path.liveness();
            match peer.path.check(now) {
                Some(Liveness::Disconnected) => {
                    self.stats.totals.ice_disconnects += 1;
                    tracing::info!(
                        peer = %peer.id,
                        "ICE disconnected: nothing heard from the client"
                    );
                }
                Some(Liveness::Alive) if before == Liveness::Disconnected => {
                    tracing::info!(peer = %peer.id, "ICE connected again");
                }
                Some(Liveness::Failed) => failed.push(peer.id),
                _ => {}
            }
        }
        for id in failed {
            self.stats.totals.ice_failures += 1;
            tracing::info!(peer = %id, "ICE failed: the client stayed silent");
            self.remove_peer(id, Some(CloseReason::ConnectionLost), now);
        }
    }

    /// A copy of a room's member list, for work that changes peers while it walks the room (the
    /// per-packet fan-out reads the list in place instead).
    pub(super) fn members_of(&self, room: &RoomId) -> Vec<PeerId> {
        self.rooms
            .get(room)
            .map(|r| r.peers.clone())
            .unwrap_or_default()
    }

    /// The members of `peer`'s room.
    pub(super) fn room_members(&self, peer: PeerId) -> Vec<PeerId> {
        self.peers
            .get(&peer)
            .map(|p| self.members_of(&p.room))
            .unwrap_or_default()
    }

    pub(super) fn broadcast(&self, room: &RoomId, event: SfuEvent) {
        let Some(room) = self.rooms.get(room) else {
            return;
        };
        for id in &room.peers {
            if let Some(peer) = self.peers.get(id) {
                let _ = peer.events.send(event.clone());
            }
        }
    }

    /// Removes a peer and everything forwarded from it; tells it why when it did not ask.
    pub(super) fn remove_peer(&mut self, id: PeerId, reason: Option<CloseReason>, now: Instant) {
        let Some(mut peer) = self.peers.remove(&id) else {
            return;
        };
        if let Some(reason) = reason {
            let _ = peer.events.send(SfuEvent::Closed(reason));
        }
        let _ = peer.pc.close();
        while let Some(out) = peer.pc.poll_write() {
            let sent = peer
                .path
                .outbound(now, out.transport.peer_addr, &out.message);
            let _ = self.socket.try_send_to(&out.message, sent.to);
        }
        self.demux.remove_peer(&peer.ufrag, id);
        let forwarded: Vec<String> = peer
            .published
            .values()
            .map(|p| p.forwarded_id.to_string())
            .collect();
        for forwarded_id in &forwarded {
            self.forwarded_index.remove(forwarded_id);
        }
        let room_empty = match self.rooms.get_mut(&peer.room) {
            Some(room) => {
                room.peers.retain(|p| *p != id);
                room.speaker.forget(id);
                room.peers.is_empty()
            }
            None => true,
        };
        if room_empty {
            self.rooms.remove(&peer.room);
        } else {
            self.unsubscribe_all(&peer.room, id, &forwarded, now);
        }
    }
}

/// `len` random letters and digits: valid ICE ufrag/password characters (RFC 8445 `ice-char`);
/// 32 of them carry 190 bits.
fn ice_chars(len: usize) -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
