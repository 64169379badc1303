//! Automatic certificates through ACME (RFC 8555) for verified custom domains (and, when the
//! operator asks, companies' subdomains).
//!
//! Every server runs the same loop: it loads the certificates the database holds into its
//! certificate store, and orders one for each verified custom domain that has none (or whose
//! certificate has used two thirds of its lifetime), unless the operator's files already cover
//! that name. A lease in the database lets one server at a time order for a hostname; HTTP-01
//! answers live in the database too, so the CA may reach any server. Failures back off
//! exponentially per hostname, from a minute up to a day.

pub mod alpn;
pub mod order;

use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};

use instant_acme::Account;
use tokio::sync::Notify;

use super::certs::{CertStore, certified_from_pem};
use crate::{
    config::Config,
    store::{self, Db, acme::CertificateRow, now},
};

/// How long one server may hold the right to order for a hostname.
const LEASE_SECS: i64 = 10 * 60;
/// Longest a whole order may take before it counts as failed.
const ORDER_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const FIRST_RETRY_SECS: i64 = 60;
const MAX_RETRY_SECS: i64 = 24 * 3600;

/// Where certificates come from and who the CA may contact.
#[derive(Debug, Clone)]
pub struct AcmeSettings {
    pub directory_url: String,
    pub contact_email: Option<String>,
    pub ca_root: Option<PathBuf>,
    /// Companies' subdomains (and resellers' API hostnames) get certificates too.
    pub subdomains: bool,
    pub challenge: Challenge,
}

/// How the CA checks that this server answers for a hostname.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// A token over plain HTTP on port 80 (`/.well-known/acme-challenge/`).
    Http01,
    /// A special certificate in a TLS handshake on port 443 (ALPN `acme-tls/1`).
    TlsAlpn01,
}

impl AcmeSettings {
    /// The ACME settings, when automatic certificates are turned on.
    pub fn from_config(config: &Config) -> Option<Self> {
        Some(Self {
            directory_url: config.acme_directory_url.clone()?,
            contact_email: config.acme_contact_email.clone(),
            ca_root: config.acme_ca_root.clone(),
            subdomains: config.acme_subdomains,
            challenge: match config.acme_challenge.as_str() {
                "tls-alpn-01" => Challenge::TlsAlpn01,
                _ => Challenge::Http01,
            },
        })
    }
}

/// The certificate loop of one server; `wake` starts a pass at once (a domain was verified).
pub async fn run(
    db: Db,
    settings: AcmeSettings,
    certs: Arc<CertStore>,
    wake: Arc<Notify>,
    every: Duration,
) {
    let mut manager = Manager {
        db,
        settings,
        certs,
        every,
        account: None,
        loaded: None,
        alpn_loaded: HashMap::new(),
    };
    loop {
        if let Err(err) = manager.order_due().await {
            tracing::warn!(error = %format!("{err:#}"), "ACME pass failed");
        }
        if let Err(err) = manager.load().await {
            tracing::warn!(%err, "loading ACME certificates failed");
        }
        if manager.settings.challenge == Challenge::TlsAlpn01
            && let Err(err) = manager.load_alpn_challenges().await
        {
            tracing::warn!(%err, "loading TLS-ALPN-01 challenges failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = wake.notified() => {}
        }
    }
}

struct Manager {
    db: Db,
    settings: AcmeSettings,
    certs: Arc<CertStore>,
    every: Duration,
    account: Option<Account>,
    /// Fingerprint of the certificate rows last loaded.
    loaded: Option<(i64, i64)>,
    /// TLS-ALPN-01 challenge certificates made from the database's open challenges, by token.
    alpn_loaded: HashMap<String, (String, Arc<rustls::sign::CertifiedKey>)>,
}

impl Manager {
    /// Puts the database's certificates into the store when they changed (here or elsewhere).
    async fn load(&mut self) -> anyhow::Result<()> {
        let fingerprint = store::acme::fingerprint(&self.db).await?;
        if self.loaded == Some(fingerprint) {
            return Ok(());
        }
        let mut loaded = HashMap::new();
        for (hostname, chain, key) in store::acme::pems(&self.db).await? {
            match certified_from_pem(&chain, &key) {
                Ok(certified) => {
                    loaded.insert(hostname, Arc::new(certified));
                }
                Err(err) => tracing::warn!(%err, host = hostname, "stored certificate unusable"),
            }
        }
        tracing::info!(count = loaded.len(), "ACME certificates loaded");
        self.certs.set_acme(loaded);
        self.loaded = Some(fingerprint);
        Ok(())
    }

    /// Shows the open challenges of orders placed by any server (a CA may reach this one).
    async fn load_alpn_challenges(&mut self) -> anyhow::Result<()> {
        let open = store::acme::open_challenges(&self.db).await?;
        self.alpn_loaded
            .retain(|token, _| open.iter().any(|(t, _, _)| t == token));
        for (token, hostname, key_authorization) in open {
            if self.alpn_loaded.contains_key(&token) {
                continue;
            }
            let cert = alpn::challenge_certificate(&hostname, &key_authorization)?;
            self.alpn_loaded.insert(token, (hostname, Arc::new(cert)));
        }
        self.certs.set_alpn_challenges(
            self.alpn_loaded
                .values()
                .map(|(hostname, cert)| (hostname.clone(), cert.clone()))
                .collect(),
        );
        Ok(())
    }

    /// Orders certificates for the hostnames that need one, and forgets removed domains.
    async fn order_due(&mut self) -> anyhow::Result<()> {
        let hostnames =
            store::custom_domains::all_verified(&self.db, self.settings.subdomains).await?;
        let rows: HashMap<String, CertificateRow> = store::acme::certificates(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.hostname.clone(), row))
            .collect();
        let wanted: std::collections::HashSet<&String> = hostnames.iter().collect();
        for gone in rows.keys().filter(|h| !wanted.contains(h)) {
            store::acme::delete_certificate(&self.db, gone).await?;
        }
        for hostname in hostnames {
            if !certifiable(&hostname) || self.certs.covered_by_files(&hostname) {
                continue;
            }
            let row = rows.get(&hostname);
            if row.is_some_and(|row| !due(row, now())) {
                continue;
            }
            if !store::acme::claim(&self.db, &hostname, now() + LEASE_SECS).await? {
                continue;
            }
            let failures = row.map_or(0, |row| row.failures);
            self.order_one(&hostname, failures).await?;
        }
        Ok(())
    }

    /// One hostname's order; a failure is recorded against it, not returned.
    async fn order_one(&mut self, hostname: &str, failures: i64) -> anyhow::Result<()> {
        tracing::info!(host = hostname, "ordering a certificate");
        let outcome = match tokio::time::timeout(ORDER_TIMEOUT, self.try_order(hostname)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(anyhow::anyhow!(
                "the order took longer than {ORDER_TIMEOUT:?}"
            )),
        };
        store::acme::clear_challenges(&self.db, hostname).await?;
        self.certs.set_alpn_challenge(hostname, None);
        match outcome {
            Ok(issued) => {
                store::acme::save_certificate(
                    &self.db,
                    hostname,
                    &issued.chain_pem,
                    &issued.key_pem,
                    (issued.not_before, issued.not_after),
                )
                .await?;
                tracing::info!(
                    host = hostname,
                    not_after = issued.not_after,
                    "certificate issued"
                );
            }
            Err(err) => {
                let error = format!("{err:#}");
                if error.contains("accountDoesNotExist") {
                    // The CA forgot the account (a test CA restarted): register anew next time.
                    store::acme::delete_account(&self.db, &self.settings.directory_url).await?;
                    self.account = None;
                }
                let retry_in = retry_delay(failures);
                tracing::warn!(host = hostname, %error, retry_in, "certificate order failed");
                store::acme::record_failure(&self.db, hostname, &error, now() + retry_in).await?;
            }
        }
        Ok(())
    }

    async fn try_order(&mut self, hostname: &str) -> anyhow::Result<order::Issued> {
        let account = match &self.account {
            Some(account) => account.clone(),
            None => {
                let account = order::account(&self.db, &self.settings).await?;
                self.account = Some(account.clone());
                account
            }
        };
        let responder = order::Responder {
            db: &self.db,
            certs: &self.certs,
            challenge: self.settings.challenge,
            settle: self.every,
        };
        order::issue(&responder, &account, hostname).await
    }
}

