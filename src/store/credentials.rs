//! Stored credentials: API sessions, long-lived API tokens and password creation links.
//! Only SHA-256 hashes of the secrets are stored.

use sqlx::{AnyConnection, Row};

use super::{Db, now};

/// A credential found by the hash of a presented token.
#[derive(Debug, Clone)]
pub struct PresentedCredential {
    pub id: i64,
    pub host_id: i64,
    pub reseller_id: i64,
    pub expires_at: Option<i64>,
}

/// Stores a new API session.
pub async fn insert_session(
    db: &Db,
    token_hash: &str,
    host_id: i64,
    reseller_id: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_sessions (token_hash, host_id, reseller_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(host_id)
    .bind(reseller_id)
    .bind(now())
    .bind(expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Finds an API session by token hash.
pub async fn find_session(db: &Db, token_hash: &str) -> sqlx::Result<Option<PresentedCredential>> {
    let row = sqlx::query(
        "SELECT id, host_id, reseller_id, expires_at FROM api_sessions WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(PresentedCredential {
            id: r.try_get("id")?,
            host_id: r.try_get("host_id")?,
            reseller_id: r.try_get("reseller_id")?,
            expires_at: Some(r.try_get("expires_at")?),
        })
    })
    .transpose()
}

/// Ends an API session.
pub async fn delete_session(db: &Db, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM api_sessions WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Forgets sessions that expired more than `grace` seconds ago (kept briefly so clients are told
/// "Session expired" rather than "Invalid token").
pub async fn purge_expired_sessions(db: &Db, grace: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM api_sessions WHERE expires_at < $1")
            .bind(now() - grace)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}

/// A long-lived API token as listed (never with its secret).
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub host_id: i64,
    pub name: String,
    pub token_prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Stores a new API token and returns its id.
pub async fn insert_api_token(
    db: &Db,
    token_hash: &str,
    token_prefix: &str,
    host_id: i64,
    reseller_id: i64,
    name: &str,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO api_tokens (token_hash, token_prefix, host_id, reseller_id, name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(token_hash)
    .bind(token_prefix)
    .bind(host_id)
    .bind(reseller_id)
    .bind(name)
    .bind(now())
    .fetch_one(&db.pool)
    .await?
    .try_get("id")
}

/// Records that an API token was accepted just now.
pub async fn touch_api_token(db: &Db, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Finds an API token by hash (its use is recorded by [`touch_api_token`] once it is accepted).
pub async fn find_api_token(
    db: &Db,
    token_hash: &str,
) -> sqlx::Result<Option<PresentedCredential>> {
    let row = sqlx::query("SELECT id, host_id, reseller_id FROM api_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let found = PresentedCredential {
        id: row.try_get("id")?,
        host_id: row.try_get("host_id")?,
        reseller_id: row.try_get("reseller_id")?,
        expires_at: None,
    };
    Ok(Some(found))
}

/// Lists the API tokens owned by one host.
pub async fn list_api_tokens(db: &Db, host_id: i64) -> sqlx::Result<Vec<ApiToken>> {
    sqlx::query(
        "SELECT id, host_id, name, token_prefix, created_at, last_used_at
         FROM api_tokens WHERE host_id = $1 ORDER BY id",
    )
    .bind(host_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(ApiToken {
            id: r.try_get("id")?,
            host_id: r.try_get("host_id")?,
            name: r.try_get("name")?,
            token_prefix: r.try_get("token_prefix")?,
            created_at: r.try_get("created_at")?,
            last_used_at: r.try_get("last_used_at")?,
        })
    })
    .collect()
}

/// Deletes an API token owned by `host_id`; false when there is none.
pub async fn revoke_api_token(db: &Db, host_id: i64, id: i64) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND host_id = $2")
            .bind(id)
            .bind(host_id)
            .execute(&db.pool)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Stores a password creation link.
pub async fn insert_password_link(
    conn: &mut AnyConnection,
    token_hash: &str,
    host_id: i64,
    expires_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO password_links (token_hash, host_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(host_id)
    .bind(now())
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A password link as stored.
#[derive(Debug, Clone)]
pub struct PasswordLink {
    pub id: i64,
    pub host_id: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// Finds a password link by token hash.
pub async fn find_password_link(db: &Db, token_hash: &str) -> sqlx::Result<Option<PasswordLink>> {
    let row = sqlx::query(
        "SELECT id, host_id, expires_at, used_at FROM password_links WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(PasswordLink {
            id: r.try_get("id")?,
            host_id: r.try_get("host_id")?,
            expires_at: r.try_get("expires_at")?,
            used_at: r.try_get("used_at")?,
        })
    })
    .transpose()
}

/// Marks a link used; false if it was used concurrently (so it can be spent only once).
pub async fn consume_password_link(conn: &mut AnyConnection, id: i64) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("UPDATE password_links SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Ends every API session of a host (after a password change) except `keep` (the session that
/// made the change, so the caller is not logged out by its own request).
pub async fn delete_sessions_of_host(
    conn: &mut AnyConnection,
    host_id: i64,
    keep: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM api_sessions WHERE host_id = $1 AND id <> $2")
        .bind(host_id)
        .bind(keep.unwrap_or(0))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes every API token of a host (when it loses the role that may manage them).
pub async fn delete_api_tokens_of_host(conn: &mut AnyConnection, host_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM api_tokens WHERE host_id = $1")
        .bind(host_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Number of reseller admins of a reseller.
pub async fn count_reseller_admins(
    conn: &mut AnyConnection,
    reseller_id: i64,
) -> sqlx::Result<i64> {
    use sqlx::Row;
    sqlx::query(
        "SELECT COUNT(*) AS n FROM hosts WHERE reseller_id = $1 AND role = 'RESELLER_ADMIN'",
    )
    .bind(reseller_id)
    .fetch_one(conn)
    .await?
    .try_get("n")
}
