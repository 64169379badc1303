//! TLS termination: one server, certificates per SNI from the operator's folder (one wildcard,
//! one exact name), unknown names refused, HSTS on HTTPS, plain HTTP redirected, and a replaced
//! certificate served without a restart.

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use confab::{app::AppState, config::Config, tenancy::resellers};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_rustls::TlsConnector;

const ALPHA: &str = "reseller-admin.alpha.test";
const BETA: &str = "reseller-admin.beta.test";

/// Writes a self-signed certificate for `names` as `<stem>.pem` + `<stem>.key`; returns it.
fn write_cert(dir: &Path, stem: &str, names: &[&str]) -> CertificateDer<'static> {
    let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let generated = rcgen::generate_simple_self_signed(names).expect("generate certificate");
    std::fs::write(
        dir.join(format!("{stem}.key")),
        generated.signing_key.serialize_pem(),
    )
    .expect("write key");
    std::fs::write(dir.join(format!("{stem}.pem")), generated.cert.pem()).expect("write pem");
    generated.cert.der().clone()
}

/// DNS names in the subject alternative names of a certificate.
pub(crate) fn dns_names(der: &CertificateDer<'_>) -> Vec<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse leaf");
    let san = cert
        .subject_alternative_name()
        .expect("valid extensions")
        .expect("a subject alt name");
    san.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(name) => Some(name.to_string()),
            _ => None,
        })
        .collect()
}

/// Accepts any server certificate: the test looks at which one was presented, not at trust.
#[derive(Debug)]
struct AnyCert;

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn connector() -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert))
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// Handshakes with `name` as SNI (an IP address sends none); returns the presented leaf.
pub(crate) async fn handshake(
    addr: SocketAddr,
    name: ServerName<'static>,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, std::io::Error> {
    let tcp = TcpStream::connect(addr).await?;
    connector().connect(name, tcp).await
}

pub(crate) fn leaf(stream: &tokio_rustls::client::TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream
        .get_ref()
        .1
        .peer_certificates()
        .expect("certificates")[0]
        .clone()
}

pub(crate) fn sni(name: &str) -> ServerName<'static> {
    ServerName::try_from(name.to_string()).expect("server name")
}

