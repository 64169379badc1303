//! Layered configuration: built-in defaults, then an optional `confab.toml`, then `CONFAB_*` variables.

use std::{fmt, net::SocketAddr, path::PathBuf};

use serde::Deserialize;

/// Effective configuration of one server process.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// `http` or `https`, used when building absolute URLs.
    pub public_scheme: String,
    /// Port used in absolute URLs; `None` means the listen port.
    pub public_port: Option<u16>,
    /// `smtp://user:pass@host:port` or `smtps://...`; unset writes `.eml` files instead.
    pub smtp_url: Option<String>,
    /// The SFU's single UDP port.
    pub media_udp: SocketAddr,
    /// Address advertised in ICE candidates.
    pub media_public_ip: Option<String>,
    /// Folder for the SQLite default database and the mail outbox.
    pub data_dir: PathBuf,
    /// Password of the demo reseller admin created on an empty database.
    pub bootstrap_password: Option<String>,
    /// Whether `X-Forwarded-Host` / `X-Forwarded-For` from a reverse proxy are believed.
    pub trust_forwarded_headers: bool,
    /// Lifetime of an API session from `authenticate`, in seconds.
    pub session_ttl_secs: i64,
    /// Lifetime of a password creation link, in seconds.
    pub password_link_ttl_secs: i64,
    /// Login attempts allowed per account per minute.
    pub login_attempts_per_account_per_minute: u32,
    /// Login attempts allowed per client address per minute.
    pub login_attempts_per_address_per_minute: u32,
    /// Login attempts allowed per minute for the whole server, all addresses together.
    pub login_attempts_per_minute: u32,
    /// Lifetime of a host's browser session (from `/auth`, `/login` or OpenID Connect), in seconds.
    pub browser_session_ttl_secs: i64,
    /// Failed `/auth` sign-ins allowed per client address per minute.
    pub auth_failures_per_address_per_minute: u32,
    /// Local part of the sender address of outgoing mail (`<local>@<reseller domain>`).
    pub mail_from_local_part: String,
    /// Meeting joins (and failed PIN attempts) allowed per client address per minute.
    pub joins_per_address_per_minute: u32,
    /// Highest video bitrate the SFU lets a publisher send (REMB cap), kbit/s.
    pub media_max_video_kbps: u32,
    /// Live stream viewers (`/livestream/<access_code>`) allowed per room at once.
    pub livestream_max_viewers: u32,
    /// Longest one write to a signalling WebSocket may take before the client counts as lost
    /// (it stopped reading, or its network went away without a reset), in seconds.
    pub signal_write_timeout_secs: u64,
    /// STUN/TURN servers handed to browsers (`turn:host:3478`, `turns:...`, `stun:...`), for
    /// clients whose networks block UDP to the media port.
    pub turn_urls: Vec<String>,
    /// TURN user name handed to browsers with `turn_urls`.
    pub turn_username: Option<String>,
    /// TURN password handed to browsers with `turn_urls`.
    pub turn_credential: Option<String>,
    /// When reminder emails go out, in seconds before a conference starts.
    pub reminder_offsets_secs: Vec<i64>,
    /// How long before its start a conference's one-time URL opens, in seconds.
    pub conference_join_early_secs: i64,
    /// How often the scheduler looks for due jobs (reminders), in seconds.
    pub scheduler_poll_secs: u64,
    /// Address the HTTPS listener binds (e.g. `0.0.0.0:443`); unset = no TLS termination here.
    pub tls_listen: Option<SocketAddr>,
    /// Address of the Prometheus listener (`GET /metrics`), e.g. `127.0.0.1:9090`; unset = none.
    pub metrics_listen: Option<SocketAddr>,
    /// Folder of `<hostname>.pem` + `<hostname>.key` (and `_wildcard.<domain>.pem/.key`) files.
    pub tls_cert_dir: PathBuf,
    /// How often the certificate folder is checked for changed files, in seconds.
    pub tls_reload_secs: u64,
    /// Where `domain/verify` connects instead of `<domain>:80` (tests, split-horizon DNS).
    pub domain_verify_connect_to: Option<SocketAddr>,
    /// Whether requests the server makes for tenants (OpenID Connect providers, domain checks)
    /// may go to loopback, private and link-local addresses.
    pub outbound_allow_private_addresses: bool,
    /// Domains (and their subdomains) any tenant may use as a theme's `sender_email`, besides its
    /// reseller's domain and its own verified custom domains.
    pub mail_sender_domains: Vec<String>,
    /// ACME directory URL (e.g. Let's Encrypt's); set = automatic certificates for verified
    /// custom domains. Setting it agrees to that CA's terms of service.
    pub acme_directory_url: Option<String>,
    /// Contact address given to the ACME CA (expiry notices).
    pub acme_contact_email: Option<String>,
    /// PEM root certificate to trust for the ACME directory itself (a private or test CA).
    pub acme_ca_root: Option<PathBuf>,
    /// Also obtain certificates for companies' subdomains and resellers' API hostnames that no
    /// file covers (one certificate per hostname; a wildcard file is the alternative).
    pub acme_subdomains: bool,
    /// How the CA checks control of a name: `http-01` (port 80 of the plain listener) or
    /// `tls-alpn-01` (port 443 of the TLS listener, for servers reachable on 443 only).
    pub acme_challenge: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/confab.db".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_scheme: "http".into(),
            public_port: None,
            smtp_url: None,
            media_udp: SocketAddr::from(([127, 0, 0, 1], 10000)),
            media_public_ip: None,
            data_dir: PathBuf::from("data"),
            bootstrap_password: None,
            trust_forwarded_headers: false,
            session_ttl_secs: 24 * 3600,
            password_link_ttl_secs: 7 * 24 * 3600,
            login_attempts_per_account_per_minute: 10,
            login_attempts_per_address_per_minute: 30,
            login_attempts_per_minute: 600,
            mail_from_local_part: "no-reply".into(),
            browser_session_ttl_secs: 14 * 24 * 3600,
            auth_failures_per_address_per_minute: 20,
            joins_per_address_per_minute: 30,
            media_max_video_kbps: 1500,
            livestream_max_viewers: 200,
            signal_write_timeout_secs: 5,
            turn_urls: Vec::new(),
            turn_username: None,
            turn_credential: None,
            reminder_offsets_secs: vec![15 * 60],
            conference_join_early_secs: 15 * 60,
            scheduler_poll_secs: 30,
            tls_listen: None,
            metrics_listen: None,
            tls_cert_dir: PathBuf::from("data/certs"),
            tls_reload_secs: 30,
            domain_verify_connect_to: None,
            outbound_allow_private_addresses: false,
            mail_sender_domains: Vec::new(),
            acme_directory_url: None,
            acme_contact_email: None,
            acme_ca_root: None,
            acme_subdomains: false,
            acme_challenge: "http-01".into(),
        }
    }
}

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid value for {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    /// Loads `file` (if any) and applies `CONFAB_*` overrides from the process environment.
    pub fn load(file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let file = file.or_else(|| std::env::var_os("CONFAB_CONFIG").map(PathBuf::from));
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path,
                    source: Box::new(source),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.public_scheme != "http" && self.public_scheme != "https" {
            return Err(invalid("public_scheme", "must be http or https"));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            return Err(invalid(
                "database_url",
                "must start with sqlite: or postgres://",
            ));
        }
        if self.session_ttl_secs <= 0 {
            return Err(invalid("session_ttl_secs", "must be positive"));
        }
        if self.password_link_ttl_secs <= 0 {
            return Err(invalid("password_link_ttl_secs", "must be positive"));
        }
        if self.login_attempts_per_account_per_minute == 0 {
            return Err(invalid(
                "login_attempts_per_account_per_minute",
                "must be at least 1",
            ));
        }
        if self.login_attempts_per_address_per_minute == 0 {
            return Err(invalid(
                "login_attempts_per_address_per_minute",
                "must be at least 1",
            ));
        }
        if self.login_attempts_per_minute == 0 {
            return Err(invalid("login_attempts_per_minute", "must be at least 1"));
        }
        if self.joins_per_address_per_minute == 0 {
            return Err(invalid(
                "joins_per_address_per_minute",
                "must be at least 1",
            ));
        }
        // Every viewer is a peer connection of the SFU: the cap bounds what one room can cost.
        if !(1..=100_000).contains(&self.livestream_max_viewers) {
            return Err(invalid(
                "livestream_max_viewers",
                "must be between 1 and 100000",
            ));
        }
        // Longer than a few minutes keeps a dead client's session, and its room seat, for that long.
        if !(1..=300).contains(&self.signal_write_timeout_secs) {
            return Err(invalid(
                "signal_write_timeout_secs",
                "must be between 1 and 300",
            ));
        }
        if self.media_max_video_kbps < 64 {
            return Err(invalid("media_max_video_kbps", "must be at least 64"));
        }
        if let Some(ip) = &self.media_public_ip
            && ip.parse::<std::net::IpAddr>().is_err()
        {
            return Err(invalid(
                "media_public_ip",
                &format!("`{ip}` is not an IP address"),
            ));
        }
        if let Some(url) = self.turn_urls.iter().find(|u| {
            !["turn:", "turns:", "stun:"]
                .iter()
                .any(|p| u.starts_with(p))
        }) {
            return Err(invalid(
                "turn_urls",
                &format!("`{url}` must start with turn:, turns: or stun:"),
            ));
        }
        if let Some(domain) = self.mail_sender_domains.iter().find(|d| {
            d.is_empty()
                || !d.contains('.')
                || d.contains(['@', ' ', '/', ':'])
                || d.starts_with('.')
        }) {
            return Err(invalid(
                "mail_sender_domains",
                &format!("`{domain}` is not a domain name such as example.com"),
            ));
        }
        let local = &self.mail_from_local_part;
        if local.is_empty() || local.contains(['@', ' ', '<', '>']) {
            return Err(invalid(
                "mail_from_local_part",
                "must be the part of an address before @",
            ));
        }
        if self.browser_session_ttl_secs <= 0 {
            return Err(invalid("browser_session_ttl_secs", "must be positive"));
        }
        if self.auth_failures_per_address_per_minute == 0 {
            return Err(invalid(
                "auth_failures_per_address_per_minute",
                "must be at least 1",
            ));
        }
        if self.reminder_offsets_secs.iter().any(|o| *o <= 0) {
            return Err(invalid("reminder_offsets_secs", "offsets must be positive"));
        }
        if self.conference_join_early_secs < 0 {
            return Err(invalid(
                "conference_join_early_secs",
                "must not be negative",
            ));
        }
        if self.scheduler_poll_secs == 0 {
            return Err(invalid("scheduler_poll_secs", "must be at least 1"));
        }
        if self.tls_reload_secs == 0 {
            return Err(invalid("tls_reload_secs", "must be at least 1"));
        }
        if let Some(tls) = self.tls_listen
            && tls == self.listen
        {
            return Err(invalid("tls_listen", "must differ from listen"));
        }
        if let Some(metrics) = self.metrics_listen {
            // Port 0 would pick a port nobody can learn, so a scraper could never find it.
            if metrics.port() == 0 {
                return Err(invalid("metrics_listen", "needs a port other than 0"));
            }
            if metrics == self.listen || Some(metrics) == self.tls_listen {
                return Err(invalid(
                    "metrics_listen",
                    "must differ from listen and tls_listen: metrics are never public",
                ));
            }
        }
        self.validate_acme()
    }

    fn validate_acme(&self) -> Result<(), ConfigError> {
        let Some(directory) = &self.acme_directory_url else {
            return Ok(());
        };
        if !url::Url::parse(directory).is_ok_and(|u| u.scheme() == "https") {
            return Err(invalid(
                "acme_directory_url",
                "must be an https:// URL of an ACME directory",
            ));
        }
        if self.tls_listen.is_none() {
            return Err(invalid(
                "acme_directory_url",
                "needs tls_listen: certificates are only useful to the HTTPS listener",
            ));
        }
        if !["http-01", "tls-alpn-01"].contains(&self.acme_challenge.as_str()) {
            return Err(invalid("acme_challenge", "must be http-01 or tls-alpn-01"));
        }
        if let Some(email) = &self.acme_contact_email
            && (email.contains(char::is_whitespace) || !email.contains('@'))
        {
            return Err(invalid("acme_contact_email", "must be an email address"));
        }
        Ok(())
    }

    /// Port written into absolute URLs, or `None` when it is the scheme's default.
    pub fn url_port(&self) -> Option<u16> {
        let port = self.public_port.unwrap_or(self.listen.port());
        match (self.public_scheme.as_str(), port) {
            ("http", 80) | ("https", 443) => None,
            _ => Some(port),
        }
    }

    /// Absolute base URL (`scheme://host[:port]`) of a tenant hostname.
    pub fn base_url(&self, hostname: &str) -> String {
        match self.url_port() {
            Some(port) => format!("{}://{hostname}:{port}", self.public_scheme),
            None => format!("{}://{hostname}", self.public_scheme),
        }
    }

    /// Base URL of a hostname on the HTTPS listener, for redirects from plain HTTP: the public
    /// port when the public scheme is https, else the TLS listen port (left out when 443).
    pub fn https_base_url(&self, hostname: &str) -> String {
        let port = match (
            self.public_scheme.as_str(),
            self.public_port,
            self.tls_listen,
        ) {
            ("https", Some(port), _) => port,
            (_, _, Some(tls)) => tls.port(),
            _ => 443,
        };
        if port == 443 {
            format!("https://{hostname}")
        } else {
            format!("https://{hostname}:{port}")
        }
    }

    /// Mail outbox folder used when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }
}

