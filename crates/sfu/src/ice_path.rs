//! Which client address a peer's media goes to, and whether the peer is still there: ICE-lite
//! as RFC 8445 has it, kept next to the `rtc` connection instead of inside it.
//!
//! `rtc` 0.21's agent selects the first pair the client nominates and never another (a later
//! USE-CANDIDATE on a different pair is answered but ignored), and it judges liveness only by
//! traffic from that first pair's remote address (media not counted). A client with two network
//! interfaces that re-nominates from its second address therefore gets no media from us and is
//! declared disconnected 5 s later, though it is checking and sending all the while. So the
//! connection's own ICE timeouts are turned off (see `peer::new_connection`) and this layer:
//!
//! - learns which checks the connection *accepted* from the Binding success responses it
//!   writes (a response is only written after the request's username and MESSAGE-INTEGRITY were
//!   verified), so no credential is checked twice and strangers cannot steer anything;
//! - follows the controlling agent's nomination: the latest accepted check that carried
//!   USE-CANDIDATE names the address DTLS and SRTP are sent to (§7.3.1.5, §8.1.1);
//! - counts any traffic from an address with an accepted check (checks and media) as a sign of
//!   life, and reports *disconnected* after [`DISCONNECTED_AFTER`] of silence and *failed*
//!   [`FAILED_AFTER`] later.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    time::{Duration, Instant},
};

use rtc::stun::{
    attributes::ATTR_USE_CANDIDATE,
    message::{BINDING_REQUEST, BINDING_SUCCESS, Message, TransactionId, is_stun_message},
};

/// Silence after which a connected peer counts as disconnected.
pub const DISCONNECTED_AFTER: Duration = Duration::from_secs(5);
/// Further silence after which a disconnected peer is given up.
pub const FAILED_AFTER: Duration = Duration::from_secs(15);
/// Nominating requests remembered until the connection answers them; a client has few checks
/// in flight, and a forgotten one is simply nominated again by the next check.
const PENDING_NOMINATIONS: usize = 16;
/// Client addresses remembered as valid; more than a client has interfaces and address families.
const VALID_ADDRESSES: usize = 16;

/// Where a peer's ICE stands, as far as liveness goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// No check accepted yet (the connect deadline covers this).
    New,
    /// Heard from within [`DISCONNECTED_AFTER`].
    Alive,
    /// Silent for longer than [`DISCONNECTED_AFTER`]; recovers when heard again.
    Disconnected,
    /// Silent for longer than [`DISCONNECTED_AFTER`] + [`FAILED_AFTER`]; final.
    Failed,
}

/// One peer's view of its valid client addresses, the nominated one and the last sign of life.
pub struct IcePath {
    /// Nominating (USE-CANDIDATE) requests not answered yet: transaction id and source.
    nominating: VecDeque<(TransactionId, SocketAddr)>,
    /// Addresses the connection accepted a check from, oldest first.
    valid: VecDeque<SocketAddr>,
    nominated: Option<SocketAddr>,
    last_heard: Option<Instant>,
    liveness: Liveness,
}

impl Default for IcePath {
    fn default() -> Self {
        Self {
            nominating: VecDeque::with_capacity(PENDING_NOMINATIONS),
            valid: VecDeque::new(),
            nominated: None,
            last_heard: None,
            liveness: Liveness::New,
        }
    }
}

/// What an outbound datagram taught the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outbound {
    /// Where to send it.
    pub to: SocketAddr,
    /// The client's nomination moved to a different address with this datagram.
    pub renominated: bool,
}

impl IcePath {
    /// The address media goes to, once the client nominated one.
    #[cfg(test)]
    pub fn nominated(&self) -> Option<SocketAddr> {
        self.nominated
    }

    /// Where liveness stood at the last [`IcePath::check`].
    pub fn liveness(&self) -> Liveness {
        self.liveness
    }

    /// Notes a datagram from the client before the connection reads it.
    pub fn inbound(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        if !is_stun_message(datagram) {
            // Media, DTLS or RTCP on any valid pair shows the client is there.
            if self.valid.contains(&from) {
                self.last_heard = Some(now);
            }
            return;
        }
        let Some(message) = parse(datagram) else {
            return;
        };
        if message.typ == BINDING_REQUEST && message.contains(ATTR_USE_CANDIDATE) {
            if self.nominating.len() == PENDING_NOMINATIONS {
                self.nominating.pop_front();
            }
            self.nominating.push_back((message.transaction_id, from));
        }
    }

    /// Learns from a datagram the connection wants to send, and says where it really goes:
    /// STUN to the address the connection chose (a response goes back to its request's source,
    /// a check to the pair it tests), everything else to the nominated address.
    pub fn outbound(&mut self, now: Instant, to: SocketAddr, datagram: &[u8]) -> Outbound {
        if !is_stun_message(datagram) {
            return Outbound {
                to: self.nominated.unwrap_or(to),
                renominated: false,
            };
        }
        let mut renominated = false;
        if let Some(message) = parse(datagram)
            && message.typ == BINDING_SUCCESS
        {
            self.accepted(now, to);
            let nominating = self
                .nominating
                .iter()
                .position(|(id, from)| *id == message.transaction_id && *from == to);
            if let Some(index) = nominating {
                self.nominating.remove(index);
                renominated = self.nominated.is_some_and(|current| current != to);
                self.nominated = Some(to);
            }
        }
        Outbound { to, renominated }
    }

