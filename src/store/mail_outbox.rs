//! Durable queue of outgoing mail: a message is stored in the same transaction as the change that
//! caused it, then delivered by the mail worker with retries, so a crash never loses it.

use sqlx::{AnyConnection, Row};

use super::{Db, now};

/// A message waiting for delivery.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub raw_message: Vec<u8>,
    pub attempts: i64,
}

/// Queues a fully formatted message.
pub async fn enqueue(
    conn: &mut AnyConnection,
    from: &str,
    to: &[String],
    raw: &[u8],
) -> sqlx::Result<i64> {
    let to = serde_json::to_string(to).unwrap_or_else(|_| "[]".into());
    let now = now();
    sqlx::query(
        "INSERT INTO mail_outbox (envelope_from, envelope_to, raw_message, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(from)
    .bind(to)
    .bind(raw)
    .bind(now)
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Messages due for a delivery attempt.
pub async fn due(db: &Db, max_attempts: i64, limit: i64) -> sqlx::Result<Vec<QueuedMail>> {
    sqlx::query(
        "SELECT id, envelope_from, envelope_to, raw_message, attempts FROM mail_outbox
         WHERE sent_at IS NULL AND next_attempt_at <= $1 AND attempts < $2
         ORDER BY id LIMIT $3",
    )
    .bind(now())
    .bind(max_attempts)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        let to: String = r.try_get("envelope_to")?;
        Ok(QueuedMail {
            id: r.try_get("id")?,
            envelope_from: r.try_get("envelope_from")?,
            envelope_to: serde_json::from_str(&to).unwrap_or_default(),
            raw_message: r.try_get("raw_message")?,
            attempts: r.try_get("attempts")?,
        })
    })
    .collect()
}

/// Records a successful delivery.
pub async fn mark_sent(db: &Db, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE mail_outbox SET sent_at = $1, attempts = attempts + 1, last_error = NULL WHERE id = $2")
        .bind(now())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub async fn mark_failed(db: &Db, id: i64, error: &str, retry_at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3",
    )
    .bind(error)
    .bind(retry_at)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}
