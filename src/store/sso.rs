//! Per-company sign-in settings: the login token signing secret, spent token ids, OpenID Connect
//! configuration and logins waiting for the provider's callback. Every query is scoped by company
//! and reseller.

use sqlx::Row;

use super::{Db, now};

/// The secret that signs a company's login tokens, with the role of the admin who issued it.
#[derive(Debug, Clone)]
pub struct SigningSecret {
    pub secret: String,
    pub issuer_role: String,
}

/// The secret that signs a company's login tokens, if one was issued.
pub async fn signing_secret(
    db: &Db,
    reseller_id: i64,
    company_id: i64,
) -> sqlx::Result<Option<SigningSecret>> {
    sqlx::query(
        "SELECT secret, issuer_role FROM sso_signing_secrets WHERE company_id = $1 AND reseller_id = $2",
    )
    .bind(company_id)
    .bind(reseller_id)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| {
        Ok(SigningSecret {
            secret: r.try_get("secret")?,
            issuer_role: r.try_get("issuer_role")?,
        })
    })
    .transpose()
}

/// Replaces a company's signing secret (tokens signed with the old one stop working).
pub async fn set_signing_secret(
    db: &Db,
    reseller_id: i64,
    company_id: i64,
    secret: &str,
    issuer_role: &str,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM sso_signing_secrets WHERE company_id = $1")
        .bind(company_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sso_signing_secrets (company_id, reseller_id, secret, issuer_role, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(company_id)
    .bind(reseller_id)
    .bind(secret)
    .bind(issuer_role)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Records a login token id as spent; false when it was spent before.
pub async fn spend_token_id(
    db: &Db,
    company_id: i64,
    jti: &str,
    expires_at: i64,
) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM sso_used_tokens WHERE expires_at < $1")
        .bind(now())
        .execute(&db.pool)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO sso_used_tokens (company_id, jti, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(company_id)
    .bind(jti)
    .bind(expires_at)
    .execute(&db.pool)
    .await;
    match inserted {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Ok(false),
        Err(err) => Err(err),
    }
}

/// A company's OpenID Connect settings.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub company_id: i64,
    pub reseller_id: i64,
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub provider_name: String,
    pub allowed_email_domain: Option<String>,
    pub match_email: bool,
    pub provision_hosts: bool,
    /// The role of the admin who saved the settings (whom they may sign in, by the scope rule).
    pub issuer_role: String,
    pub updated_at: i64,
}

/// Loads a company's OpenID Connect settings.
pub async fn oidc_settings(
    db: &Db,
    reseller_id: i64,
    company_id: i64,
) -> sqlx::Result<Option<OidcSettings>> {
    let row = sqlx::query(
        "SELECT company_id, reseller_id, issuer_url, client_id, client_secret, provider_name,
                allowed_email_domain, match_email, provision_hosts, issuer_role, updated_at
         FROM company_oidc WHERE company_id = $1 AND reseller_id = $2",
    )
    .bind(company_id)
    .bind(reseller_id)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(OidcSettings {
            company_id: r.try_get("company_id")?,
            reseller_id: r.try_get("reseller_id")?,
            issuer_url: r.try_get("issuer_url")?,
            client_id: r.try_get("client_id")?,
            client_secret: r.try_get("client_secret")?,
            provider_name: r.try_get("provider_name")?,
            allowed_email_domain: r.try_get("allowed_email_domain")?,
            match_email: r.try_get::<i64, _>("match_email")? != 0,
            provision_hosts: r.try_get::<i64, _>("provision_hosts")? != 0,
            issuer_role: r.try_get("issuer_role")?,
            updated_at: r.try_get("updated_at")?,
        })
    })
    .transpose()
}

/// Writes a company's OpenID Connect settings, replacing earlier ones.
pub async fn save_oidc_settings(db: &Db, settings: &OidcSettings) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM company_oidc WHERE company_id = $1")
        .bind(settings.company_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO company_oidc (company_id, reseller_id, issuer_url, client_id, client_secret,
            provider_name, allowed_email_domain, match_email, provision_hosts, issuer_role, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(settings.company_id)
    .bind(settings.reseller_id)
    .bind(&settings.issuer_url)
    .bind(&settings.client_id)
    .bind(&settings.client_secret)
    .bind(&settings.provider_name)
    .bind(&settings.allowed_email_domain)
    .bind(i64::from(settings.match_email))
    .bind(i64::from(settings.provision_hosts))
    .bind(&settings.issuer_role)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Removes a company's OpenID Connect settings; false when there were none.
pub async fn delete_oidc_settings(
    db: &Db,
    reseller_id: i64,
    company_id: i64,
) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM company_oidc WHERE company_id = $1 AND reseller_id = $2")
            .bind(company_id)
            .bind(reseller_id)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1,
    )
}

/// A login sent to the provider, waiting for its callback.
#[derive(Debug, Clone)]
pub struct PendingLogin {
    pub company_id: i64,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: String,
    pub expires_at: i64,
}

/// Remembers a login sent to the provider, keyed by the hash of its `state`.
pub async fn insert_pending_login(
    db: &Db,
    state_hash: &str,
    login: &PendingLogin,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM oidc_pending_logins WHERE expires_at < $1")
        .bind(now())
        .execute(&db.pool)
        .await?;
    sqlx::query(
        "INSERT INTO oidc_pending_logins (state_hash, company_id, nonce, pkce_verifier, next_path, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(state_hash)
    .bind(login.company_id)
    .bind(&login.nonce)
    .bind(&login.pkce_verifier)
    .bind(&login.next_path)
    .bind(login.expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Takes (reads and deletes) a pending login in one statement, so each `state` is answered at most
/// once even when two callbacks race.
pub async fn take_pending_login(db: &Db, state_hash: &str) -> sqlx::Result<Option<PendingLogin>> {
    let row = sqlx::query(
        "DELETE FROM oidc_pending_logins WHERE state_hash = $1
         RETURNING company_id, nonce, pkce_verifier, next_path, expires_at",
    )
    .bind(state_hash)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|row| {
        Ok(PendingLogin {
            company_id: row.try_get("company_id")?,
            nonce: row.try_get("nonce")?,
            pkce_verifier: row.try_get("pkce_verifier")?,
            next_path: row.try_get("next_path")?,
            expires_at: row.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// The origins allowed to frame the pages of the company served at `hostname` (empty when the
/// hostname is unknown).
pub async fn embed_origins_for_hostname(db: &Db, hostname: &str) -> sqlx::Result<Vec<String>> {
    let row = sqlx::query(
        "SELECT c.embed_origins FROM domains d JOIN companies c ON c.id = d.company_id
         WHERE d.hostname = $1 AND d.verified_at IS NOT NULL",
    )
    .bind(hostname)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let json: String = row.try_get("embed_origins")?;
    Ok(serde_json::from_str(&json).unwrap_or_default())
}
