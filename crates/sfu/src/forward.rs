//! Forwarding: published tracks, subscriptions and their negotiation, RTP rewriting, keyframe
//! requests and bitrate caps.

use std::time::{Duration, Instant};

use rtc::{
    media_stream::MediaStreamTrack,
    peer_connection::event::RTCTrackEventInit,
    rtcp::payload_feedbacks::{
        full_intra_request::FullIntraRequest, picture_loss_indication::PictureLossIndication,
        receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate,
    },
    rtp_transceiver::{
        RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
        rtp_sender::{
            RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
            RtpCodecKind,
        },
    },
    shared::marshal::MarshalSize,
};

use super::{
    PeerId, PublishedTrack, RoomId, SfuEvent, TrackSource,
    engine::{Engine, Pending},
    peer::{AUDIO_LEVEL_URI, Peer, Published, Subscription},
    stats::KeyframeCause,
};

/// Keyframe requests to one publisher track are spaced at least this much.
const PLI_SPACING: Duration = Duration::from_millis(300);

impl Engine {
    /// Records a track a peer started sending; returns its track id.
    pub(super) fn open_published(&mut self, peer: &mut Peer, init: RTCTrackEventInit) -> String {
        self.next_track += 1;
        let forwarded_id = format!("t{}", self.next_track);
        let (kind, codec, audio_level_ext) = match peer.pc.rtp_receiver(init.receiver_id) {
            Some(mut receiver) => {
                let kind = receiver.track().kind();
                let codec = receiver.track().codec(init.ssrc).cloned();
                let params = receiver.get_parameters();
                let codec = codec.or_else(|| {
                    params
                        .rtp_parameters
                        .codecs
                        .first()
                        .map(|c| c.rtp_codec.clone())
                });
                let ext = params
                    .rtp_parameters
                    .header_extensions
                    .iter()
                    .find(|e| e.uri == AUDIO_LEVEL_URI)
                    .and_then(|e| u8::try_from(e.id).ok());
                (kind, codec, ext)
            }
            None => (RtpCodecKind::Video, None, None),
        };
        let default_source = if kind == RtpCodecKind::Audio {
            TrackSource::Microphone
        } else {
            TrackSource::Camera
        };
        let source = peer
            .declared_sources
            .get(&init.track_id)
            .copied()
            .unwrap_or(default_source);
        let codec = codec.unwrap_or_default();
        self.forwarded_index
            .insert(forwarded_id.clone(), (peer.id, init.track_id.clone()));
        peer.published.insert(
            init.track_id.clone(),
            Published {
                receiver_id: init.receiver_id,
                kind,
                source,
                forwarded_id: forwarded_id.into(),
                media_ssrc: Some(init.ssrc),
                mime: (!codec.mime_type.is_empty()).then(|| codec.mime_type.clone()),
                clock_rate: codec.clock_rate,
                channels: codec.channels,
                fmtp: codec.sdp_fmtp_line.clone(),
                audio_level_ext,
                last_pli: None,
            },
        );
        init.track_id
    }

    /// An RTP packet arrived from a publisher: note its audio level, queue it for forwarding.
    pub(super) fn on_rtp(
        &mut self,
        peer: &mut Peer,
        track_id: &str,
        packet: rtc::rtp::Packet,
        pending: &mut Vec<Pending>,
    ) {
        self.stats.totals.rtp_in += 1;
        let Some(published) = peer.published.get(track_id) else {
            self.stats.totals.dropped_unpublished += 1;
            return;
        };
        if published.kind == RtpCodecKind::Audio {
            if peer.forced_audio_mute {
                self.stats.totals.dropped_muted += 1;
                return;
            }
            if let Some(level) = published
                .audio_level_ext
                .and_then(|id| packet.header.get_extension(id))
                .and_then(|b| b.first().copied())
                && let Some(room) = self.rooms.get_mut(&peer.room)
            {
                room.speaker.observe(peer.id, level & 0x7f);
            }
        }
        pending.push(Pending::Rtp {
            forwarded_id: published.forwarded_id.clone(),
            packet,
        });
    }

