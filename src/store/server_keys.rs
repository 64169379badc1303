//! The server's own secrets, one row per purpose.

use sqlx::Row;

use super::{Db, now};

/// The secret named `name`, made from `fresh` when there is none yet. Whichever process inserts
/// first wins; every other one reads that row.
pub async fn get_or_create(db: &Db, name: &str, fresh: &str) -> sqlx::Result<String> {
    sqlx::query(
        "INSERT INTO server_keys (name, secret, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(fresh)
    .bind(now())
    .execute(&db.pool)
    .await?;
    sqlx::query("SELECT secret FROM server_keys WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?
        .try_get("secret")
}