fn invalid(name: &'static str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.to_string(),
    }
}

/// Hides credentials embedded in a URL (`scheme://user:secret@host` → `scheme://user:***@host`).
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "<unparseable>".into(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("listen", &self.listen)
            .field("public_scheme", &self.public_scheme)
            .field("public_port", &self.public_port)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("media_udp", &self.media_udp)
            .field("media_public_ip", &self.media_public_ip)
            .field("data_dir", &self.data_dir)
            .field(
                "bootstrap_password",
                &self.bootstrap_password.as_ref().map(|_| "***"),
            )
            .field("trust_forwarded_headers", &self.trust_forwarded_headers)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("password_link_ttl_secs", &self.password_link_ttl_secs)
            .field("browser_session_ttl_secs", &self.browser_session_ttl_secs)
            .field(
                "joins_per_address_per_minute",
                &self.joins_per_address_per_minute,
            )
            .field("media_max_video_kbps", &self.media_max_video_kbps)
            .field("livestream_max_viewers", &self.livestream_max_viewers)
            .field("signal_write_timeout_secs", &self.signal_write_timeout_secs)
            .field("turn_urls", &self.turn_urls)
            .field("turn_username", &self.turn_username)
            .field(
                "turn_credential",
                &self.turn_credential.as_ref().map(|_| "***"),
            )
            .field("reminder_offsets_secs", &self.reminder_offsets_secs)
            .field(
                "conference_join_early_secs",
                &self.conference_join_early_secs,
            )
            .field("scheduler_poll_secs", &self.scheduler_poll_secs)
            .field("tls_listen", &self.tls_listen)
            .field("metrics_listen", &self.metrics_listen)
            .field("tls_cert_dir", &self.tls_cert_dir)
            .field("tls_reload_secs", &self.tls_reload_secs)
            .field("domain_verify_connect_to", &self.domain_verify_connect_to)
            .field(
                "outbound_allow_private_addresses",
                &self.outbound_allow_private_addresses,
            )
            .field("mail_sender_domains", &self.mail_sender_domains)
            .field("acme_directory_url", &self.acme_directory_url)
            .field("acme_contact_email", &self.acme_contact_email)
            .field("acme_ca_root", &self.acme_ca_root)
            .field("acme_subdomains", &self.acme_subdomains)
            .field("acme_challenge", &self.acme_challenge)
            .finish_non_exhaustive()
    }
}

mod env;
#[cfg(test)]
mod tests;