    /// Copies a packet to every ready subscriber of the track, rewritten for its leg. Allocates
    /// nothing per packet: the payload is shared, the header has no extension list left to copy,
    /// and the room's member list is read in place.
    pub(super) fn forward(
        &mut self,
        publisher: PeerId,
        forwarded_id: &str,
        mut packet: rtc::rtp::Packet,
        now: Instant,
    ) {
        // Extension ids differ per leg; the forwarded stream carries none. Dropped once here, so
        // each subscriber's copy below clones an empty list.
        packet.header.extension = false;
        packet.header.extensions.clear();
        packet.header.extension_profile = 0;
        let Some(room) = self.peers.get(&publisher).map(|p| &p.room) else {
            return;
        };
        let Some(members) = self.rooms.get(room).map(|r| &r.peers) else {
            return;
        };
        for &id in members {
            if id == publisher {
                continue;
            }
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            let Some(sub) = peer.subscriptions.get(forwarded_id) else {
                continue;
            };
            let (Some(pt), true) = (sub.payload_type, sub.ready) else {
                continue;
            };
            let mut copy = packet.clone();
            copy.header.ssrc = sub.ssrc;
            copy.header.payload_type = pt;
            let sender_id = sub.sender_id;
            let bytes = copy.marshal_size() as u64;
            if let Some(mut sender) = peer.pc.rtp_sender(sender_id)
                && sender.write_rtp(now, copy).is_ok()
            {
                self.stats.totals.forwarded_packets += 1;
                self.stats.totals.forwarded_bytes += bytes;
                self.batch_forwarded += 1;
                self.dirty.push(id);
            }
        }
    }

    /// RTCP from a subscriber about a forwarded track: keyframe requests go to the publisher,
    /// bitrate estimates are kept for the publisher's cap.
    pub(super) fn feedback(
        &mut self,
        subscriber: PeerId,
        forwarded_id: &str,
        packets: Vec<Box<dyn rtc::rtcp::Packet>>,
        now: Instant,
    ) {
        let mut wants_keyframe = false;
        for packet in &packets {
            let any = packet.as_any();
            if any.is::<PictureLossIndication>() {
                self.stats.totals.pli_received += 1;
                wants_keyframe = true;
            } else if any.is::<FullIntraRequest>() {
                self.stats.totals.fir_received += 1;
                wants_keyframe = true;
            } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>()
                && let Some(sub) = self
                    .peers
                    .get_mut(&subscriber)
                    .and_then(|p| p.subscriptions.get_mut(forwarded_id))
            {
                sub.remb = Some(remb.bitrate);
            }
        }
        if wants_keyframe
            && let Some((publisher, track)) = self.forwarded_index.get(forwarded_id).cloned()
        {
            self.request_keyframe(publisher, &track, KeyframeCause::Relayed, now);
        }
    }