/// Whether a CA could issue for `hostname` at all: names under `localhost` (the demo tenant) are
/// reserved (RFC 6761) and would only ever fail.
fn certifiable(hostname: &str) -> bool {
    hostname != "localhost" && !hostname.ends_with(".localhost")
}

/// Whether a hostname's row calls for an order now: no certificate yet, or two thirds of its
/// lifetime used (30 days before the end of a 90-day certificate), and not backing off.
fn due(row: &CertificateRow, at: i64) -> bool {
    if row.next_attempt_at > at {
        return false;
    }
    match (row.issued, row.not_before, row.not_after) {
        (true, Some(start), Some(end)) => at >= end - (end - start) / 3,
        _ => true,
    }
}

/// Wait after `failures` earlier failures: a minute, doubling, at most a day.
fn retry_delay(failures: i64) -> i64 {
    let doublings = u32::try_from(failures.clamp(0, 20)).unwrap_or(20);
    FIRST_RETRY_SECS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cert: bool, validity: Option<(i64, i64)>, next_attempt_at: i64) -> CertificateRow {
        CertificateRow {
            hostname: "meet.example.com".into(),
            issued: cert,
            not_before: validity.map(|v| v.0),
            not_after: validity.map(|v| v.1),
            issued_at: None,
            last_error: None,
            failures: 0,
            next_attempt_at,
            updated_at: 0,
        }
    }

    #[test]
    fn renews_after_two_thirds_of_the_lifetime() {
        let day = 86_400;
        let cert = row(true, Some((0, 90 * day)), 0);
        assert!(!due(&cert, 59 * day));
        assert!(due(&cert, 60 * day));
        assert!(due(&row(false, None, 0), 0), "no certificate yet");
        assert!(!due(&row(false, None, 100), 50), "backing off");
    }

    #[test]
    fn reserved_names_are_not_ordered() {
        assert!(!certifiable("localhost"));
        assert!(!certifiable("reseller-admin.localhost"));
        assert!(certifiable("meet.joe.com"));
        assert!(certifiable("localhost.joe.com"));
    }

    #[test]
    fn retries_back_off_to_a_day() {
        assert_eq!(retry_delay(0), 60);
        assert_eq!(retry_delay(1), 120);
        assert_eq!(retry_delay(5), 1920);
        assert_eq!(retry_delay(30), 86_400);
        assert_eq!(retry_delay(-3), 60);
    }
}