    /// Re-evaluates liveness at `now`; returns the new state when it changed.
    pub fn check(&mut self, now: Instant) -> Option<Liveness> {
        let next = match (self.liveness, self.last_heard) {
            (Liveness::Failed, _) | (_, None) => return None,
            (_, Some(heard)) => {
                let silent = now.saturating_duration_since(heard);
                if silent > DISCONNECTED_AFTER + FAILED_AFTER {
                    Liveness::Failed
                } else if silent > DISCONNECTED_AFTER {
                    Liveness::Disconnected
                } else {
                    Liveness::Alive
                }
            }
        };
        (next != self.liveness).then(|| {
            self.liveness = next;
            next
        })
    }

    /// The connection accepted a check from `from`: a valid address, and a sign of life.
    fn accepted(&mut self, now: Instant, from: SocketAddr) {
        self.last_heard = Some(now);
        if !self.valid.contains(&from) {
            if self.valid.len() == VALID_ADDRESSES {
                self.valid.pop_front();
            }
            self.valid.push_back(from);
        }
    }
}

fn parse(datagram: &[u8]) -> Option<Message> {
    let mut message = Message::new();
    message.unmarshal_binary(datagram).ok()?;
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::{
        ice::attributes::use_candidate::UseCandidateAttr,
        stun::message::{MessageType, Setter},
    };

    fn stun(typ: MessageType, id: [u8; 12], nominate: bool) -> Vec<u8> {
        let mut setters: Vec<Box<dyn Setter>> = vec![Box::new(typ), Box::new(TransactionId(id))];
        if nominate {
            setters.push(Box::<UseCandidateAttr>::default());
        }
        let mut message = Message::new();
        message.build(&setters).expect("stun message");
        message.raw
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("address")
    }

    #[test]
    fn the_latest_accepted_nomination_wins_and_media_follows_it() {
        let (first, second, server) = (
            addr("127.0.0.1:5000"),
            addr("192.0.2.2:5001"),
            addr("127.0.0.1:10000"),
        );
        let now = Instant::now();
        let mut path = IcePath::default();
        assert_eq!(path.outbound(now, first, b"\x16dtls").to, first);

        path.inbound(now, first, &stun(BINDING_REQUEST, [1; 12], true));
        path.outbound(now, first, &stun(BINDING_SUCCESS, [1; 12], false));
        assert_eq!(path.nominated(), Some(first));

        // A check without USE-CANDIDATE validates the second address but does not move media.
        path.inbound(now, second, &stun(BINDING_REQUEST, [2; 12], false));
        path.outbound(now, second, &stun(BINDING_SUCCESS, [2; 12], false));
        assert_eq!(path.outbound(now, server, b"\x80media").to, first);

        // A nominating check that the connection did not accept (no response) moves nothing.
        path.inbound(now, second, &stun(BINDING_REQUEST, [3; 12], true));
        assert_eq!(path.nominated(), Some(first));

        let accepted = path.outbound(now, second, &stun(BINDING_SUCCESS, [3; 12], false));
        assert!(accepted.renominated);
        assert_eq!(path.nominated(), Some(second));
        assert_eq!(path.outbound(now, first, b"\x80media").to, second);
        // STUN keeps the destination the connection chose.
        assert_eq!(
            path.outbound(now, first, &stun(BINDING_REQUEST, [4; 12], false))
                .to,
            first
        );
    }

    #[test]
    fn traffic_on_any_valid_address_keeps_the_peer_alive() {
        let (first, second, stranger) = (
            addr("127.0.0.1:5000"),
            addr("192.0.2.2:5001"),
            addr("198.51.100.7:9"),
        );
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut path = IcePath::default();
        assert_eq!(path.check(at(30)), None, "nothing before the first check");

        path.inbound(start, first, &stun(BINDING_REQUEST, [1; 12], true));
        path.outbound(start, first, &stun(BINDING_SUCCESS, [1; 12], false));
        assert_eq!(path.check(at(1)), Some(Liveness::Alive));
        path.inbound(at(2), second, &stun(BINDING_REQUEST, [2; 12], true));
        path.outbound(at(2), second, &stun(BINDING_SUCCESS, [2; 12], false));
        // Only media on the second address from now on; the first is silent.
        for s in 3..=12 {
            path.inbound(at(s), second, b"\x80media");
            assert_eq!(path.check(at(s)), None, "alive at {s} s");
        }
        // Datagrams from an address never checked are not a sign of life.
        for s in 13..=18 {
            path.inbound(at(s), stranger, b"\x80media");
        }
        assert_eq!(path.check(at(18)), Some(Liveness::Disconnected));
        path.inbound(at(19), second, b"\x80media");
        assert_eq!(path.check(at(19)), Some(Liveness::Alive));
        assert_eq!(path.check(at(40)), Some(Liveness::Failed));
        path.inbound(at(41), second, b"\x80media");
        assert_eq!(path.check(at(41)), None, "failed is final");
    }
}
