//! Custom domain rules: validation, adding as pending, proof of ownership, primary choice, removal.

use std::time::Duration;

use crate::{
    app::App,
    auth::token::random_secret,
    error::{AppError, AppResult},
    store::{self, custom_domains::DomainRow},
};

use super::{domain_check, names, resellers::duplicate_or};

/// How long the ownership fetch may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a custom domain may stay pending. A pending domain holds its name against every other
/// company, so a claim nobody proves must not hold it for ever.
pub const PENDING_TTL_SECS: i64 = 7 * 86_400;

/// When a domain added at `created_at` stops waiting for its proof.
pub fn pending_expires_at(created_at: i64) -> i64 {
    created_at + PENDING_TTL_SECS
}

/// Removes every pending domain whose time ran out; for the periodic clean-up.
pub async fn expire_pending(app: &App) -> AppResult<u64> {
    let mut tx = app.db.begin_write().await?;
    let removed = store::custom_domains::delete_expired_pending(
        &mut tx,
        store::now() - PENDING_TTL_SECS,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(removed)
}

/// The one answer for a name that cannot be added, whoever holds it: it does not say whether
/// another tenant has it verified, pending, or as a reseller domain.
fn unavailable(hostname: &str) -> AppError {
    AppError::conflict(
        "duplicate_domain",
        format!("domain `{hostname}` is not available"),
    )
}

/// A custom hostname: a dotted DNS name whose last label is not numeric (no IP addresses).
pub fn custom_hostname(value: &str) -> AppResult<String> {
    let hostname = names::domain("domain", value)?;
    let Some((_, tld)) = hostname.rsplit_once('.') else {
        return Err(AppError::invalid_field(
            "domain",
            "must be a fully qualified name such as meet.example.com",
        ));
    };
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid_field(
            "domain",
            "must be a DNS name, not an IP address",
        ));
    }
    Ok(hostname)
}

fn not_found() -> AppError {
    AppError::not_found("Domain")
}

/// Adds `hostname` to a company as pending and returns it with its verification token.
pub async fn add(
    app: &App,
    company_id: i64,
    reseller_domain: &str,
    hostname: &str,
) -> AppResult<DomainRow> {
    let mut tx = app.db.begin_write().await?;
    if hostname == reseller_domain || hostname.ends_with(&format!(".{reseller_domain}")) {
        return Err(AppError::invalid_field(
            "domain",
            "lies under your reseller's base domain; company subdomains come with the company",
        ));
    }
    if store::custom_domains::under_reseller_domain(&mut tx, hostname).await? {
        return Err(unavailable(hostname));
    }
    // A claim whose time ran out no longer holds the name.
    store::custom_domains::delete_expired_pending(
        &mut tx,
        store::now() - PENDING_TTL_SECS,
        Some(hostname),
    )
    .await?;
    if store::domains::exists(&mut tx, hostname).await? {
        return Err(unavailable(hostname));
    }
    let token = random_secret();
    store::custom_domains::insert_pending(&mut tx, company_id, hostname, &token)
        .await
        .map_err(|e| duplicate_or(e, "duplicate_domain", "domain is not available"))?;
    let row = store::custom_domains::get(&mut tx, company_id, hostname)
        .await?
        .ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(row)
}

/// Proves ownership of a pending domain by fetching its token; `primary` then makes it the
/// company's primary domain. Verifying a verified domain only applies `primary`.
pub async fn verify(app: &App, company_id: i64, hostname: &str, primary: bool) -> AppResult<()> {
    let row = {
        let mut conn = app.db.pool.acquire().await?;
        store::custom_domains::get(&mut conn, company_id, hostname)
            .await?
            .ok_or_else(not_found)?
    };
    let pending_token = row.verification_token.filter(|_| row.verified_at.is_none());
    if pending_token.is_some() && store::now() >= pending_expires_at(row.created_at) {
        let mut tx = app.db.begin_write().await?;
        store::custom_domains::delete_expired_pending(
            &mut tx,
            store::now() - PENDING_TTL_SECS,
            Some(hostname),
        )
        .await?;
        tx.commit().await?;
        return Err(AppError::new(
            axum::http::StatusCode::GONE,
            "domain_expired",
            format!(
                "Domain `{hostname}` was not verified within {} days and was removed; add it again",
                PENDING_TTL_SECS / 86_400
            ),
        ));
    }
    if let Some(token) = &pending_token {
        // Outside any transaction: the fetch may take seconds and even reach this very server.
        domain_check::fetch_token(
            hostname,
            token,
            app.config.domain_verify_connect_to,
            CHECK_TIMEOUT,
            crate::outbound::Policy::from_config(&app.config),
        )
        .await
        .map_err(|e| {
            AppError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "domain_not_verified",
                format!("Domain not verified: {e}"),
            )
        })?;
    }
    let mut tx = app.db.begin_write().await?;
    // A concurrent delete between the fetch and here leaves nothing to mark.
    let current = store::custom_domains::get(&mut tx, company_id, hostname)
        .await?
        .ok_or_else(not_found)?;
    if current.verified_at.is_none() {
        // Deleted and added again meanwhile: the fetched token proves nothing about the new one.
        let proven = pending_token.is_some() && current.verification_token == pending_token;
        if !proven {
            return Err(AppError::conflict(
                "concurrent_update",
                "The domain changed during verification; call domain/verify again",
            ));
        }
        store::custom_domains::mark_verified(&mut tx, company_id, hostname).await?;
    }
    if primary {
        store::custom_domains::set_primary(&mut tx, company_id, hostname).await?;
    }
    tx.commit().await?;
    // A newly verified domain wants a certificate now, not at the next periodic pass.
    app.acme_wake.notify_one();
    Ok(())
}

/// Makes a verified domain of the company (its subdomain included) the primary one.
pub async fn set_primary(app: &App, company_id: i64, hostname: &str) -> AppResult<()> {
    let mut tx = app.db.begin_write().await?;
    let row = store::custom_domains::get(&mut tx, company_id, hostname)
        .await?
        .ok_or_else(not_found)?;
    if row.verified_at.is_none() {
        return Err(AppError::conflict(
            "domain_pending",
            "Only a verified domain can be primary; call domain/verify first",
        ));
    }
    store::custom_domains::set_primary(&mut tx, company_id, hostname).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a custom domain; when it was primary the subdomain takes over.
pub async fn delete(app: &App, company_id: i64, hostname: &str) -> AppResult<()> {
    let mut tx = app.db.begin_write().await?;
    let row = store::custom_domains::get(&mut tx, company_id, hostname)
        .await?
        .ok_or_else(not_found)?;
    if !row.is_custom {
        return Err(AppError::conflict(
            "company_subdomain",
            "The company's subdomain cannot be deleted; change it with company/update",
        ));
    }
    store::custom_domains::delete(&mut tx, company_id, hostname).await?;
    if row.is_primary {
        store::custom_domains::subdomain_primary(&mut tx, company_id).await?;
    }
    tx.commit().await?;
    // Its automatic certificate, if any, goes at the next pass: make that now.
    app.acme_wake.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_hostnames() {
        assert_eq!(
            custom_hostname(" Meet.Example.COM. ").unwrap(),
            "meet.example.com"
        );
        for bad in [
            "",
            "localhost",
            "10.0.0.1",
            "meet_x.example.com",
            "-a.example.com",
            "a..b.com",
            "http://x.com",
        ] {
            let err = custom_hostname(bad).unwrap_err();
            assert!(err.message.starts_with("domain:"), "{bad}: {err}");
        }
    }
}
