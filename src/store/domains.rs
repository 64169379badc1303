//! Hostnames that resolve to a company: its subdomain of the reseller domain and its verified
//! custom domains (see `custom_domains`). Exactly one row per company is primary (used in URLs).

use sqlx::{AnyConnection, Row};

use super::{Db, now};

/// What a request's hostname resolves to.
#[derive(Debug, Clone)]
pub struct ResolvedDomain {
    pub hostname: String,
    pub company_id: i64,
    pub company_name: String,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub reseller_domain: String,
    pub is_admin_company: bool,
}

/// Finds the company served at `hostname` (already normalised).
pub async fn resolve(db: &Db, hostname: &str) -> sqlx::Result<Option<ResolvedDomain>> {
    let row = sqlx::query(
        "SELECT d.hostname, c.id AS company_id, c.name AS company_name, c.is_admin_company,
                r.id AS reseller_id, r.name AS reseller_name, r.domain AS reseller_domain
         FROM domains d
         JOIN companies c ON c.id = d.company_id
         JOIN resellers r ON r.id = c.reseller_id
         WHERE d.hostname = $1 AND d.verified_at IS NOT NULL",
    )
    .bind(hostname)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(ResolvedDomain {
            hostname: r.try_get("hostname")?,
            company_id: r.try_get("company_id")?,
            company_name: r.try_get("company_name")?,
            reseller_id: r.try_get("reseller_id")?,
            reseller_name: r.try_get("reseller_name")?,
            reseller_domain: r.try_get("reseller_domain")?,
            is_admin_company: r.try_get::<i64, _>("is_admin_company")? != 0,
        })
    })
    .transpose()
}

/// Registers `hostname` as the primary domain of a company (its subdomain, verified by nature).
pub async fn insert_primary(
    conn: &mut AnyConnection,
    hostname: &str,
    company_id: i64,
) -> sqlx::Result<()> {
    insert_subdomain(conn, hostname, company_id, true).await
}

async fn insert_subdomain(
    conn: &mut AnyConnection,
    hostname: &str,
    company_id: i64,
    primary: bool,
) -> sqlx::Result<()> {
    let now = now();
    sqlx::query(
        "INSERT INTO domains (hostname, company_id, is_primary, created_at, is_custom, verified_at)
         VALUES ($1, $2, $3, $4, 0, $4)",
    )
    .bind(hostname)
    .bind(company_id)
    .bind(i64::from(primary))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the subdomain hostname of a company (after a subdomain change). It stays primary
/// only if it was: a custom primary domain keeps its place.
pub async fn replace_primary(
    conn: &mut AnyConnection,
    company_id: i64,
    hostname: &str,
) -> sqlx::Result<()> {
    let was_primary =
        sqlx::query("SELECT is_primary FROM domains WHERE company_id = $1 AND is_custom = 0")
            .bind(company_id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| r.try_get::<i64, _>("is_primary"))
            .transpose()?
            .is_none_or(|p| p != 0);
    sqlx::query("DELETE FROM domains WHERE company_id = $1 AND is_custom = 0")
        .bind(company_id)
        .execute(&mut *conn)
        .await?;
    insert_subdomain(conn, hostname, company_id, was_primary).await
}

/// Whether a hostname is already taken by any company of any reseller.
pub async fn exists(conn: &mut AnyConnection, hostname: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM domains WHERE hostname = $1")
            .bind(hostname)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}
