//! The engine with a client that has two addresses, as a browser with two network interfaces:
//! real STUN binding requests (USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT) nominate the
//! first address, then the second, and the client checks only from the second from then on.
//! The clock is the test's, so the 5 s disconnect timeout passes in no time.

use std::{
    collections::HashMap,
    net::{SocketAddr, UdpSocket as ClientSocket},
    time::{Duration, Instant},
};

use rtc::{
    crypto::default_provider,
    ice::attributes::{
        control::AttrControlling, priority::PriorityAttr, use_candidate::UseCandidateAttr,
    },
    stun::{
        attributes::ATTR_USERNAME,
        fingerprint::FINGERPRINT,
        integrity::MessageIntegrity,
        message::{
            BINDING_REQUEST, BINDING_SUCCESS, Message, Setter, TransactionId, is_stun_message,
        },
        textattrs::Username,
        xoraddr::XorMappedAddress,
    },
};
use tokio::sync::mpsc;

use super::{PeerId, SfuConfig, SfuEvent, engine::Engine};

const CLIENT_UFRAG: &str = "clnt";
const CLIENT_PWD: &str = "clientpassword0123456789";
const PEER: PeerId = PeerId(1);

/// A minimal browser-like offer: one Opus m-line, our ICE credentials, DTLS role left to the SFU.
fn offer() -> String {
    let fingerprint = vec!["AB"; 32].join(":");
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=msid-semantic: WMS",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        &format!("a=ice-ufrag:{CLIENT_UFRAG}"),
        &format!("a=ice-pwd:{CLIENT_PWD}"),
        &format!("a=fingerprint:sha-256 {fingerprint}"),
        // Passive, so that the SFU is the DTLS client (it is the server only when the client may
        // choose): its handshake flights are then the traffic this test follows.
        "a=setup:passive",
        "a=mid:0",
        "a=sendrecv",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "",
    ]
    .join("\r\n")
}

fn sdp_attribute(sdp: &str, name: &str) -> String {
    sdp.lines()
        .find_map(|line| line.strip_prefix(&format!("a={name}:")))
        .unwrap_or_else(|| panic!("no {name} in {sdp}"))
        .trim()
        .to_string()
}

fn build(setters: Vec<Box<dyn Setter + '_>>) -> Vec<u8> {
    let mut message = Message::new();
    message.build(&setters).expect("stun message");
    message.raw
}

/// One client address: its socket receives what the SFU sends there.
struct ClientAddress {
    socket: ClientSocket,
    addr: SocketAddr,
    /// DTLS/SRTP datagrams the SFU sent here (anything that is not STUN).
    media: usize,
}

impl ClientAddress {
    fn bind(ip: &str) -> Self {
        let socket = ClientSocket::bind((ip, 0)).expect("client socket");
        socket.set_nonblocking(true).expect("non-blocking");
        let addr = socket.local_addr().expect("address");
        Self {
            socket,
            addr,
            media: 0,
        }
    }
}

/// The client's half of ICE, done by hand.
struct Client {
    server_ufrag: String,
    server_pwd: String,
    crypto: std::sync::Arc<dyn rtc::crypto::RTCCryptoProvider>,
    next_transaction: u8,
}

impl Client {
    /// A connectivity check from the controlling agent, nominating when `nominate`.
    fn check(&mut self, nominate: bool) -> Vec<u8> {
        self.next_transaction = self.next_transaction.wrapping_add(1);
        let mut setters: Vec<Box<dyn Setter + '_>> = vec![
            Box::new(BINDING_REQUEST),
            Box::new(TransactionId([self.next_transaction; 12])),
            Box::new(Username::new(
                ATTR_USERNAME,
                format!("{}:{CLIENT_UFRAG}", self.server_ufrag),
            )),
            Box::new(AttrControlling(7)),
            Box::new(PriorityAttr(1_845_501_695)),
        ];
        if nominate {
            setters.push(Box::<UseCandidateAttr>::default());
        }
        setters.push(Box::new(
            MessageIntegrity::new_short_term_integrity_with_provider(
                self.server_pwd.clone(),
                self.crypto.crypto(),
            ),
        ));
        setters.push(Box::new(FINGERPRINT));
        build(setters)
    }

    /// Answers the SFU's own (triggered) checks that reached `at`; counts everything else.
    fn receive(&self, engine: &mut Engine, at: &mut ClientAddress, now: Instant) {
        let mut buf = [0u8; 2048];
        while let Ok((n, _)) = at.socket.recv_from(&mut buf) {
            let datagram = &buf[..n];
            if !is_stun_message(datagram) {
                at.media += 1;
                continue;
            }
            let mut request = Message::new();
            if request.unmarshal_binary(datagram).is_err() || request.typ != BINDING_REQUEST {
                continue;
            }
            let response = build(vec![
                Box::new(BINDING_SUCCESS),
                Box::new(request.transaction_id),
                Box::new(XorMappedAddress {
                    ip: at.addr.ip(),
                    port: at.addr.port(),
                }),
                Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
                    CLIENT_PWD.to_string(),
                    self.crypto.crypto(),
                )),
                Box::new(FINGERPRINT),
            ]);
            engine.datagram(at.addr, &response, now);
        }
    }
}