/// One raw HTTP/1.1 exchange; returns the whole answer as text.
pub(crate) async fn http_get<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    stream: &mut S,
    host: &str,
    path: &str,
) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_per_sni_redirect_hsts_and_reload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert_dir = dir.path().join("certs");
    std::fs::create_dir(&cert_dir).expect("cert dir");
    let alpha_cert = write_cert(&cert_dir, "_wildcard.alpha.test", &["*.alpha.test"]);
    let beta_cert = write_cert(&cert_dir, BETA, &[BETA]);

    let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let tls = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
    let (plain_addr, tls_addr) = (
        plain.local_addr().expect("addr"),
        tls.local_addr().expect("addr"),
    );
    let config = Config {
        database_url: format!("sqlite://{}/confab.db", dir.path().display()),
        listen: plain_addr,
        media_udp: "127.0.0.1:0".parse().expect("media address"),
        data_dir: dir.path().to_path_buf(),
        tls_listen: Some(tls_addr),
        tls_cert_dir: cert_dir.clone(),
        tls_reload_secs: 1,
        ..Config::default()
    };
    let state = AppState::build(config).await.expect("build app");
    for (name, domain) in [
        ("Alpha", "alpha.test"),
        ("Beta", "beta.test"),
        ("Gamma", "gamma.test"),
    ] {
        resellers::create(
            &state,
            name,
            domain,
            &format!("root@{domain}"),
            "Sup3rSecret!",
        )
        .await
        .expect("reseller");
    }
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(confab::app::serve_all(state, plain, Some(tls), async {
        let _ = stopped.await;
    }));

    // Each hostname gets its own certificate; the wildcard covers the alpha subdomain.
    let alpha = handshake(tls_addr, sni(ALPHA))
        .await
        .expect("alpha handshake");
    assert_eq!(leaf(&alpha), alpha_cert);
    assert_eq!(dns_names(&leaf(&alpha)), vec!["*.alpha.test"]);
    let mut beta = handshake(tls_addr, sni(BETA))
        .await
        .expect("beta handshake");
    assert_eq!(leaf(&beta), beta_cert);
    assert_eq!(dns_names(&leaf(&beta)), vec![BETA]);

    // Unknown names, a name two labels under the wildcard, and no SNI at all: no certificate.
    for name in [
        sni("unknown.example"),
        sni("a.b.alpha.test"),
        sni("alpha.test"),
    ] {
        assert!(
            handshake(tls_addr, name.clone()).await.is_err(),
            "{name:?} got a certificate"
        );
    }
    let no_sni = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    assert!(
        handshake(tls_addr, no_sni).await.is_err(),
        "no SNI got a certificate"
    );

    // HTTPS answers carry HSTS and serve the tenant.
    let answer = http_get(&mut beta, BETA, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{answer}"
    );

    // Handlers that need the client address (login rate limits) work over TLS too.
    let mut stream = handshake(tls_addr, sni(BETA))
        .await
        .expect("beta handshake");
    let body = r#"{"email": "root@beta.test", "password": "Sup3rSecret!"}"#;
    let request = format!(
        "POST /enterprise_api/authenticate HTTP/1.1\r\nHost: {BETA}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("auth_token"),
        "{answer}"
    );

    // Plain HTTP: tenants are sent to HTTPS on the same host and path; nothing else is.
    let mut tcp = TcpStream::connect(plain_addr).await.expect("plain connect");
    let answer = http_get(&mut tcp, ALPHA, "/conf/call/1234567?name=Ann").await;
    assert!(answer.starts_with("HTTP/1.1 308"), "{answer}");
    let location = format!(
        "location: https://{ALPHA}:{}/conf/call/1234567?name=Ann\r\n",
        tls_addr.port()
    );
    assert!(answer.contains(&location), "{answer}");
    // A tenant without any certificate stays on HTTP instead of being sent to a failing handshake.
    let mut tcp = TcpStream::connect(plain_addr).await.expect("plain connect");
    let answer = http_get(&mut tcp, "reseller-admin.gamma.test", "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let mut tcp = TcpStream::connect(plain_addr).await.expect("plain connect");
    let answer = http_get(&mut tcp, "evil.example", "/conf/call/1").await;
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "no open redirect: {answer}"
    );
    let mut tcp = TcpStream::connect(plain_addr).await.expect("plain connect");
    let answer = http_get(&mut tcp, ALPHA, "/.well-known/meeting-domain/x").await;
    assert!(
        answer.starts_with("HTTP/1.1 404"),
        "verification stays on HTTP: {answer}"
    );
    assert!(
        !answer
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "{answer}"
    );

    // A replaced certificate is served without a restart.
    let renewed = write_cert(&cert_dir, BETA, &[BETA, "www.beta.example"]);
    assert_ne!(renewed, beta_cert);
    let mut seen = None;
    for _ in 0..100 {
        let stream = handshake(tls_addr, sni(BETA))
            .await
            .expect("beta handshake");
        if leaf(&stream) == renewed {
            seen = Some(leaf(&stream));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let seen = seen.expect("the renewed certificate within 10 s");
    assert_eq!(dns_names(&seen), vec![BETA, "www.beta.example"]);
    // A new name appears the same way.
    let gamma = write_cert(&cert_dir, "meet.gamma.example", &["meet.gamma.example"]);
    let mut found = false;
    for _ in 0..100 {
        if let Ok(stream) = handshake(tls_addr, sni("meet.gamma.example")).await {
            found = leaf(&stream) == gamma;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "a certificate added to the folder is served");
}
