//! Single sign-on for hosts: `/auth` with a host's login key or a signed login token, and company
//! OpenID Connect providers. Every check is made for the company whose domain the request came to.

pub mod discovery_cache;
pub mod failures;
pub mod http;
pub mod jwt;
pub mod oidc;
pub mod targets;

use subtle::ConstantTimeEq;

use crate::{
    app::App,
    config::Config,
    error::{AppError, AppResult},
    store::{self, companies::Company, hosts::Host},
    tenancy::Tenant,
};

use super::{Role, Scope, token};

/// Process-wide sign-in state: the failure budget and the HTTP client for OpenID providers.
pub struct SsoRuntime {
    pub failures: failures::FailureLimiter,
    /// Talks to OpenID Connect providers under the outbound policy.
    pub http: http::ProviderHttp,
    /// Providers' discovered metadata and keys, by issuer URL.
    pub discovered: discovery_cache::DiscoveryCache<openidconnect::core::CoreProviderMetadata>,
}

impl SsoRuntime {
    /// Builds the runtime from the configuration.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let http = http::ProviderHttp::new(crate::outbound::Policy::from_config(config))?;
        Ok(Self {
            failures: failures::FailureLimiter::new(config.auth_failures_per_address_per_minute),
            http,
            discovered: discovery_cache::DiscoveryCache::new(discovery_cache::DISCOVERY_TTL),
        })
    }
}

/// The one answer for a wrong host id or key, so a caller cannot tell which part was wrong.
fn bad_login_key() -> AppError {
    AppError::unauthorized(
        "invalid_login_token",
        "Sign-in failed: the host or its login key is not valid for this site",
    )
}

/// The host of the tenant's company identified by its id and `login_token_public_key`.
pub async fn host_by_login_key(
    app: &App,
    tenant: &Tenant,
    host_id: i64,
    presented_key: &str,
) -> AppResult<Host> {
    let presented = token::hash_secret(presented_key.trim());
    let stored = store::hosts::login_token_hash(&app.db, tenant.reseller_id, host_id).await?;
    let (company_id, stored_hash) = match stored {
        Some((company_id, Some(hash))) => (company_id, hash),
        // Compare against a value that never matches, so unknown hosts cost the same time.
        _ => (0, "0".repeat(64)),
    };
    let key_matches: bool = presented.as_bytes().ct_eq(stored_hash.as_bytes()).into();
    if !key_matches || company_id != tenant.company_id {
        return Err(bad_login_key());
    }
    store::hosts::get(&app.db, tenant.reseller_id, host_id)
        .await?
        .filter(|h| h.company_id == tenant.company_id)
        .ok_or_else(bad_login_key)
}

/// Whether a company sign-in credential (its login token secret, its OpenID Connect settings)
/// may sign `host` in: only the hosts its issuer could act on, by the one scope rule. A secret
/// issued by a company admin of the reseller's admin company thus never signs in the reseller
/// admin, which would hand that company admin the reseller admin's session.
pub fn issuer_reaches(issuer_role: &str, company_id: i64, host: &Host) -> bool {
    Role::parse(issuer_role).is_some_and(|role| Scope::issued_by(role, company_id).sees_host(host))
}

/// The host named by a signed login token of the tenant's company; spends the token.
pub async fn host_by_login_token(app: &App, tenant: &Tenant, token: &str) -> AppResult<Host> {
    let secret = store::sso::signing_secret(&app.db, tenant.reseller_id, tenant.company_id)
        .await?
        .ok_or_else(|| {
            AppError::unauthorized(
                "invalid_login_token",
                "Signed login tokens are not enabled for this company",
            )
        })?;
    let claims = jwt::verify(&secret.secret, token.trim(), store::now())?;
    // A host out of the issuer's reach gets the answer of an unknown host: the token's signer
    // learns nothing about who the reseller admins are.
    let host = store::hosts::get(&app.db, tenant.reseller_id, claims.host_id)
        .await?
        .filter(|h| h.company_id == tenant.company_id)
        .filter(|h| issuer_reaches(&secret.issuer_role, tenant.company_id, h))
        .ok_or_else(bad_login_key)?;
    let fresh =
        store::sso::spend_token_id(&app.db, tenant.company_id, &claims.jti, claims.expires_at)
            .await?;
    if !fresh {
        return Err(AppError::unauthorized(
            "invalid_login_token",
            "This login token was already used",
        ));
    }
    Ok(host)
}

/// Issues a new signing secret for a company's login tokens; the previous one stops working.
/// The secret reaches the hosts that `issuer` (the calling admin's role) reaches.
pub async fn reset_signing_secret(app: &App, company: &Company, issuer: Role) -> AppResult<String> {
    let secret = token::random_secret();
    store::sso::set_signing_secret(
        &app.db,
        company.reseller_id,
        company.id,
        &secret,
        issuer.as_str(),
    )
    .await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(role: Role) -> Host {
        Host {
            id: 1,
            reseller_id: 1,
            company_id: 7,
            name: "n".into(),
            email: "n@x.tld".into(),
            password_hash: None,
            role: role.as_str().into(),
            openid_sub: None,
            access_code: "1234567".into(),
            moderator_pin: "123456".into(),
            subscription_ids: "[]".into(),
            company_hostname: "x.tld".into(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn company_credentials_reach_what_their_issuer_reaches() {
        let reseller_admin = host(Role::ResellerAdmin);
        let plain = host(Role::Host);
        assert!(!issuer_reaches("COMPANY_ADMIN", 7, &reseller_admin));
        assert!(issuer_reaches("COMPANY_ADMIN", 7, &plain));
        assert!(issuer_reaches("RESELLER_ADMIN", 7, &reseller_admin));
        // An unknown stored role reaches nobody.
        assert!(!issuer_reaches("SOMETHING", 7, &plain));
    }
}
