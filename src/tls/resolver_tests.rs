//! Which certificate a handshake gets, by SNI and ALPN: in-memory rustls handshakes against the
//! server configuration `confab serve` uses.

use std::sync::Arc;

use rustls::{
    ClientConfig, ClientConnection, ServerConnection,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime},
};

use super::{acme::alpn::challenge_certificate, certs::CertStore, server_config};

/// Accepts any certificate and any handshake signature: these tests look at which certificate is
/// shown, not at trust. Unlike the integration tests' verifier it does not check signatures
/// either, since webpki refuses to parse a challenge certificate's critical `acmeIdentifier`.
#[derive(Debug)]
struct ShowMe;

impl ServerCertVerifier for ShowMe {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The leaf the server shows to a client asking for `name` with `alpn`, or `None` when the
/// handshake fails.
fn shown(store: &Arc<CertStore>, name: &str, alpn: &[&[u8]]) -> Option<CertificateDer<'static>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut client_config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ShowMe))
        .with_no_client_auth();
    client_config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let server_name = ServerName::try_from(name.to_string()).ok()?;
    let mut client = ClientConnection::new(Arc::new(client_config), server_name).ok()?;
    let mut server = ServerConnection::new(server_config(store.clone()).ok()?).ok()?;
    for _ in 0..10 {
        let mut wire = Vec::new();
        client.write_tls(&mut wire).ok()?;
        server.read_tls(&mut wire.as_slice()).ok()?;
        server.process_new_packets().ok()?;
        let mut back = Vec::new();
        server.write_tls(&mut back).ok()?;
        client.read_tls(&mut back.as_slice()).ok()?;
        client.process_new_packets().ok()?;
        if !client.is_handshaking() {
            return client
                .peer_certificates()
                .map(|c| c[0].clone().into_owned());
        }
    }
    None
}

#[test]
fn challenge_certificates_are_shown_only_to_validating_cas() {
    let dir = tempfile::tempdir().unwrap();
    let real = rcgen::generate_simple_self_signed(vec!["meet.example.com".into()]).unwrap();
    std::fs::write(dir.path().join("meet.example.com.pem"), real.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("meet.example.com.key"),
        real.signing_key.serialize_pem(),
    )
    .unwrap();
    let store = CertStore::load(dir.path()).unwrap();
    let challenge = challenge_certificate("meet.example.com", "token.thumbprint").unwrap();
    let challenge_der = challenge.cert[0].clone();
    store.set_alpn_challenge("meet.example.com", Some(Arc::new(challenge)));

    let browser: &[&[u8]] = &[b"h2", b"http/1.1"];
    let ca: &[&[u8]] = &[b"acme-tls/1"];
    assert_eq!(
        shown(&store, "meet.example.com", browser).as_ref(),
        Some(real.cert.der()),
        "browsers get the real certificate"
    );
    assert_eq!(
        shown(&store, "meet.example.com", ca),
        Some(challenge_der),
        "the CA gets the challenge certificate"
    );
    assert_eq!(
        shown(&store, "other.example.com", ca),
        None,
        "no challenge, no certificate: a validator never sees a real one"
    );
    store.set_alpn_challenge("meet.example.com", None);
    assert_eq!(shown(&store, "meet.example.com", ca), None);
}
