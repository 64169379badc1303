//! Certificates chosen per SNI from a folder the operator fills:
//! `<hostname>.pem` + `<hostname>.key`, and `_wildcard.<domain>.pem` + `.key` for `*.<domain>`.
//! The folder is polled; a changed file set is loaded anew without a restart. Certificates
//! obtained through ACME sit beside them, for names no file covers.

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::{Duration, SystemTime},
};

use rustls::{
    crypto::ring::sign::any_supported_type,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};

/// The ALPN protocol of TLS-ALPN-01 validation (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// File name prefix that stands for `*.` in a wildcard certificate's name.
const WILDCARD_PREFIX: &str = "_wildcard.";

/// The certificates of one folder, by hostname (`*.domain` for wildcards).
pub struct CertStore {
    dir: PathBuf,
    certs: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    /// Certificates obtained through ACME, by exact hostname.
    acme: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    /// TLS-ALPN-01 challenge certificates of open orders, by hostname: shown only to a client
    /// that asks for the `acme-tls/1` protocol, that is the CA validating the order.
    alpn_challenges: RwLock<HashMap<String, Arc<CertifiedKey>>>,
    /// Names, sizes and modification times of the files last loaded.
    fingerprint: RwLock<Vec<(String, u64, Option<SystemTime>)>>,
}

impl fmt::Debug for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertStore")
            .field("dir", &self.dir)
            .field("names", &self.names())
            .finish()
    }
}

impl CertStore {
    /// Loads every certificate of `dir`; a missing folder is an error, bad files are skipped.
    pub fn load(dir: &Path) -> anyhow::Result<Arc<Self>> {
        if !dir.is_dir() {
            anyhow::bail!("tls_cert_dir {} is not a folder", dir.display());
        }
        let store = Arc::new(Self {
            dir: dir.to_path_buf(),
            certs: RwLock::new(HashMap::new()),
            acme: RwLock::new(HashMap::new()),
            alpn_challenges: RwLock::new(HashMap::new()),
            fingerprint: RwLock::new(Vec::new()),
        });
        store.reload_if_changed();
        Ok(store)
    }

    /// Hostnames (and `*.domain` patterns) that have a certificate, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .certs
            .read()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The certificate for `hostname`: the operator's files first (exact name, then the wildcard
    /// of its parent domain), then one obtained through ACME.
    pub fn find(&self, hostname: &str) -> Option<Arc<CertifiedKey>> {
        let hostname = hostname.trim_end_matches('.').to_ascii_lowercase();
        self.find_in_files(&hostname)
            .or_else(|| self.acme.read().ok()?.get(&hostname).cloned())
    }

    /// Whether the operator's files hold a certificate for `hostname` (then ACME leaves it alone).
    pub fn covered_by_files(&self, hostname: &str) -> bool {
        self.find_in_files(hostname).is_some()
    }

    fn find_in_files(&self, hostname: &str) -> Option<Arc<CertifiedKey>> {
        let certs = self.certs.read().ok()?;
        if let Some(found) = certs.get(hostname) {
            return Some(found.clone());
        }
        // A wildcard covers exactly one label, as browsers check it.
        let (_, parent) = hostname.split_once('.')?;
        certs.get(&format!("*.{parent}")).cloned()
    }

    /// Replaces the TLS-ALPN-01 challenge certificates.
    pub fn set_alpn_challenges(&self, certs: HashMap<String, Arc<CertifiedKey>>) {
        if let Ok(mut challenges) = self.alpn_challenges.write() {
            *challenges = certs;
        }
    }

    /// Shows `cert` to the CA validating `hostname` (or stops showing it: `None`).
    pub fn set_alpn_challenge(&self, hostname: &str, cert: Option<Arc<CertifiedKey>>) {
        if let Ok(mut challenges) = self.alpn_challenges.write() {
            match cert {
                Some(cert) => challenges.insert(hostname.to_string(), cert),
                None => challenges.remove(hostname),
            };
        }
    }

