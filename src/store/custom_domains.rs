//! A company's custom domains: pending until verified, one of a company's domains is primary.

use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Db, now};

/// One of a company's domains as the API lists it (the subdomain included).
#[derive(Debug, Clone)]
pub struct DomainRow {
    pub hostname: String,
    pub company_id: i64,
    pub is_primary: bool,
    pub is_custom: bool,
    /// `None` once verified (the token is no longer served).
    pub verification_token: Option<String>,
    pub verified_at: Option<i64>,
    pub created_at: i64,
}

const SELECT: &str = "SELECT hostname, company_id, is_primary, is_custom, verification_token,
        verified_at, created_at FROM domains";

fn from_row(r: AnyRow) -> sqlx::Result<DomainRow> {
    Ok(DomainRow {
        hostname: r.try_get("hostname")?,
        company_id: r.try_get("company_id")?,
        is_primary: r.try_get::<i64, _>("is_primary")? != 0,
        is_custom: r.try_get::<i64, _>("is_custom")? != 0,
        verification_token: r.try_get("verification_token")?,
        verified_at: r.try_get("verified_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// All domains of a company, its subdomain first.
pub async fn list(db: &Db, company_id: i64) -> sqlx::Result<Vec<DomainRow>> {
    let sql = format!("{SELECT} WHERE company_id = $1 ORDER BY is_custom, created_at, hostname");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(company_id)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(from_row)
        .collect()
}

/// One domain of a company.
pub async fn get(
    conn: &mut AnyConnection,
    company_id: i64,
    hostname: &str,
) -> sqlx::Result<Option<DomainRow>> {
    let sql = format!("{SELECT} WHERE company_id = $1 AND hostname = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(company_id)
        .bind(hostname)
        .fetch_optional(conn)
        .await?
        .map(from_row)
        .transpose()
}

/// Whether `hostname` is a reseller's base domain or lies under one.
pub async fn under_reseller_domain(conn: &mut AnyConnection, hostname: &str) -> sqlx::Result<bool> {
    // Validated hostnames hold no `%` or `_`, so LIKE matches literally here.
    Ok(
        sqlx::query("SELECT 1 AS one FROM resellers WHERE domain = $1 OR $1 LIKE '%.' || domain")
            .bind(hostname)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Removes custom domains still pending that were added before `added_before` (all of them, or
/// only `hostname`); returns how many.
pub async fn delete_expired_pending(
    conn: &mut AnyConnection,
    added_before: i64,
    hostname: Option<&str>,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "DELETE FROM domains WHERE is_custom = 1 AND verified_at IS NULL AND created_at < $1
         AND ($2 IS NULL OR hostname = $2)",
    )
    .bind(added_before)
    .bind(hostname)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Adds a pending custom domain.
pub async fn insert_pending(
    conn: &mut AnyConnection,
    company_id: i64,
    hostname: &str,
    token: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO domains (hostname, company_id, is_primary, created_at, is_custom, verification_token)
         VALUES ($1, $2, 0, $3, 1, $4)",
    )
    .bind(hostname)
    .bind(company_id)
    .bind(now())
    .bind(token)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether `token` is the verification token of the pending domain `hostname`.
pub async fn pending_token_matches(db: &Db, hostname: &str, token: &str) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM domains
         WHERE hostname = $1 AND verification_token = $2 AND verified_at IS NULL",
    )
    .bind(hostname)
    .bind(token)
    .fetch_optional(&db.pool)
    .await?
    .is_some())
}

/// Marks a pending domain verified; false when it was not pending any more.
pub async fn mark_verified(
    conn: &mut AnyConnection,
    company_id: i64,
    hostname: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE domains SET verified_at = $1, verification_token = NULL
         WHERE company_id = $2 AND hostname = $3 AND verified_at IS NULL",
    )
    .bind(now())
    .bind(company_id)
    .bind(hostname)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `hostname` the company's only primary domain.
pub async fn set_primary(
    conn: &mut AnyConnection,
    company_id: i64,
    hostname: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE domains SET is_primary = CASE WHEN hostname = $2 THEN 1 ELSE 0 END
         WHERE company_id = $1",
    )
    .bind(company_id)
    .bind(hostname)
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes the company's subdomain primary again.
pub async fn subdomain_primary(conn: &mut AnyConnection, company_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE domains SET is_primary = CASE WHEN is_custom = 0 THEN 1 ELSE 0 END
         WHERE company_id = $1",
    )
    .bind(company_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a custom domain of a company; false when there was none.
pub async fn delete(
    conn: &mut AnyConnection,
    company_id: i64,
    hostname: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "DELETE FROM domains WHERE company_id = $1 AND hostname = $2 AND is_custom = 1",
    )
    .bind(company_id)
    .bind(hostname)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether `hostname` is a verified domain of some company (a known tenant).
pub async fn is_verified(db: &Db, hostname: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM domains WHERE hostname = $1 AND verified_at IS NOT NULL")
            .bind(hostname)
            .fetch_optional(&db.pool)
            .await?
            .is_some(),
    )
}

/// Every verified domain of every company (the hostnames that may want a certificate): custom
/// domains only, or companies' subdomains too.
pub async fn all_verified(db: &Db, with_subdomains: bool) -> sqlx::Result<Vec<String>> {
    sqlx::query(
        "SELECT hostname FROM domains WHERE verified_at IS NOT NULL AND (is_custom = 1 OR $1 = 1)
         ORDER BY hostname",
    )
    .bind(i64::from(with_subdomains))
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| r.try_get("hostname"))
    .collect()
}
