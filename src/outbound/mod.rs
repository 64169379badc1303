//! The one policy for requests the server makes on a tenant's behalf (OpenID Connect discovery and
//! token exchange, custom domain checks, and any later callback): which URLs and addresses it may
//! reach. Tenants choose these targets, so without a policy an API caller could make the server
//! probe its own network (`http://127.0.0.1:5432`, cloud metadata at `169.254.169.254`, ...).
//!
//! The rule: only public unicast addresses, checked on the resolved DNS answers (not on the name)
//! and pinned, so the address connected to is the one checked; `https` only for URLs. The
//! `outbound_allow_private_addresses` setting lifts the address rule (and allows plain `http` to
//! such addresses) for deployments whose identity provider lives on the private network, and for
//! development.

pub mod address;
pub mod resolve;

use std::net::{IpAddr, SocketAddr};

use crate::config::Config;

pub use address::is_public;

/// Why an outbound request was not made. The text names the rule, never the network's answer,
/// so an API caller learns nothing about what lies behind the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must use https")]
    NotHttps,
    #[error("must be an absolute URL with a host name")]
    NoHost,
    #[error("may not point to a loopback, private, link-local or otherwise non-public address")]
    NonPublicAddress,
    #[error("does not resolve to any address")]
    Unresolvable,
}

/// Where the server may send requests, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    allow_private: bool,
}

impl Policy {
    pub fn from_config(config: &Config) -> Self {
        Self::new(config.outbound_allow_private_addresses)
    }

    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Whether the server may connect to `ip`.
    pub fn allows_address(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }

    /// Checks a URL before any lookup: `https`, a host, and — for an address written in the URL —
    /// the address rule. Plain `http` only when private targets are allowed and the host is one.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => {
                Some(IpAddr::from([127, 0, 0, 1]))
            }
            Some(url::Host::Domain(_)) => None,
            None => return Err(Refusal::NoHost),
        };
        if let Some(ip) = literal
            && !self.allows_address(ip)
        {
            return Err(Refusal::NonPublicAddress);
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_private && literal.is_some_and(|ip| !is_public(ip)) => Ok(()),
            _ => Err(Refusal::NotHttps),
        }
    }

    /// Keeps the answers the server may connect to; refuses the name when any answer is not
    /// allowed (a name that also points inside is a probe, not a mistake).
    pub fn check_answers(&self, answers: &[SocketAddr]) -> Result<Vec<SocketAddr>, Refusal> {
        if answers.is_empty() {
            return Err(Refusal::Unresolvable);
        }
        if answers.iter().any(|a| !self.allows_address(a.ip())) {
            return Err(Refusal::NonPublicAddress);
        }
        Ok(answers.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn urls_must_be_https_and_public() {
        let strict = Policy::new(false);
        assert_eq!(strict.check_url(&url("https://id.example.com/")), Ok(()));
        for refused in [
            "https://127.0.0.1:8443/",
            "https://[::1]/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/",
            "https://[::ffff:192.168.0.1]/",
        ] {
            assert_eq!(
                strict.check_url(&url(refused)),
                Err(Refusal::NonPublicAddress),
                "{refused}"
            );
        }
        assert_eq!(
            strict.check_url(&url("http://id.example.com/")),
            Err(Refusal::NotHttps)
        );
        assert_eq!(
            strict.check_url(&url("http://127.0.0.1:9000/")),
            Err(Refusal::NonPublicAddress)
        );
    }

    #[test]
    fn the_setting_allows_private_targets_and_http_to_them() {
        let open = Policy::new(true);
        assert_eq!(open.check_url(&url("http://127.0.0.1:9000/")), Ok(()));
        assert_eq!(open.check_url(&url("https://10.0.0.5/")), Ok(()));
        // Plain http to the internet stays refused: nothing private about it.
        assert_eq!(
            open.check_url(&url("http://id.example.com/")),
            Err(Refusal::NotHttps)
        );
    }

    #[test]
    fn every_answer_must_be_allowed() {
        let strict = Policy::new(false);
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let inside: SocketAddr = "127.0.0.1:443".parse().unwrap();
        assert_eq!(strict.check_answers(&[public]), Ok(vec![public]));
        assert_eq!(
            strict.check_answers(&[public, inside]),
            Err(Refusal::NonPublicAddress)
        );
        assert_eq!(strict.check_answers(&[]), Err(Refusal::Unresolvable));
        assert_eq!(Policy::new(true).check_answers(&[inside]), Ok(vec![inside]));
    }
}
