//! Hosts: the users of a company. Every query is scoped by reseller.

use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Db, Page, PageRequest, now};

/// A host as stored, with its company's primary hostname (for meeting URLs).
#[derive(Debug, Clone)]
pub struct Host {
    pub id: i64,
    pub reseller_id: i64,
    pub company_id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub openid_sub: Option<String>,
    pub access_code: String,
    pub moderator_pin: String,
    pub subscription_ids: String,
    pub company_hostname: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Fields of a new host; secrets arrive already hashed.
pub struct NewHost<'a> {
    pub reseller_id: i64,
    pub company_id: i64,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: &'a str,
    pub openid_sub: Option<&'a str>,
    pub access_code: &'a str,
    pub moderator_pin: &'a str,
    pub login_token_hash: &'a str,
    pub subscription_ids: &'a str,
}

const SELECT: &str = "SELECT h.id, h.reseller_id, h.company_id, h.name, h.email, h.password_hash,
        h.role, h.openid_sub, h.access_code, h.moderator_pin, h.subscription_ids,
        h.created_at, h.updated_at,
        COALESCE((SELECT d.hostname FROM domains d WHERE d.company_id = h.company_id AND d.is_primary = 1), '') AS company_hostname
    FROM hosts h";

fn from_row(r: AnyRow) -> sqlx::Result<Host> {
    Ok(Host {
        id: r.try_get("id")?,
        reseller_id: r.try_get("reseller_id")?,
        company_id: r.try_get("company_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        openid_sub: r.try_get("openid_sub")?,
        access_code: r.try_get("access_code")?,
        moderator_pin: r.try_get("moderator_pin")?,
        subscription_ids: r.try_get("subscription_ids")?,
        company_hostname: r.try_get("company_hostname")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Inserts a host and returns its id.
pub async fn insert(conn: &mut AnyConnection, host: &NewHost<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO hosts (reseller_id, company_id, name, email, password_hash, role, openid_sub,
            access_code, moderator_pin, login_token_hash, subscription_ids, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(host.reseller_id)
    .bind(host.company_id)
    .bind(host.name)
    .bind(host.email)
    .bind(host.password_hash)
    .bind(host.role)
    .bind(host.openid_sub)
    .bind(host.access_code)
    .bind(host.moderator_pin)
    .bind(host.login_token_hash)
    .bind(host.subscription_ids)
    .bind(now())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Fetches one host of a reseller.
pub async fn get(db: &Db, reseller_id: i64, id: i64) -> sqlx::Result<Option<Host>> {
    let sql = format!("{SELECT} WHERE h.reseller_id = $1 AND h.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(from_row)
        .transpose()
}

/// Finds a host of a reseller by (lowercased) email.
pub async fn find_by_email(db: &Db, reseller_id: i64, email: &str) -> sqlx::Result<Option<Host>> {
    let sql = format!("{SELECT} WHERE h.reseller_id = $1 AND h.email = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(email)
        .fetch_optional(&db.pool)
        .await?
        .map(from_row)
        .transpose()
}

/// Lists hosts of a reseller, optionally of one company, oldest first.
pub async fn list(
    db: &Db,
    reseller_id: i64,
    company_id: Option<i64>,
    hide_reseller_admins: bool,
    page: PageRequest,
) -> sqlx::Result<Page<Host>> {
    // `$2 = 0` stands for "any company": ids start at 1.
    let filter = if hide_reseller_admins {
        "WHERE h.reseller_id = $1 AND ($2 = 0 OR h.company_id = $2) AND h.role <> 'RESELLER_ADMIN'"
    } else {
        "WHERE h.reseller_id = $1 AND ($2 = 0 OR h.company_id = $2)"
    };
    let sql = format!("{SELECT} {filter} ORDER BY h.id LIMIT $3 OFFSET $4");
    let company = company_id.unwrap_or(0);
    let items = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(company)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    let total = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM hosts h {filter}"
    )))
    .bind(reseller_id)
    .bind(company)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok(Page { items, total })
}

/// Whether an email is in use by another host of the reseller.
pub async fn email_taken(
    conn: &mut AnyConnection,
    reseller_id: i64,
    email: &str,
    except_host: i64,
) -> sqlx::Result<bool> {
    Ok(
        sqlx::query(
            "SELECT 1 AS one FROM hosts WHERE reseller_id = $1 AND email = $2 AND id <> $3",
        )
        .bind(reseller_id)
        .bind(email)
        .bind(except_host)
        .fetch_optional(conn)
        .await?
        .is_some(),
    )
}

/// Whether an access code is in use by another host of the reseller.
pub async fn access_code_taken(
    conn: &mut AnyConnection,
    reseller_id: i64,
    code: &str,
    except_host: i64,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM hosts WHERE reseller_id = $1 AND access_code = $2 AND id <> $3",
    )
    .bind(reseller_id)
    .bind(code)
    .bind(except_host)
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// Writes the editable fields of a host.
pub async fn update(conn: &mut AnyConnection, host: &Host) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE hosts SET name = $1, email = $2, password_hash = $3, role = $4, openid_sub = $5,
            access_code = $6, moderator_pin = $7, subscription_ids = $8, updated_at = $9
         WHERE id = $10 AND reseller_id = $11",
    )
    .bind(&host.name)
    .bind(&host.email)
    .bind(&host.password_hash)
    .bind(&host.role)
    .bind(&host.openid_sub)
    .bind(&host.access_code)
    .bind(&host.moderator_pin)
    .bind(&host.subscription_ids)
    .bind(now())
    .bind(host.id)
    .bind(host.reseller_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a new password hash.
pub async fn set_password_hash(
    conn: &mut AnyConnection,
    host_id: i64,
    hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE hosts SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now())
        .bind(host_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Replaces the stored hash of the host's SSO login token.
pub async fn set_login_token_hash(
    conn: &mut AnyConnection,
    reseller_id: i64,
    host_id: i64,
    hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE hosts SET login_token_hash = $1, updated_at = $2 WHERE id = $3 AND reseller_id = $4")
        .bind(hash)
        .bind(now())
        .bind(host_id)
        .bind(reseller_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes a host and its credentials in the caller's transaction.
pub async fn delete(conn: &mut AnyConnection, reseller_id: i64, id: i64) -> sqlx::Result<bool> {
    let owned = sqlx::query("SELECT 1 AS one FROM hosts WHERE id = $1 AND reseller_id = $2")
        .bind(id)
        .bind(reseller_id)
        .fetch_optional(&mut *conn)
        .await?;
    if owned.is_none() {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM api_sessions WHERE host_id = $1",
        "DELETE FROM api_tokens WHERE host_id = $1",
        "DELETE FROM password_links WHERE host_id = $1",
        "DELETE FROM hosts WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(true)
}