    /// Replaces the certificates obtained through ACME.
    pub fn set_acme(&self, certs: HashMap<String, Arc<CertifiedKey>>) {
        if let Ok(mut acme) = self.acme.write() {
            *acme = certs;
        }
    }

    /// Re-reads the folder when its files changed; returns whether it did.
    pub fn reload_if_changed(&self) -> bool {
        let fingerprint = fingerprint(&self.dir);
        if self.fingerprint.read().is_ok_and(|f| *f == fingerprint) {
            return false;
        }
        let old = self.certs.read().map(|c| c.clone()).unwrap_or_default();
        let mut loaded = HashMap::new();
        for (stem, pem, key) in pairs(&self.dir) {
            let name = match stem.strip_prefix(WILDCARD_PREFIX) {
                Some(domain) => format!("*.{domain}"),
                None => stem,
            };
            match load_pair(&pem, &key) {
                Ok(certified) => {
                    loaded.insert(name, Arc::new(certified));
                }
                Err(err) => {
                    // A file caught half-written keeps serving its previous version.
                    tracing::warn!(%err, file = %pem.display(), "certificate not loaded");
                    if let Some(previous) = old.get(&name) {
                        loaded.insert(name, previous.clone());
                    }
                }
            }
        }
        tracing::info!(count = loaded.len(), dir = %self.dir.display(), "TLS certificates loaded");
        if let Ok(mut certs) = self.certs.write() {
            *certs = loaded;
        }
        if let Ok(mut f) = self.fingerprint.write() {
            *f = fingerprint;
        }
        true
    }

    /// Polls the folder every `every` for changes, for as long as the store is in use.
    pub fn watch(self: &Arc<Self>, every: Duration) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(store) = weak.upgrade() else { return };
                // File reads block; keep them off the async workers.
                let _ = tokio::task::spawn_blocking(move || store.reload_if_changed()).await;
            }
        });
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello
            .server_name()?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let validating = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if validating {
            // RFC 8737: a CA validating TLS-ALPN-01 offers only `acme-tls/1` and must see the
            // challenge certificate, never a real one.
            return self.alpn_challenges.read().ok()?.get(&name).cloned();
        }
        // No SNI or an unknown name: no certificate, so the handshake fails and no tenant's
        // certificate is shown to a client that did not ask for it.
        self.find(&name)
    }
}

/// `(stem, pem, key)` of every `<stem>.pem` with a `<stem>.key` beside it.
fn pairs(dir: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pem"))
        .filter_map(|pem| {
            let stem = pem.file_stem()?.to_str()?.to_ascii_lowercase();
            let key = pem.with_extension("key");
            key.is_file().then_some((stem, pem, key))
        })
        .collect();
    found.sort();
    found
}

fn fingerprint(dir: &Path) -> Vec<(String, u64, Option<SystemTime>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((
                e.file_name().to_string_lossy().into_owned(),
                meta.len(),
                meta.modified().ok(),
            ))
        })
        .collect();
    files.sort();
    files
}

fn load_pair(pem: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(pem)?.collect::<Result<Vec<_>, _>>()?;
    if chain.is_empty() {
        anyhow::bail!("no certificate in {}", pem.display());
    }
    certified(chain, PrivateKeyDer::from_pem_file(key)?)
}

/// A certificate chain and its key from PEM text, checked to belong together.
pub fn certified_from_pem(chain_pem: &str, key_pem: &str) -> anyhow::Result<CertifiedKey> {
    let chain =
        CertificateDer::pem_slice_iter(chain_pem.as_bytes()).collect::<Result<Vec<_>, _>>()?;
    if chain.is_empty() {
        anyhow::bail!("no certificate in the PEM text");
    }
    certified(chain, PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?)
}

fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> anyhow::Result<CertifiedKey> {
    let signing = any_supported_type(&key)?;
    let certified = CertifiedKey::new(chain, signing);
    // A certificate replaced before its key (or the reverse) must not be served half-new.
    certified.keys_match()?;
    Ok(certified)
}