    /// Sends a PLI to a publisher's video track, at most once per [`PLI_SPACING`].
    pub(super) fn request_keyframe(
        &mut self,
        publisher: PeerId,
        track_id: &str,
        cause: KeyframeCause,
        now: Instant,
    ) {
        let Some(peer) = self.peers.get_mut(&publisher) else {
            return;
        };
        let Some(published) = peer.published.get_mut(track_id) else {
            return;
        };
        if published.kind != RtpCodecKind::Video {
            return;
        }
        if published
            .last_pli
            .is_some_and(|t| now.duration_since(t) < PLI_SPACING)
        {
            self.stats.totals.keyframe_requests_coalesced += 1;
            return;
        }
        let (Some(ssrc), receiver_id) = (published.media_ssrc, published.receiver_id) else {
            return;
        };
        published.last_pli = Some(now);
        if let Some(mut receiver) = peer.pc.rtp_receiver(receiver_id) {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            };
            if receiver.write_rtcp(now, vec![Box::new(pli)]).is_ok() {
                self.stats.keyframe_sent(cause);
                self.dirty.push(publisher);
            }
        }
    }

    /// Caps every video publisher at the configured bitrate, or lower when a subscriber's
    /// receiver estimates less (REMB), so senders do not flood the slowest link.
    pub(super) fn send_bitrate_caps(&mut self, now: Instant) {
        let cap = self.config.max_video_bitrate as f32;
        let mut caps: Vec<(PeerId, String, f32)> = Vec::new();
        for peer in self.peers.values() {
            for (track_id, published) in &peer.published {
                if published.kind != RtpCodecKind::Video {
                    continue;
                }
                let lowest = self
                    .peers
                    .values()
                    .filter_map(|s| s.subscriptions.get(&*published.forwarded_id))
                    .filter_map(|s| s.remb)
                    .fold(cap, f32::min);
                caps.push((peer.id, track_id.clone(), lowest.max(64_000.0)));
            }
        }
        for (publisher, track_id, bitrate) in caps {
            let Some(peer) = self.peers.get_mut(&publisher) else {
                continue;
            };
            let Some(published) = peer.published.get(&track_id) else {
                continue;
            };
            let (Some(ssrc), receiver_id) = (published.media_ssrc, published.receiver_id) else {
                continue;
            };
            if let Some(mut receiver) = peer.pc.rtp_receiver(receiver_id) {
                let remb = ReceiverEstimatedMaximumBitrate {
                    sender_ssrc: 0,
                    bitrate,
                    ssrcs: vec![ssrc],
                };
                if receiver.write_rtcp(now, vec![Box::new(remb)]).is_ok() {
                    self.dirty.push(publisher);
                }
            }
        }
    }

    /// A publisher's new track: every other peer of the room subscribes to it.
    pub(super) fn track_published(&mut self, publisher: PeerId, track_id: &str, now: Instant) {
        for id in self
            .room_members(publisher)
            .into_iter()
            .filter(|id| *id != publisher)
        {
            self.subscribe(id, publisher, track_id);
        }
        self.request_keyframe(publisher, track_id, KeyframeCause::NewTrack, now);
    }

    /// A publisher stopped one track: subscribers drop it and renegotiate.
    pub(super) fn track_ended(&mut self, publisher: PeerId, track_id: &str, now: Instant) {
        let Some(peer) = self.peers.get_mut(&publisher) else {
            return;
        };
        let Some(published) = peer.published.remove(track_id) else {
            return;
        };
        let room = peer.room.clone();
        self.forwarded_index.remove(&*published.forwarded_id);
        self.unsubscribe_all(&room, publisher, &[published.forwarded_id.to_string()], now);
    }

    /// A newly negotiated peer subscribes to everything already published in its room.
    pub(super) fn subscribe_to_room(&mut self, subscriber: PeerId, _now: Instant) {
        for publisher in self
            .room_members(subscriber)
            .into_iter()
            .filter(|id| *id != subscriber)
        {
            let tracks: Vec<String> = self
                .peers
                .get(&publisher)
                .map(|p| p.published.keys().cloned().collect())
                .unwrap_or_default();
            for track in tracks {
                self.subscribe(subscriber, publisher, &track);
            }
        }
    }

    /// Adds a send-only transceiver for one forwarded track to a subscriber.
    fn subscribe(&mut self, subscriber: PeerId, publisher: PeerId, track_id: &str) {
        let Some(source) = self
            .peers
            .get(&publisher)
            .and_then(|p| p.published.get(track_id))
        else {
            return;
        };
        let Some(mime) = source.mime.clone() else {
            return;
        };
        let codec = RTCRtpCodec {
            mime_type: mime.clone(),
            clock_rate: source.clock_rate,
            channels: source.channels,
            sdp_fmtp_line: source.fmtp.clone(),
            rtcp_feedback: vec![],
        };
        let (kind, forwarded_id, track_source) =
            (source.kind, source.forwarded_id.to_string(), source.source);
        let Some(peer) = self.peers.get_mut(&subscriber) else {
            return;
        };
        if !peer.negotiated || peer.subscriptions.contains_key(&forwarded_id) {
            return;
        }
        let ssrc = rand::random::<u32>();
        let stream_id = format!("p{publisher}");
        let track = MediaStreamTrack::new(
            stream_id.clone(),
            forwarded_id.clone(),
            forwarded_id.clone(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        );
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            streams: vec![stream_id.clone()],
            send_encodings: vec![],
        };
        match peer.pc.add_transceiver_from_track(track, Some(init)) {
            Ok(transceiver) => {
                peer.subscriptions.insert(
                    forwarded_id.clone(),
                    Subscription {
                        publisher,
                        publisher_track: track_id.to_string(),
                        sender_id: RTCRtpSenderId::from(transceiver),
                        ssrc,
                        mime,
                        payload_type: None,
                        offered: false,
                        ready: false,
                        remb: None,
                    },
                );
                peer.needs_offer = true;
                let kind = if kind == RtpCodecKind::Audio {
                    "audio"
                } else {
                    "video"
                };
                let _ = peer.events.send(SfuEvent::TrackAdded(PublishedTrack {
                    publisher,
                    stream_id,
                    track_id: forwarded_id,
                    kind: kind.into(),
                    source: track_source,
                }));
            }
            Err(err) => tracing::warn!(%subscriber, %err, "cannot add forwarded track"),
        }
    }

    /// Sends a server offer to every peer whose subscriptions changed and that is not mid-exchange.
    pub(super) fn negotiate_pending(&mut self, now: Instant) {
        let ready: Vec<PeerId> = self
            .peers
            .values()
            .filter(|p| p.needs_offer && p.negotiated && !p.awaiting_answer)
            .map(|p| p.id)
            .collect();
        for id in ready {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            peer.needs_offer = false;
            let offer = match peer.pc.create_offer(None) {
                Ok(offer) => offer,
                Err(err) => {
                    tracing::warn!(peer = %id, %err, "cannot create offer");
                    continue;
                }
            };
            if let Err(err) = peer.pc.set_local_description(now, offer) {
                tracing::warn!(peer = %id, %err, "cannot apply local offer");
                continue;
            }
            let Some(sdp) = peer.pc.local_description().map(|d| d.sdp) else {
                continue;
            };
            for sub in peer.subscriptions.values_mut() {
                sub.offered = true;
            }
            peer.awaiting_answer = true;
            let _ = peer.events.send(SfuEvent::Offer(sdp));
            self.dirty.push(id);
        }
    }

    /// After a subscriber answered: its offered tracks start flowing, starting with a keyframe.
    pub(super) fn activate_offered(&mut self, subscriber: PeerId, now: Instant) {
        let Some(peer) = self.peers.get(&subscriber) else {
            return;
        };
        let waiting: Vec<(String, RTCRtpSenderId, String, String)> = peer
            .subscriptions
            .iter()
            .filter(|(_, s)| s.offered && !s.ready)
            .map(|(id, s)| {
                let fmtp = self
                    .peers
                    .get(&s.publisher)
                    .and_then(|p| p.published.get(&s.publisher_track))
                    .map(|p| p.fmtp.clone())
                    .unwrap_or_default();
                (id.clone(), s.sender_id, s.mime.clone(), fmtp)
            })
            .collect();
        let mut keyframes = Vec::new();
        let Some(peer) = self.peers.get_mut(&subscriber) else {
            return;
        };
        for (forwarded_id, sender_id, mime, fmtp) in waiting {
            // Same codec and parameters (H.264 profiles differ by fmtp), else the same codec.
            let pt = peer.pc.rtp_sender(sender_id).and_then(|mut sender| {
                let codecs = &sender.get_parameters().rtp_parameters.codecs;
                let same_mime =
                    |c: &&RTCRtpCodecParameters| c.rtp_codec.mime_type.eq_ignore_ascii_case(&mime);
                codecs
                    .iter()
                    .filter(same_mime)
                    .find(|c| c.rtp_codec.sdp_fmtp_line == fmtp)
                    .or_else(|| codecs.iter().find(same_mime))
                    .map(|c| c.payload_type)
            });
            if let Some(sub) = peer.subscriptions.get_mut(&forwarded_id) {
                sub.payload_type = pt;
                sub.ready = pt.is_some();
                if sub.ready {
                    keyframes.push((sub.publisher, sub.publisher_track.clone()));
                }
            }
        }
        for (publisher, track) in keyframes {
            self.request_keyframe(publisher, &track, KeyframeCause::NewSubscriber, now);
        }
    }

    /// A publisher left: its tracks are removed from every subscriber, which renegotiates.
    pub(super) fn unsubscribe_all(
        &mut self,
        room: &RoomId,
        publisher: PeerId,
        forwarded: &[String],
        _now: Instant,
    ) {
        for id in self.members_of(room) {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            for forwarded_id in forwarded {
                if let Some(sub) = peer.subscriptions.remove(forwarded_id) {
                    let _ = peer.pc.remove_track(sub.sender_id);
                    peer.needs_offer = true;
                    let _ = peer.events.send(SfuEvent::TrackRemoved {
                        publisher,
                        track_id: forwarded_id.clone(),
                    });
                }
            }
            self.dirty.push(id);
        }
    }
}
