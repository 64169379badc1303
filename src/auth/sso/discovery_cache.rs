//! OpenID Connect provider metadata (endpoints and signing keys) kept per issuer for a few
//! minutes, so a login does not cost two extra round trips to the provider (discovery and JWKS)
//! on both of its legs. A failed ID token check drops the entry: rotated keys are fetched on the
//! next attempt instead of waiting out the cache.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long discovered metadata is used before it is fetched again.
pub const DISCOVERY_TTL: Duration = Duration::from_secs(300);

/// Values by issuer URL, each with the time it was fetched.
pub struct DiscoveryCache<T> {
    entries: Mutex<HashMap<String, (Instant, T)>>,
    ttl: Duration,
}

impl<T: Clone> DiscoveryCache<T> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    /// The value for `issuer` when it was fetched less than the TTL before `now`.
    pub fn get(&self, issuer: &str, now: Instant) -> Option<T> {
        let mut entries = self.entries.lock().ok()?;
        match entries.get(issuer) {
            Some((fetched, value)) if now.saturating_duration_since(*fetched) < self.ttl => {
                Some(value.clone())
            }
            Some(_) => {
                entries.remove(issuer);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, issuer: &str, value: T, now: Instant) {
        if let Ok(mut entries) = self.entries.lock() {
            // Stale entries of issuers no longer used go whenever a new one is stored.
            entries.retain(|_, (fetched, _)| now.saturating_duration_since(*fetched) < self.ttl);
            entries.insert(issuer.to_string(), (now, value));
        }
    }

    pub fn forget(&self, issuer: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(issuer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_dropped() {
        let cache = DiscoveryCache::new(Duration::from_secs(300));
        let start = Instant::now();
        cache.put("https://idp.example", 1, start);
        assert_eq!(cache.get("https://idp.example", start), Some(1));
        let later = start + Duration::from_secs(299);
        assert_eq!(cache.get("https://idp.example", later), Some(1));
        assert_eq!(cache.get("https://other.example", later), None);
        let expired = start + Duration::from_secs(300);
        assert_eq!(cache.get("https://idp.example", expired), None);
        cache.put("https://idp.example", 2, expired);
        cache.forget("https://idp.example");
        assert_eq!(cache.get("https://idp.example", expired), None);
    }
}