/// Runs the engine's timers and servicing at `now`, then lets loopback deliver its sends.
async fn pump(engine: &mut Engine, now: Instant) {
    engine.timers(now);
    engine.service_dirty(now);
    tokio::time::sleep(Duration::from_millis(2)).await;
}

#[tokio::test]
async fn the_sfu_follows_a_renomination_and_counts_the_new_pair_as_alive() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("sfu socket");
    let advertised = socket.local_addr().expect("address");
    let config = SfuConfig {
        udp: advertised,
        public_ip: None,
        max_video_bitrate: 1_500_000,
    };
    // The engine sends with `try_send_to`, which needs the socket's readiness known.
    socket.writable().await.expect("writable");
    let mut engine = Engine::new(socket, advertised, config);
    // As the DTLS client, the SFU sends handshake flights by itself: the traffic this test follows.
    engine.answering_dtls_role = rtc::peer_connection::transport::RTCDtlsRole::Client;
    let start = Instant::now();
    let (events, mut closed) = mpsc::unbounded_channel();
    engine
        .join(crate::RoomId::new("room"), PEER, events, false, start)
        .expect("join");
    let answer = engine
        .client_offer(PEER, offer(), HashMap::new(), start)
        .expect("answer");
    // The SFU is the DTLS client here: its handshake flights are what it sends on the chosen pair.
    assert_eq!(sdp_attribute(&answer, "setup"), "active", "{answer}");
    let mut client = Client {
        server_ufrag: sdp_attribute(&answer, "ice-ufrag"),
        server_pwd: sdp_attribute(&answer, "ice-pwd"),
        crypto: default_provider().expect("crypto"),
        next_transaction: 0,
    };
    let mut first = ClientAddress::bind("127.0.0.1");
    let mut second = ClientAddress::bind("127.0.0.2");

    // The client nominates its first address; the SFU connects there and starts DTLS.
    let mut now = start;
    for _ in 0..10 {
        let check = client.check(true);
        engine.datagram(first.addr, &check, now);
        pump(&mut engine, now).await;
        client.receive(&mut engine, &mut first, now);
        pump(&mut engine, now).await;
        client.receive(&mut engine, &mut first, now);
        if first.media > 0 {
            break;
        }
        now += Duration::from_millis(100);
    }
    assert!(first.media > 0, "DTLS starts on the first nominated pair");

    // It re-nominates from its second address and from now on checks only there, once a
    // second, for longer than the disconnect timeout (DTLS retransmits every second meanwhile).
    let switched = now;
    let media_before_switch = first.media;
    let mut next_check = now;
    while now < switched + Duration::from_millis(7_500) {
        if now >= next_check {
            let check = client.check(true);
            engine.datagram(second.addr, &check, now);
            next_check = now + Duration::from_secs(1);
        }
        pump(&mut engine, now).await;
        client.receive(&mut engine, &mut second, now);
        client.receive(&mut engine, &mut first, now);
        pump(&mut engine, now).await;
        engine.tick(now);
        now += Duration::from_millis(100);
    }

    eprintln!(
        "after the switch: {} datagrams to the second address, {} to the first",
        second.media,
        first.media - media_before_switch
    );
    let stats = engine.snapshot(false);
    let nominated = engine.peers.get(&PEER).and_then(|p| p.path.nominated());
    assert_eq!(nominated, Some(second.addr), "the latest nomination wins");
    assert!(
        second.media >= 3,
        "DTLS retransmissions follow the nomination: {} to the second address, {} to the first",
        second.media,
        first.media - media_before_switch
    );
    assert!(
        first.media - media_before_switch <= 1,
        "nothing but what was in flight goes to the abandoned address: {}",
        first.media - media_before_switch
    );
    assert_eq!(stats.ice_renominations, 1, "{stats:?}");
    assert_eq!(
        stats.ice_disconnects, 0,
        "checks on the new pair keep the peer alive: {stats:?}"
    );
    assert!(engine.peers.contains_key(&PEER), "the peer is still there");
    assert!(
        !matches!(closed.try_recv(), Ok(SfuEvent::Closed(_))),
        "the peer was not dropped"
    );
}
