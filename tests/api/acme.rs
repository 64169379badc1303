//! Automatic certificates against a real ACME CA: Debian's `pebble`, with `pebble-challtestsrv`
//! as its DNS so that a custom domain resolves to this machine. Two servers share the database,
//! as in a cluster: the API server (plain HTTP) and a TLS server that runs the certificate loop.
//! The CA validates HTTP-01 against the API server, which answers from the shared database; the
//! issued chain must verify against the CA's root for the domain's SNI, survive a restart
//! without a new order, and go away with the domain.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Arc,
    time::Duration,
};

use confab::{app::AppState, config::Config};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, pem::PemObject};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

use crate::{
    helpers::{Backend, ChildGuard, TestApp, free_port, postgres_enabled, suite_unavailable},
    tls::{dns_names, handshake, http_get, leaf, sni},
};

const CUSTOM: &str = "meet.joe-corp.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    if let Some(ca) = TestCa::start() {
        certificate_lifecycle(Backend::Sqlite, ca, "http-01").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    if !postgres_enabled() {
        return;
    }
    if let Some(ca) = TestCa::start() {
        certificate_lifecycle(Backend::Postgres, ca, "http-01").await;
    }
}

/// The CA validates in the TLS handshake on the HTTPS listener instead (port 443 only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tls_alpn() {
    if let Some(ca) = TestCa::start() {
        certificate_lifecycle(Backend::Sqlite, ca, "tls-alpn-01").await;
    }
}

/// The DNS half of the test CA, and where its ACME half will listen once started.
struct TestCa {
    dir: tempfile::TempDir,
    dns: SocketAddr,
    acme: SocketAddr,
    management: SocketAddr,
    /// Root of the CA's own HTTPS certificate (not of the certificates it issues).
    https_root: PathBuf,
    _dns_server: ChildGuard,
    pebble: Option<ChildGuard>,
}

