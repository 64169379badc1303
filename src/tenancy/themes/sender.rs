//! Which addresses a theme may send mail from. A company admin chooses `sender_email`, and every
//! invitation then comes "from" it: without a rule, a tenant could send as `security@paypal.com`
//! to anyone. Allowed are addresses on the reseller's domain (and its subdomains, which include
//! the companies' own), on the company's verified custom domains, and on the domains the operator
//! lists in `mail_sender_domains`.

use crate::{
    app::App,
    config::Config,
    error::{AppError, AppResult},
    store,
};

/// The mail domains one theme layer may use, each with its subdomains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderDomains(Vec<String>);

impl SenderDomains {
    pub fn new(domains: impl IntoIterator<Item = String>) -> Self {
        let mut domains: Vec<String> = domains
            .into_iter()
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect();
        domains.sort();
        domains.dedup();
        Self(domains)
    }

    /// The domains of the reseller's layer (`company_id` none) or of a company's layer.
    pub async fn for_layer(
        app: &App,
        reseller_domain: &str,
        company_id: Option<i64>,
    ) -> AppResult<Self> {
        Self::load(&app.db, &app.config, reseller_domain, company_id).await
    }

    /// As [`Self::for_layer`], from the database and configuration alone (for mail workers).
    pub async fn load(
        db: &store::Db,
        config: &Config,
        reseller_domain: &str,
        company_id: Option<i64>,
    ) -> AppResult<Self> {
        let mut domains = vec![reseller_domain.to_string()];
        domains.extend(config.mail_sender_domains.iter().cloned());
        if let Some(company_id) = company_id {
            let custom = store::custom_domains::list(db, company_id).await?;
            domains.extend(
                custom
                    .into_iter()
                    .filter(|d| d.is_custom && d.verified_at.is_some())
                    .map(|d| d.hostname),
            );
        }
        Ok(Self::new(domains))
    }

    fn allows_domain(&self, domain: &str) -> bool {
        self.0.iter().any(|allowed| {
            domain == allowed
                || domain
                    .strip_suffix(allowed.as_str())
                    .is_some_and(|head| head.ends_with('.'))
        })
    }

    /// Whether mail may go out from `email` (lowercased before the check).
    pub fn allows(&self, email: &str) -> bool {
        let email = email.to_ascii_lowercase();
        self.allows_domain(email.rsplit_once('@').map_or("", |(_, d)| d))
    }

    /// Refuses an address (already a valid, lowercased email) whose domain is not allowed.
    pub fn check(&self, email: &str) -> AppResult<()> {
        let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
        if self.allows_domain(domain) {
            return Ok(());
        }
        Err(AppError::invalid_field(
            "sender_email",
            format!(
                "`{email}` is not on a domain of yours; use an address on {} (or a subdomain), \
                 or verify the domain first with domain/add and domain/verify",
                self.0.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_own_domains_and_their_subdomains() {
        let allowed = SenderDomains::new(["Alpha.test".to_string(), "meet.acme.example".into()]);
        for ok in [
            "no-reply@alpha.test",
            "hello@mail.alpha.test",
            "x@meet.acme.example",
        ] {
            assert!(allowed.check(ok).is_ok(), "{ok}");
        }
        for spoofed in [
            "security@paypal.com",
            "a@evilalpha.test",
            "a@alpha.test.evil.com",
            "a@acme.example",
            "a@",
        ] {
            let refused = allowed.check(spoofed).unwrap_err().to_string();
            assert!(refused.contains("sender_email"), "{refused}");
        }
    }
}
