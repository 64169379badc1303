//! Companies: a reseller's customers. Every query is scoped by reseller.

use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Db, Page, PageRequest, now};

/// A company as stored, with its primary hostname.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: i64,
    pub reseller_id: i64,
    pub subdomain: String,
    pub name: String,
    pub openid_provider: bool,
    pub primary_dialin_number: Option<String>,
    pub is_admin_company: bool,
    pub hostname: String,
    pub host_count: i64,
    /// JSON array of the origins allowed to embed the company's pages in frames.
    pub embed_origins: String,
    /// JSON array of meeting controls the company hides (names as in embedding `hideButtons`).
    pub hidden_controls: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Fields of a new company.
pub struct NewCompany<'a> {
    pub reseller_id: i64,
    pub subdomain: &'a str,
    pub name: &'a str,
    pub openid_provider: bool,
    pub primary_dialin_number: Option<&'a str>,
    pub is_admin_company: bool,
}

const SELECT: &str = "SELECT c.id, c.reseller_id, c.subdomain, c.name, c.openid_provider,
        c.primary_dialin_number, c.is_admin_company, c.embed_origins, c.hidden_controls, c.created_at, c.updated_at,
        COALESCE((SELECT d.hostname FROM domains d WHERE d.company_id = c.id AND d.is_primary = 1), '') AS hostname,
        (SELECT COUNT(*) FROM hosts h WHERE h.company_id = c.id) AS host_count
    FROM companies c";

fn from_row(r: AnyRow) -> sqlx::Result<Company> {
    Ok(Company {
        id: r.try_get("id")?,
        reseller_id: r.try_get("reseller_id")?,
        subdomain: r.try_get("subdomain")?,
        name: r.try_get("name")?,
        openid_provider: r.try_get::<i64, _>("openid_provider")? != 0,
        primary_dialin_number: r.try_get("primary_dialin_number")?,
        is_admin_company: r.try_get::<i64, _>("is_admin_company")? != 0,
        hostname: r.try_get("hostname")?,
        host_count: r.try_get("host_count")?,
        embed_origins: r.try_get("embed_origins")?,
        hidden_controls: r.try_get("hidden_controls")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Inserts a company and returns its id.
pub async fn insert(conn: &mut AnyConnection, company: &NewCompany<'_>) -> sqlx::Result<i64> {
    let now = now();
    sqlx::query(
        "INSERT INTO companies (reseller_id, subdomain, name, openid_provider, primary_dialin_number,
            is_admin_company, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(company.reseller_id)
    .bind(company.subdomain)
    .bind(company.name)
    .bind(i64::from(company.openid_provider))
    .bind(company.primary_dialin_number)
    .bind(i64::from(company.is_admin_company))
    .bind(now)
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Fetches one company of a reseller.
pub async fn get(db: &Db, reseller_id: i64, id: i64) -> sqlx::Result<Option<Company>> {
    let sql = format!("{SELECT} WHERE c.reseller_id = $1 AND c.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(from_row)
        .transpose()
}

/// Lists a reseller's companies, oldest first.
pub async fn list(db: &Db, reseller_id: i64, page: PageRequest) -> sqlx::Result<Page<Company>> {
    let sql = format!("{SELECT} WHERE c.reseller_id = $1 ORDER BY c.id LIMIT $2 OFFSET $3");
    let items = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    let total = sqlx::query("SELECT COUNT(*) AS n FROM companies WHERE reseller_id = $1")
        .bind(reseller_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
    Ok(Page { items, total })
}

/// Whether a reseller already has a company with this subdomain.
pub async fn subdomain_taken(
    conn: &mut AnyConnection,
    reseller_id: i64,
    subdomain: &str,
) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM companies WHERE reseller_id = $1 AND subdomain = $2")
            .bind(reseller_id)
            .bind(subdomain)
            .fetch_optional(conn)
            .await?
            .is_some(),
    )
}

/// Writes the editable fields of a company.
pub async fn update(conn: &mut AnyConnection, company: &Company) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE companies SET subdomain = $1, name = $2, openid_provider = $3,
            primary_dialin_number = $4, updated_at = $5, embed_origins = $8,
            hidden_controls = $9
         WHERE id = $6 AND reseller_id = $7",
    )
    .bind(&company.subdomain)
    .bind(&company.name)
    .bind(i64::from(company.openid_provider))
    .bind(&company.primary_dialin_number)
    .bind(now())
    .bind(company.id)
    .bind(company.reseller_id)
    .bind(&company.embed_origins)
    .bind(&company.hidden_controls)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a company and everything that belongs to it, in the caller's transaction.
///
/// Foreign keys cascade too, but the explicit deletes keep the outcome identical on engines or
/// connections where cascades are off.
pub async fn delete(conn: &mut AnyConnection, reseller_id: i64, id: i64) -> sqlx::Result<bool> {
    let owned = sqlx::query("SELECT 1 AS one FROM companies WHERE id = $1 AND reseller_id = $2")
        .bind(id)
        .bind(reseller_id)
        .fetch_optional(&mut *conn)
        .await?;
    if owned.is_none() {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM api_sessions WHERE host_id IN (SELECT id FROM hosts WHERE company_id = $1)",
        "DELETE FROM browser_sessions WHERE company_id = $1",
        "DELETE FROM sso_signing_secrets WHERE company_id = $1",
        "DELETE FROM sso_used_tokens WHERE company_id = $1",
        "DELETE FROM company_oidc WHERE company_id = $1",
        "DELETE FROM oidc_pending_logins WHERE company_id = $1",
        "DELETE FROM api_tokens WHERE host_id IN (SELECT id FROM hosts WHERE company_id = $1)",
        "DELETE FROM password_links WHERE host_id IN (SELECT id FROM hosts WHERE company_id = $1)",
        "DELETE FROM hosts WHERE company_id = $1",
        "DELETE FROM domains WHERE company_id = $1",
        "DELETE FROM themes WHERE company_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    let done = sqlx::query("DELETE FROM companies WHERE id = $1 AND reseller_id = $2")
        .bind(id)
        .bind(reseller_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
