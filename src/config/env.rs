//! Overrides from `CONFAB_*` environment variables, applied over the file and the defaults.

use std::{fmt, path::PathBuf};

use super::{Config, ConfigError, invalid};

impl Config {
    /// Applies overrides from a variable lookup (the environment in production, a map in tests).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("CONFAB_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = var("CONFAB_LISTEN") {
            self.listen = parse("CONFAB_LISTEN", &v)?;
        }
        if let Some(v) = var("CONFAB_PUBLIC_SCHEME") {
            self.public_scheme = v;
        }
        if let Some(v) = var("CONFAB_PUBLIC_PORT") {
            self.public_port = Some(parse("CONFAB_PUBLIC_PORT", &v)?);
        }
        if let Some(v) = var("CONFAB_SMTP_URL").filter(|v| !v.is_empty()) {
            self.smtp_url = Some(v);
        }
        if let Some(v) = var("CONFAB_MEDIA_UDP") {
            self.media_udp = parse("CONFAB_MEDIA_UDP", &v)?;
        }
        if let Some(v) = var("CONFAB_MEDIA_PUBLIC_IP").filter(|v| !v.is_empty()) {
            self.media_public_ip = Some(v);
        }
        if let Some(v) = var("CONFAB_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = var("CONFAB_BOOTSTRAP_PASSWORD").filter(|v| !v.is_empty()) {
            self.bootstrap_password = Some(v);
        }
        if let Some(v) = var("CONFAB_TRUST_FORWARDED_HEADERS") {
            self.trust_forwarded_headers = parse_bool("CONFAB_TRUST_FORWARDED_HEADERS", &v)?;
        }
        if let Some(v) = var("CONFAB_SESSION_TTL_SECS") {
            self.session_ttl_secs = parse("CONFAB_SESSION_TTL_SECS", &v)?;
        }
        if let Some(v) = var("CONFAB_PASSWORD_LINK_TTL_SECS") {
            self.password_link_ttl_secs = parse("CONFAB_PASSWORD_LINK_TTL_SECS", &v)?;
        }
        if let Some(v) = var("CONFAB_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE") {
            self.login_attempts_per_account_per_minute =
                parse("CONFAB_LOGIN_ATTEMPTS_PER_ACCOUNT_PER_MINUTE", &v)?;
        }
        if let Some(v) = var("CONFAB_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE") {
            self.login_attempts_per_address_per_minute =
                parse("CONFAB_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", &v)?;
        }
        if let Some(v) = var("CONFAB_LOGIN_ATTEMPTS_PER_MINUTE") {
            self.login_attempts_per_minute = parse("CONFAB_LOGIN_ATTEMPTS_PER_MINUTE", &v)?;
        }
        if let Some(v) = var("CONFAB_MAIL_FROM_LOCAL_PART").filter(|v| !v.is_empty()) {
            self.mail_from_local_part = v;
        }
        if let Some(v) = var("CONFAB_BROWSER_SESSION_TTL_SECS") {
            self.browser_session_ttl_secs = parse("CONFAB_BROWSER_SESSION_TTL_SECS", &v)?;
        }
        if let Some(v) = var("CONFAB_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE") {
            self.auth_failures_per_address_per_minute =
                parse("CONFAB_AUTH_FAILURES_PER_ADDRESS_PER_MINUTE", &v)?;
        }
        if let Some(v) = var("CONFAB_JOINS_PER_ADDRESS_PER_MINUTE") {
            self.joins_per_address_per_minute = parse("CONFAB_JOINS_PER_ADDRESS_PER_MINUTE", &v)?;
        }
        if let Some(v) = var("CONFAB_SIGNAL_WRITE_TIMEOUT_SECS") {
            self.signal_write_timeout_secs = parse("CONFAB_SIGNAL_WRITE_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = var("CONFAB_LIVESTREAM_MAX_VIEWERS") {
            self.livestream_max_viewers = parse("CONFAB_LIVESTREAM_MAX_VIEWERS", &v)?;
        }
        if let Some(v) = var("CONFAB_OUTBOUND_ALLOW_PRIVATE_ADDRESSES") {
            self.outbound_allow_private_addresses =
                parse_bool("CONFAB_OUTBOUND_ALLOW_PRIVATE_ADDRESSES", &v)?;
        }
        if let Some(v) = var("CONFAB_MAIL_SENDER_DOMAINS") {
            self.mail_sender_domains = v
                .split(',')
                .map(|d| d.trim().to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect();
        }
        if let Some(v) = var("CONFAB_TURN_URLS") {
            self.turn_urls = v
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(String::from)
                .collect();
        }
        if let Some(v) = var("CONFAB_TURN_USERNAME").filter(|v| !v.is_empty()) {
            self.turn_username = Some(v);
        }
        if let Some(v) = var("CONFAB_TURN_CREDENTIAL").filter(|v| !v.is_empty()) {
            self.turn_credential = Some(v);
        }
        if let Some(v) = var("CONFAB_MEDIA_MAX_VIDEO_KBPS") {
            self.media_max_video_kbps = parse("CONFAB_MEDIA_MAX_VIDEO_KBPS", &v)?;
        }
        if let Some(v) = var("CONFAB_REMINDER_OFFSETS_SECS") {
            self.reminder_offsets_secs = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| parse("CONFAB_REMINDER_OFFSETS_SECS", s))
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = var("CONFAB_CONFERENCE_JOIN_EARLY_SECS") {
            self.conference_join_early_secs = parse("CONFAB_CONFERENCE_JOIN_EARLY_SECS", &v)?;
        }
        if let Some(v) = var("CONFAB_SCHEDULER_POLL_SECS") {
            self.scheduler_poll_secs = parse("CONFAB_SCHEDULER_POLL_SECS", &v)?;
        }
        if let Some(v) = var("CONFAB_TLS_LISTEN") {
            self.tls_listen = optional("CONFAB_TLS_LISTEN", &v)?;
        }
        if let Some(v) = var("CONFAB_METRICS_LISTEN") {
            self.metrics_listen = optional("CONFAB_METRICS_LISTEN", &v)?;
        }
        if let Some(v) = var("CONFAB_TLS_CERT_DIR").filter(|v| !v.is_empty()) {
            self.tls_cert_dir = PathBuf::from(v);
        }
        if let Some(v) = var("CONFAB_TLS_RELOAD_SECS") {
            self.tls_reload_secs = parse("CONFAB_TLS_RELOAD_SECS", &v)?;
        }
        if let Some(v) = var("CONFAB_DOMAIN_VERIFY_CONNECT_TO") {
            self.domain_verify_connect_to = optional("CONFAB_DOMAIN_VERIFY_CONNECT_TO", &v)?;
        }
        if let Some(v) = var("CONFAB_ACME_DIRECTORY_URL") {
            self.acme_directory_url = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = var("CONFAB_ACME_CONTACT_EMAIL") {
            self.acme_contact_email = Some(v).filter(|v| !v.trim().is_empty());
        }
        if let Some(v) = var("CONFAB_ACME_CA_ROOT") {
            self.acme_ca_root = Some(v).filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        }
        if let Some(v) = var("CONFAB_ACME_CHALLENGE").filter(|v| !v.trim().is_empty()) {
            self.acme_challenge = v.trim().to_ascii_lowercase();
        }
        if let Some(v) = var("CONFAB_ACME_SUBDOMAINS") {
            self.acme_subdomains = parse_bool("CONFAB_ACME_SUBDOMAINS", &v)?;
        }
        Ok(())
    }
}

fn parse<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e: T::Err| invalid(name, &e.to_string()))
}

/// An optional value: empty means unset.
fn optional<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<Option<T>, ConfigError>
where
    T::Err: fmt::Display,
{
    if value.trim().is_empty() {
        Ok(None)
    } else {
        parse(name, value).map(Some)
    }
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(invalid(name, &format!("`{other}` is not a boolean"))),
    }
}
