//! Defaults, environment overrides and validation of the configuration.
use super::*;

#[test]
fn env_overrides_defaults() {
    let mut config = Config::default();
    config
        .apply_env(|name| match name {
            "CONFAB_LISTEN" => Some("0.0.0.0:9000".into()),
            "CONFAB_PUBLIC_PORT" => Some("443".into()),
            "CONFAB_PUBLIC_SCHEME" => Some("https".into()),
            _ => None,
        })
        .unwrap();
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(
        config.base_url("joe.example.com"),
        "https://joe.example.com"
    );
}

#[test]
fn listen_port_is_the_default_public_port() {
    let config = Config::default();
    assert_eq!(
        config.base_url("joe.localhost"),
        "http://joe.localhost:8080"
    );
}

#[test]
fn bad_values_name_the_variable() {
    let mut config = Config::default();
    let err = config
        .apply_env(|name| (name == "CONFAB_PUBLIC_PORT").then(|| "eighty".into()))
        .unwrap_err();
    assert!(err.to_string().contains("CONFAB_PUBLIC_PORT"), "{err}");
}

#[test]
fn tls_settings() {
    let mut config = Config::default();
    config
        .apply_env(|name| match name {
            "CONFAB_TLS_LISTEN" => Some("0.0.0.0:8443".into()),
            "CONFAB_TLS_CERT_DIR" => Some("/etc/certs".into()),
            "CONFAB_DOMAIN_VERIFY_CONNECT_TO" => Some("".into()),
            _ => None,
        })
        .unwrap();
    assert_eq!(config.tls_listen.map(|a| a.port()), Some(8443));
    assert_eq!(config.tls_cert_dir, PathBuf::from("/etc/certs"));
    assert_eq!(config.domain_verify_connect_to, None);
    assert_eq!(
        config.https_base_url("meet.example.com"),
        "https://meet.example.com:8443"
    );
    let err = config
        .apply_env(|name| (name == "CONFAB_TLS_LISTEN").then(|| "port 443".into()))
        .unwrap_err();
    assert!(err.to_string().contains("CONFAB_TLS_LISTEN"), "{err}");
    config.tls_reload_secs = 0;
    assert!(config.validate().is_err());
}

#[test]
fn livestream_viewer_cap() {
    let mut config = Config::default();
    assert_eq!(config.livestream_max_viewers, 200);
    config
        .apply_env(|name| (name == "CONFAB_LIVESTREAM_MAX_VIEWERS").then(|| "50".into()))
        .unwrap();
    assert_eq!(config.livestream_max_viewers, 50);
    let err = config
        .apply_env(|name| (name == "CONFAB_LIVESTREAM_MAX_VIEWERS").then(|| "many".into()))
        .unwrap_err();
    assert!(
        err.to_string().contains("CONFAB_LIVESTREAM_MAX_VIEWERS"),
        "{err}"
    );
    config.livestream_max_viewers = 0;
    let err = config.validate().unwrap_err();
    assert!(err.to_string().contains("livestream_max_viewers"), "{err}");
}

#[test]
fn signal_write_timeout() {
    let mut config = Config::default();
    assert_eq!(config.signal_write_timeout_secs, 5);
    config
        .apply_env(|name| (name == "CONFAB_SIGNAL_WRITE_TIMEOUT_SECS").then(|| "20".into()))
        .unwrap();
    assert_eq!(config.signal_write_timeout_secs, 20);
    assert!(config.validate().is_ok());
    for bad in [0, 301] {
        config.signal_write_timeout_secs = bad;
        let err = config.validate().unwrap_err();
        assert!(
            err.to_string().contains("signal_write_timeout_secs"),
            "{err}"
        );
    }
}

#[test]
fn acme_settings_are_checked() {
    let acme = |url: &str, tls: bool, email: Option<&str>| Config {
        acme_directory_url: Some(url.into()),
        acme_contact_email: email.map(Into::into),
        tls_listen: tls.then(|| "127.0.0.1:8443".parse().unwrap()),
        ..Config::default()
    };
    let ok = acme("https://acme.example/dir", true, Some("ops@example.com"));
    assert!(ok.validate().is_ok());
    let message = |c: Config| c.validate().unwrap_err().to_string();
    assert!(message(acme("http://acme.example/dir", true, None)).contains("https://"));
    assert!(message(acme("https://acme.example/dir", false, None)).contains("tls_listen"));
    assert!(message(acme("https://acme.example/dir", true, Some("nobody"))).contains("email"));
    let mut dns = acme("https://acme.example/dir", true, None);
    dns.acme_challenge = "dns-01".into();
    assert!(message(dns).contains("acme_challenge"));
    let mut config = Config::default();
    config
        .apply_env(|name| match name {
            "CONFAB_ACME_DIRECTORY_URL" => Some("https://ca.test/dir".into()),
            "CONFAB_ACME_CA_ROOT" => Some("/etc/ca.pem".into()),
            "CONFAB_ACME_SUBDOMAINS" => Some("true".into()),
            "CONFAB_OUTBOUND_ALLOW_PRIVATE_ADDRESSES" => Some("true".into()),
            "CONFAB_MAIL_SENDER_DOMAINS" => Some("Mail.Example.com, example.org".into()),
            "CONFAB_ACME_CHALLENGE" => Some("TLS-ALPN-01".into()),
            _ => None,
        })
        .unwrap();
    assert!(config.acme_subdomains);
    assert!(config.outbound_allow_private_addresses);
    assert_eq!(
        config.mail_sender_domains,
        ["mail.example.com", "example.org"]
    );
    assert_eq!(config.acme_challenge, "tls-alpn-01");
    assert_eq!(
        config.acme_directory_url.as_deref(),
        Some("https://ca.test/dir")
    );
    assert_eq!(config.acme_ca_root, Some(PathBuf::from("/etc/ca.pem")));
}

#[test]
fn debug_redacts_secrets() {
    let config = Config {
        smtp_url: Some("smtp://mailer:hunter2@mail.example.com:587".into()),
        bootstrap_password: Some("topsecret".into()),
        ..Config::default()
    };
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("topsecret"),
        "{shown}"
    );
}

#[test]
fn metrics_listener_is_off_by_default_and_never_the_public_one() {
    let mut config = Config::default();
    assert_eq!(config.metrics_listen, None);
    config
        .apply_env(|name| (name == "CONFAB_METRICS_LISTEN").then(|| "127.0.0.1:9090".into()))
        .unwrap();
    assert_eq!(config.metrics_listen.map(|a| a.port()), Some(9090));
    assert!(config.validate().is_ok());
    let err = config
        .apply_env(|name| (name == "CONFAB_METRICS_LISTEN").then(|| "9090".into()))
        .unwrap_err();
    assert!(err.to_string().contains("CONFAB_METRICS_LISTEN"), "{err}");
    for bad in ["127.0.0.1:8080", "127.0.0.1:0"] {
        config.metrics_listen = Some(bad.parse().unwrap());
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("metrics_listen"), "{bad}: {err}");
    }
    config
        .apply_env(|name| (name == "CONFAB_METRICS_LISTEN").then(|| "".into()))
        .unwrap();
    assert_eq!(config.metrics_listen, None, "empty turns it off");
}
