//! Resellers: the top of the tenant hierarchy.

use sqlx::{AnyConnection, Row};

use super::{Db, now};

/// A reseller as stored.
#[derive(Debug, Clone)]
pub struct Reseller {
    pub id: i64,
    pub name: String,
    pub domain: String,
}

/// Number of resellers; zero means a fresh database.
pub async fn count(db: &Db) -> sqlx::Result<i64> {
    sqlx::query("SELECT COUNT(*) AS n FROM resellers")
        .fetch_one(&db.pool)
        .await?
        .try_get("n")
}

/// Inserts a reseller row and returns its id.
pub async fn insert(conn: &mut AnyConnection, name: &str, domain: &str) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO resellers (name, domain, created_at) VALUES ($1, $2, $3) RETURNING id")
        .bind(name)
        .bind(domain)
        .bind(now())
        .fetch_one(conn)
        .await?
        .try_get("id")
}

/// Looks a reseller up by id.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<Option<Reseller>> {
    let row = sqlx::query("SELECT id, name, domain FROM resellers WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| {
        Ok(Reseller {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            domain: r.try_get("domain")?,
        })
    })
    .transpose()
}
