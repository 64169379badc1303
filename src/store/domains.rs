//! Hostnames that resolve to a company (its subdomain of the reseller domain, later custom domains).

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
         WHERE d.hostname = $1",
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

/// Registers `hostname` as the primary domain of a company.
pub async fn insert_primary(
    conn: &mut AnyConnection,
    hostname: &str,
    company_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO domains (hostname, company_id, is_primary, created_at) VALUES ($1, $2, 1, $3)",
    )
    .bind(hostname)
    .bind(company_id)
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces the primary hostname of a company (after a subdomain change).
pub async fn replace_primary(
    conn: &mut AnyConnection,
    company_id: i64,
    hostname: &str,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM domains WHERE company_id = $1 AND is_primary = 1")
        .bind(company_id)
        .execute(&mut *conn)
        .await?;
    insert_primary(conn, hostname, company_id).await
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