fn tool_present(name: &str) -> bool {
    Command::new(name)
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn free_tcp_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

fn free_udp_port() -> SocketAddr {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket.local_addr().expect("addr")
}

impl TestCa {
    /// Starts the DNS server; `None` (loudly) when pebble is not installed, except under CI.
    fn start() -> Option<Self> {
        if !tool_present("pebble") || !tool_present("pebble-challtestsrv") {
            suite_unavailable("ACME suite", "install Debian's `pebble` package to run it");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (dns, management) = (free_udp_port(), free_tcp_port());
        let dns_server = Command::new("pebble-challtestsrv")
            .args(["-dns01", &dns.to_string()])
            .args(["-management", &free_tcp_port().to_string()])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble-challtestsrv");
        let https_root = write_https_certificate(dir.path());
        Some(Self {
            dir,
            dns,
            acme: free_tcp_port(),
            management,
            https_root,
            _dns_server: ChildGuard(dns_server),
            pebble: None,
        })
    }

    fn directory_url(&self) -> String {
        format!("https://{}/dir", self.acme)
    }

    /// Starts the CA, validating HTTP-01 on `http_port` of whatever the DNS says.
    async fn start_pebble(&mut self, http_port: u16, tls_port: u16) {
        let config = json!({"pebble": {
            "listenAddress": self.acme.to_string(),
            "managementListenAddress": self.management.to_string(),
            "certificate": self.dir.path().join("pebble.pem"),
            "privateKey": self.dir.path().join("pebble.key"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let config_path = self.dir.path().join("pebble.json");
        std::fs::write(&config_path, config.to_string()).expect("write pebble config");
        let log = std::fs::File::create(self.dir.path().join("pebble.log")).expect("log file");
        let child = Command::new("pebble")
            .arg("-config")
            .arg(&config_path)
            .args(["-dnsserver", &self.dns.to_string()])
            // No artificial validation delay, no randomly refused nonces: quick and repeatable.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start pebble");
        self.pebble = Some(ChildGuard(child));
        for _ in 0..100 {
            if TcpStream::connect(self.acme).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("pebble did not listen on {}: {}", self.acme, self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    /// The root that pebble's issued certificates chain to (it makes a new one per start).
    async fn issuing_root(&self) -> CertificateDer<'static> {
        let mut stream = handshake(self.management, sni("localhost"))
            .await
            .expect("pebble management handshake");
        let answer = http_get(&mut stream, "localhost", "/roots/0").await;
        let (_, pem) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("pebble root PEM")
    }
}

/// A CA and a `localhost`/127.0.0.1 certificate it signed, for pebble's own HTTPS.
fn write_https_certificate(dir: &Path) -> PathBuf {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key"))
        .expect("ca certificate");
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params");
    let cert = params.signed_by(&key, &ca).expect("pebble certificate");
    std::fs::write(dir.join("pebble.pem"), cert.pem()).expect("write");
    std::fs::write(dir.join("pebble.key"), key.serialize_pem()).expect("write");
    let root = dir.join("pebble-ca.pem");
    std::fs::write(&root, ca.pem()).expect("write");
    root
}

/// A TLS client that trusts only `root`, so a handshake proves the whole chain and the name.
fn verifying_connector(root: CertificateDer<'static>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn acme_settings(config: &mut Config, ca: &TestCa, cert_dir: &Path, challenge: &str) {
    config.tls_listen = Some("127.0.0.1:0".parse().expect("address"));
    config.tls_cert_dir = cert_dir.to_path_buf();
    config.tls_reload_secs = 1;
    config.acme_directory_url = Some(ca.directory_url());
    config.acme_contact_email = Some("ops@alpha.test".into());
    config.acme_ca_root = Some(ca.https_root.clone());
    config.acme_subdomains = true;
    config.acme_challenge = challenge.to_string();
}

/// The certificate state of the custom domain as `domain/list` shows it.
async fn certificate_state(app: &TestApp, company: i64) -> Value {
    let alpha = &app.alpha;
    let listed = app
        .ok(
            &alpha.api_host,
            &alpha.admin_token,
            "domain/list",
            json!({"company_id": company}),
        )
        .await;
    listed["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .find(|d| d["domain"] == CUSTOM)
        .map(|d| d["certificate"].clone())
        .unwrap_or(Value::Null)
}

async fn certificate_lifecycle(backend: Backend, mut ca: TestCa, challenge: &str) {
    let cert_dir = ca.dir.path().join("certs");
    let app = TestApp::spawn(backend).await;
    let tls_addr = tls_server(&app, &ca, &cert_dir, challenge).await;
    ca.start_pebble(app.addr.port(), tls_addr.port()).await;

    let alpha = app.alpha.clone();
    let joe = app.company(&alpha, "joe").await;
    for method in ["domain/add", "domain/verify"] {
        app.ok(
            &alpha.api_host,
            &alpha.admin_token,
            method,
            json!({"company_id": joe, "domain": CUSTOM}),
        )
        .await;
    }

    // The TLS server's loop sees the verified domain; pebble validates over HTTP and signs.
    let mut state = Value::Null;
    for _ in 0..300 {
        state = certificate_state(&app, joe).await;
        if state["status"] == "issued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        state["status"],
        "issued",
        "{state}\npebble log:\n{}",
        ca.log()
    );
    assert!(state["expires_at"].is_string(), "{state}");
    assert_eq!(state["last_error"], Value::Null);

    // Over HTTPS the domain presents a chain that verifies against the CA's root.
    let connector = verifying_connector(ca.issuing_root().await);
    let mut served = None;
    for _ in 0..50 {
        let tcp = TcpStream::connect(tls_addr).await.expect("connect");
        if let Ok(stream) = connector.connect(sni(CUSTOM), tcp).await {
            served = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut stream = served.expect("a trusted certificate for the custom domain");
    let issued = leaf(&stream);
    assert_eq!(dns_names(&issued), vec![CUSTOM]);
    let answer = http_get(&mut stream, CUSTOM, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        handshake(tls_addr, sni("other.example")).await.is_err(),
        "an unknown name still gets no certificate"
    );
    // With `acme_subdomains` the company's subdomain gets its own certificate as well.
    let mut subdomain = None;
    for _ in 0..300 {
        let tcp = TcpStream::connect(tls_addr).await.expect("connect");
        if let Ok(stream) = connector.connect(sni("joe.alpha.test"), tcp).await {
            subdomain = Some(leaf(&stream));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let subdomain = subdomain.expect("a trusted certificate for the company's subdomain");
    assert_eq!(dns_names(&subdomain), vec!["joe.alpha.test"]);
    // Challenge answers are gone once the order is over; bad tokens are simply unknown.
    for token in ["x", "../../etc/passwd", &"a".repeat(300)] {
        let page = app
            .page(CUSTOM, &format!("/.well-known/acme-challenge/{token}"))
            .await;
        assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND, "{token}");
    }

    // A restarted server (same database) serves the same certificate without a new order.
    let restarted = tls_server(&app, &ca, &cert_dir, challenge).await;
    let mut again = None;
    for _ in 0..50 {
        if let Ok(stream) = handshake(restarted, sni(CUSTOM)).await {
            again = Some(leaf(&stream));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(again.as_ref(), Some(&issued), "the stored certificate");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        certificate_state(&app, joe).await["issued_at"],
        state["issued_at"]
    );

    // Deleting the domain takes its certificate away.
    app.ok(
        &alpha.api_host,
        &alpha.admin_token,
        "domain/delete",
        json!({"company_id": joe, "domain": CUSTOM}),
    )
    .await;
    let mut refused = false;
    for _ in 0..50 {
        if handshake(tls_addr, sni(CUSTOM)).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "no certificate for a deleted domain");
}

/// Another server on the app's database with HTTPS and automatic certificates; returns its
/// HTTPS address.
async fn tls_server(app: &TestApp, ca: &TestCa, cert_dir: &Path, challenge: &str) -> SocketAddr {
    let plain = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
    let tls = TcpListener::bind("127.0.0.1:0").await.expect("bind https");
    let tls_addr = tls.local_addr().expect("addr");
    let mut config = app.state.config.clone();
    config.listen = plain.local_addr().expect("addr");
    config.media_udp = "127.0.0.1:0".parse().expect("address");
    acme_settings(&mut config, ca, cert_dir, challenge);
    config.tls_listen = Some(tls_addr);
    let state = AppState::build(config).await.expect("build app");
    tokio::spawn(confab::app::serve_all(
        state,
        plain,
        Some(tls),
        std::future::pending(),
    ));
    tls_addr
}
