//! A peer connection on a plain UDP socket: its one host candidate, and received datagrams
//! wrapped for it. Shared by the SFU's connections and by any client built on the same core
//! (the benchmark's bots).

use std::{net::SocketAddr, time::Instant};

use bytes::BytesMut;
use rtc::{
    peer_connection::{
        RTCPeerConnection,
        transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate, RTCIceCandidateInit},
    },
    shared::{TaggedBytesMut, TransportContext, TransportProtocol, error::Error as RtcError},
};

/// Gives the connection its one host candidate, `addr`, and ends gathering.
pub fn add_host_candidate(pc: &mut RTCPeerConnection, addr: SocketAddr) -> Result<(), RtcError> {
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".into(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)?;
    pc.add_local_candidate(RTCIceCandidateInit::default())?;
    Ok(())
}

/// Wraps a received datagram for the peer connection.
pub fn inbound(now: Instant, local: SocketAddr, from: SocketAddr, data: &[u8]) -> TaggedBytesMut {
    TaggedBytesMut {
        now,
        transport: TransportContext {
            local_addr: local,
            peer_addr: from,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        },
        message: BytesMut::from(data),
    }
}
