//! Which peer a datagram on the shared socket belongs to: by remote address once known, and for
//! new addresses by the ICE username fragment in a STUN binding request (RFC 8445 §7.2.2).

use std::{collections::HashMap, net::SocketAddr};

use rtc::stun::{
    attributes::ATTR_USERNAME,
    message::{BINDING_REQUEST, Message, is_stun_message},
    textattrs::Username,
};

use super::PeerId;

/// The two lookup tables of the shared socket.
#[derive(Default)]
pub struct Demux {
    by_ufrag: HashMap<String, PeerId>,
    by_addr: HashMap<SocketAddr, PeerId>,
}

impl Demux {
    pub fn add_peer(&mut self, ufrag: &str, peer: PeerId) {
        self.by_ufrag.insert(ufrag.to_string(), peer);
    }

    pub fn remove_peer(&mut self, ufrag: &str, peer: PeerId) {
        self.by_ufrag.remove(ufrag);
        self.by_addr.retain(|_, p| *p != peer);
    }

    /// Remembers that `addr` belongs to `peer` (after the peer accepted a check from it).
    pub fn bind_addr(&mut self, addr: SocketAddr, peer: PeerId) {
        self.by_addr.insert(addr, peer);
    }

    /// The peer a datagram is for, if any.
    pub fn route(&self, from: SocketAddr, datagram: &[u8]) -> Option<PeerId> {
        // A binding request names its target: trust that over the address map so a client
        // whose address changed (or an ICE restart) is routed right.
        if is_stun_message(datagram)
            && let Some(peer) =
                ufrag_of_binding_request(datagram).and_then(|u| self.by_ufrag.get(&u))
        {
            return Some(*peer);
        }
        self.by_addr.get(&from).copied()
    }
}

/// Our ufrag from the USERNAME (`ours:theirs`) of a STUN binding request.
fn ufrag_of_binding_request(datagram: &[u8]) -> Option<String> {
    let mut message = Message::new();
    message.unmarshal_binary(datagram).ok()?;
    if message.typ != BINDING_REQUEST {
        return None;
    }
    let username = Username::get_from_as(&message, ATTR_USERNAME).ok()?;
    let text = username.to_string();
    text.split_once(':').map(|(ours, _)| ours.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_traffic_is_not_routed() {
        let mut demux = Demux::default();
        demux.add_peer("abcd", PeerId(7));
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(demux.route(from, b"\x80\x60junk"), None);
        demux.bind_addr(from, PeerId(7));
        assert_eq!(demux.route(from, b"\x80\x60junk"), Some(PeerId(7)));
        demux.remove_peer("abcd", PeerId(7));
        assert_eq!(demux.route(from, b"\x80\x60junk"), None);
        assert_eq!(demux.route(from, &[]), None);
    }
}
