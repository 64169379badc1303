//! ACME state: the account per CA directory, certificates per hostname with their retry state,
//! and the HTTP-01 answers of open orders.

use sqlx::{Row, any::AnyRow};

use super::{Db, now};

/// A hostname's certificate state: whether one is issued, its validity, and how the last attempt
/// went. The PEM texts (with the private key) are read only where they are served: [`pems`].
#[derive(Debug, Clone)]
pub struct CertificateRow {
    pub hostname: String,
    pub issued: bool,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
    pub issued_at: Option<i64>,
    pub last_error: Option<String>,
    pub failures: i64,
    pub next_attempt_at: i64,
    pub updated_at: i64,
}

fn from_row(r: AnyRow) -> sqlx::Result<CertificateRow> {
    Ok(CertificateRow {
        hostname: r.try_get("hostname")?,
        issued: r.try_get::<i64, _>("issued")? != 0,
        not_before: r.try_get("not_before")?,
        not_after: r.try_get("not_after")?,
        issued_at: r.try_get("issued_at")?,
        last_error: r.try_get("last_error")?,
        failures: r.try_get("failures")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const SELECT: &str = "SELECT hostname,
        CAST(CASE WHEN cert_pem IS NOT NULL AND key_pem IS NOT NULL THEN 1 ELSE 0 END AS BIGINT)
            AS issued,
        not_before, not_after, issued_at, last_error, failures, next_attempt_at, updated_at
        FROM acme_certificates";

/// The stored account credentials (JSON) for a CA directory.
pub async fn account(db: &Db, directory_url: &str) -> sqlx::Result<Option<String>> {
    sqlx::query("SELECT credentials FROM acme_accounts WHERE directory_url = $1")
        .bind(directory_url)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get("credentials"))
        .transpose()
}

/// Stores account credentials unless another server stored some first; returns the ones kept.
pub async fn save_account(db: &Db, directory_url: &str, credentials: &str) -> sqlx::Result<String> {
    sqlx::query(
        "INSERT INTO acme_accounts (directory_url, credentials, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (directory_url) DO NOTHING",
    )
    .bind(directory_url)
    .bind(credentials)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(account(db, directory_url)
        .await?
        .unwrap_or_else(|| credentials.to_string()))
}

/// Every issued certificate as `(hostname, chain PEM, key PEM)`, for the certificate store.
pub async fn pems(db: &Db) -> sqlx::Result<Vec<(String, String, String)>> {
    sqlx::query(
        "SELECT hostname, cert_pem, key_pem FROM acme_certificates
         WHERE cert_pem IS NOT NULL AND key_pem IS NOT NULL ORDER BY hostname",
    )
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok((
            r.try_get("hostname")?,
            r.try_get("cert_pem")?,
            r.try_get("key_pem")?,
        ))
    })
    .collect()
}

/// Every certificate row.
pub async fn certificates(db: &Db) -> sqlx::Result<Vec<CertificateRow>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY hostname")))
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// The certificate row of one hostname.
pub async fn certificate(db: &Db, hostname: &str) -> sqlx::Result<Option<CertificateRow>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE hostname = $1")))
        .bind(hostname)
        .fetch_optional(&db.pool)
        .await?
        .map(from_row)
        .transpose()
}

/// Changes to the certificate rows show here first: a cheap test before reloading them all.
pub async fn fingerprint(db: &Db) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS latest FROM acme_certificates",
    )
    .fetch_one(&db.pool)
    .await?;
    Ok((row.try_get("n")?, row.try_get("latest")?))
}

/// Takes the right to order a certificate for `hostname` until `until`; false when another server
/// holds it. Creates the row on first use.
pub async fn claim(db: &Db, hostname: &str, until: i64) -> sqlx::Result<bool> {
    let at = now();
    sqlx::query(
        "INSERT INTO acme_certificates (hostname, updated_at) VALUES ($1, $2)
         ON CONFLICT (hostname) DO NOTHING",
    )
    .bind(hostname)
    .bind(at)
    .execute(&db.pool)
    .await?;
    let taken = sqlx::query(
        "UPDATE acme_certificates SET lease_until = $1 WHERE hostname = $2 AND lease_until <= $3",
    )
    .bind(until)
    .bind(hostname)
    .bind(at)
    .execute(&db.pool)
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// A newly issued certificate replaces the old one; the retry state starts over.
pub async fn save_certificate(
    db: &Db,
    hostname: &str,
    cert_pem: &str,
    key_pem: &str,
    validity: (i64, i64),
) -> sqlx::Result<()> {
    let at = now();
    sqlx::query(
        "UPDATE acme_certificates SET cert_pem = $1, key_pem = $2, not_before = $3, not_after = $4,
            issued_at = $5, last_error = NULL, failures = 0, next_attempt_at = 0, lease_until = 0,
            updated_at = $5
         WHERE hostname = $6",
    )
    .bind(cert_pem)
    .bind(key_pem)
    .bind(validity.0)
    .bind(validity.1)
    .bind(at)
    .bind(hostname)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records a failed attempt; the next one waits until `next_attempt_at`.
pub async fn record_failure(
    db: &Db,
    hostname: &str,
    error: &str,
    next_attempt_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE acme_certificates SET last_error = $1, failures = failures + 1,
            next_attempt_at = $2, lease_until = 0, updated_at = $3
         WHERE hostname = $4",
    )
    .bind(error)
    .bind(next_attempt_at)
    .bind(now())
    .bind(hostname)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Forgets a hostname's certificate (its domain was deleted).
pub async fn delete_certificate(db: &Db, hostname: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM acme_certificates WHERE hostname = $1")
        .bind(hostname)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Publishes the answer to an HTTP-01 challenge until `expires_at`.
pub async fn put_challenge(
    db: &Db,
    token: &str,
    hostname: &str,
    key_authorization: &str,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO acme_challenges (token, hostname, key_authorization, expires_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (token) DO UPDATE SET hostname = $2, key_authorization = $3, expires_at = $4",
    )
    .bind(token)
    .bind(hostname)
    .bind(key_authorization)
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The key authorization for `token` when it was published for `hostname` and has not expired.
pub async fn challenge_answer(
    db: &Db,
    hostname: &str,
    token: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query(
        "SELECT key_authorization FROM acme_challenges
         WHERE token = $1 AND hostname = $2 AND expires_at > $3",
    )
    .bind(token)
    .bind(hostname)
    .bind(now())
    .fetch_optional(&db.pool)
    .await?
    .map(|r| r.try_get("key_authorization"))
    .transpose()
}

/// Removes the challenges of a hostname (its order is over) and any that expired.
pub async fn clear_challenges(db: &Db, hostname: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM acme_challenges WHERE hostname = $1 OR expires_at <= $2")
        .bind(hostname)
        .bind(now())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Forgets the account of a directory (the CA no longer knows it).
pub async fn delete_account(db: &Db, directory_url: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM acme_accounts WHERE directory_url = $1")
        .bind(directory_url)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// An open challenge: `(token, hostname, key authorization)`.
pub type OpenChallenge = (String, String, String);

/// Every challenge answer still valid, for servers that show TLS-ALPN-01 certificates.
pub async fn open_challenges(db: &Db) -> sqlx::Result<Vec<OpenChallenge>> {
    sqlx::query(
        "SELECT token, hostname, key_authorization FROM acme_challenges WHERE expires_at > $1
         ORDER BY token",
    )
    .bind(now())
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok((
            r.try_get("token")?,
            r.try_get("hostname")?,
            r.try_get("key_authorization")?,
        ))
    })
    .collect()
}
