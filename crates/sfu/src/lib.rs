//! The media plane: one UDP socket, one task, every peer of every tenant.
//!
//! The engine (see `engine.rs`) owns the socket and all WebRTC peer connections (sans-IO `rtc`
//! core); everything else talks to it through [`SfuHandle`]: join, offer/answer, leave, mute,
//! kick, end. It knows rooms only as opaque keys and never touches the database.

mod demux;
mod engine;
mod forward;
mod ice_path;
mod peer;
#[cfg(test)]
mod renomination_test;
mod speaker;
pub mod stats;
pub mod udp;

use std::{collections::HashMap, net::SocketAddr};

use tokio::sync::{mpsc, oneshot};

pub use stats::{LATENCY_BUCKETS_US, LatencyHistogram, SfuStats};

/// Identifies a participant's connection inside the SFU (unique per process; the caller
/// allocates them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::LowerHex for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::LowerHex::fmt(&self.0, f)
    }
}

/// A room inside the SFU: an opaque key the caller chooses (one per tenant room). Cheap to
/// clone, since the forwarding path looks a publisher's room up for every packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(std::sync::Arc<str>);

impl RoomId {
    pub fn new(key: impl Into<std::sync::Arc<str>>) -> Self {
        Self(key.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the SFU listens and what it advertises.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The single UDP socket for all peers.
    pub udp: SocketAddr,
    /// Address put into ICE candidates (public address behind 1:1 NAT); default: `udp`.
    pub public_ip: Option<std::net::IpAddr>,
    /// Bitrate cap advertised to video publishers with REMB, in bits per second.
    pub max_video_bitrate: u64,
}

/// Which device a published track comes from, as declared by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackSource {
    Microphone,
    Camera,
    Screen,
}

/// A track another participant publishes, as a subscriber sees it.
#[derive(Debug, Clone)]
pub struct PublishedTrack {
    pub publisher: PeerId,
    /// `msid` stream id in the subscriber's SDP.
    pub stream_id: String,
    /// `msid` track id in the subscriber's SDP.
    pub track_id: String,
    pub kind: String,
    pub source: TrackSource,
}

/// Why the SFU dropped a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// ICE/DTLS failed or the peer stopped answering consent checks.
    ConnectionLost,
    /// Never connected within the allowed time after joining.
    NeverConnected,
}

/// What the SFU tells a participant's signalling session.
#[derive(Debug, Clone)]
pub enum SfuEvent {
    /// A renegotiation offer from the server (tracks came or went); answer with [`SfuHandle::answer`].
    Offer(String),
    /// A track of another participant is now forwarded to this peer.
    TrackAdded(PublishedTrack),
    /// A forwarded track ended (its publisher left or stopped it).
    TrackRemoved { publisher: PeerId, track_id: String },
    /// The loudest participant of the room changed.
    DominantSpeaker(PeerId),
    /// The media connection ended; the peer is gone from the SFU.
    Closed(CloseReason),
}

/// Errors of SFU requests.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    #[error("unknown peer")]
    UnknownPeer,
    #[error("peer already joined")]
    DuplicatePeer,
    #[error("invalid session description: {0}")]
    BadDescription(String),
    #[error("media engine stopped")]
    Stopped,
}

pub(crate) enum Command {
    Join {
        room: RoomId,
        peer: PeerId,
        events: mpsc::UnboundedSender<SfuEvent>,
        receive_only: bool,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Offer {
        peer: PeerId,
        sdp: String,
        sources: HashMap<String, TrackSource>,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    Answer {
        peer: PeerId,
        sdp: String,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Leave {
        peer: PeerId,
    },
    ForceMute {
        peer: PeerId,
        muted: bool,
    },
    EndRoom {
        room: RoomId,
    },
    Stats {
        reply: oneshot::Sender<SfuStats>,
        /// Whether to compute the latency percentiles (a sort of 65 536 samples).
        percentiles: bool,
    },
}

/// Cheap, cloneable handle to the running SFU.
#[derive(Clone)]
pub struct SfuHandle {
    commands: mpsc::UnboundedSender<Command>,
    /// The address peers send media to.
    pub advertised: SocketAddr,
}

impl SfuHandle {
    /// Binds the UDP socket and starts the engine task.
    pub async fn start(config: SfuConfig) -> anyhow::Result<Self> {
        let (commands, inbox) = mpsc::unbounded_channel();
        let advertised = engine::spawn(config, inbox).await?;
        Ok(Self {
            commands,
            advertised,
        })
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SfuError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .map_err(|_| SfuError::Stopped)?;
        answer.await.map_err(|_| SfuError::Stopped)
    }

    /// Adds a peer to a room; `events` receives everything the SFU has to say to it.
    pub async fn join(
        &self,
        room: &RoomId,
        peer: PeerId,
        events: mpsc::UnboundedSender<SfuEvent>,
    ) -> Result<(), SfuError> {
        self.join_as(room, peer, events, false).await
    }

    /// Adds a peer that only receives (a live stream viewer): whatever media it sends is
    /// neither published nor forwarded, so it can never appear to the room.
    pub async fn join_receive_only(
        &self,
        room: &RoomId,
        peer: PeerId,
        events: mpsc::UnboundedSender<SfuEvent>,
    ) -> Result<(), SfuError> {
        self.join_as(room, peer, events, true).await
    }

    async fn join_as(
        &self,
        room: &RoomId,
        peer: PeerId,
        events: mpsc::UnboundedSender<SfuEvent>,
        receive_only: bool,
    ) -> Result<(), SfuError> {
        self.ask(|reply| Command::Join {
            room: room.clone(),
            peer,
            events,
            receive_only,
            reply,
        })
        .await?
    }

    /// Applies a client offer (first connection or client-side renegotiation) and returns the answer.
    /// `sources` says which device each offered track id comes from.
    pub async fn offer(
        &self,
        peer: PeerId,
        sdp: String,
        sources: HashMap<String, TrackSource>,
    ) -> Result<String, SfuError> {
        self.ask(|reply| Command::Offer {
            peer,
            sdp,
            sources,
            reply,
        })
        .await?
    }

    /// Applies the client's answer to a server offer.
    pub async fn answer(&self, peer: PeerId, sdp: String) -> Result<(), SfuError> {
        self.ask(|reply| Command::Answer { peer, sdp, reply })
            .await?
    }

    /// Removes a peer; its tracks stop being forwarded.
    pub fn leave(&self, peer: PeerId) {
        let _ = self.commands.send(Command::Leave { peer });
    }

    /// Removes a peer on a moderator's order (same effect as leaving).
    pub fn kick(&self, peer: PeerId) {
        self.leave(peer);
    }

    /// Stops (or resumes) forwarding a peer's audio, whatever the peer sends.
    pub fn force_mute(&self, peer: PeerId, muted: bool) {
        let _ = self.commands.send(Command::ForceMute { peer, muted });
    }

    /// Removes every peer of a room.
    pub fn end_room(&self, room: &RoomId) {
        let _ = self.commands.send(Command::EndRoom { room: room.clone() });
    }

    /// Counters and latency figures since start, with the latency percentiles.
    pub async fn stats(&self) -> Result<SfuStats, SfuError> {
        self.ask(|reply| Command::Stats {
            reply,
            percentiles: true,
        })
        .await
    }

    /// The same without the percentiles (left 0): every counter, gauge and the latency
    /// histogram, cheap enough on the engine thread for every metrics scrape.
    pub async fn counters(&self) -> Result<SfuStats, SfuError> {
        self.ask(|reply| Command::Stats {
            reply,
            percentiles: false,
        })
        .await
    }
}
