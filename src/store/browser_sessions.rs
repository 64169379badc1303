//! Browser sessions of hosts, bound to the company domain they were opened on. Only the SHA-256
//! hash of the cookie value is stored.

use sqlx::{AnyConnection, Row};

use super::{Db, now};

/// Fields of a new browser session.
pub struct NewBrowserSession<'a> {
    pub token_hash: &'a str,
    pub host_id: i64,
    pub reseller_id: i64,
    pub company_id: i64,
    pub hostname: &'a str,
    pub after_call_url: Option<&'a str>,
    pub expires_at: i64,
}

/// A browser session found by the hash of its cookie value.
#[derive(Debug, Clone)]
pub struct StoredBrowserSession {
    pub id: i64,
    pub host_id: i64,
    pub reseller_id: i64,
    pub company_id: i64,
    pub hostname: String,
    pub after_call_url: Option<String>,
    pub expires_at: i64,
}

/// Stores a new session; expired sessions are swept at the same time so the table stays small.
pub async fn insert(db: &Db, session: &NewBrowserSession<'_>) -> sqlx::Result<()> {
    let now = now();
    sqlx::query("DELETE FROM browser_sessions WHERE expires_at < $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    sqlx::query(
        "INSERT INTO browser_sessions (token_hash, host_id, reseller_id, company_id, hostname,
            after_call_url, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(session.token_hash)
    .bind(session.host_id)
    .bind(session.reseller_id)
    .bind(session.company_id)
    .bind(session.hostname)
    .bind(session.after_call_url)
    .bind(now)
    .bind(session.expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Finds a session by the hash of its cookie value (expired or not; the caller decides).
pub async fn find(db: &Db, token_hash: &str) -> sqlx::Result<Option<StoredBrowserSession>> {
    let row = sqlx::query(
        "SELECT id, host_id, reseller_id, company_id, hostname, after_call_url, expires_at
         FROM browser_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(StoredBrowserSession {
            id: r.try_get("id")?,
            host_id: r.try_get("host_id")?,
            reseller_id: r.try_get("reseller_id")?,
            company_id: r.try_get("company_id")?,
            hostname: r.try_get("hostname")?,
            after_call_url: r.try_get("after_call_url")?,
            expires_at: r.try_get("expires_at")?,
        })
    })
    .transpose()
}

/// Ends the session whose cookie value hashes to `token_hash`, if any.
pub async fn delete_by_hash(db: &Db, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM browser_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends every browser session of a host (after its password or SSO login key changed).
pub async fn delete_of_host(conn: &mut AnyConnection, host_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM browser_sessions WHERE host_id = $1")
        .bind(host_id)
        .execute(conn)
        .await?;
    Ok(())
}
