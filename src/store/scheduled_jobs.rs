//! Durable jobs (conference reminders) that run at a given time. A job is claimed inside the
//! transaction that performs it, so it runs once even with several server processes.

use sqlx::{AnyConnection, Row};

use super::{Db, now};

/// A job waiting for its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub reseller_id: i64,
    pub conference_id: Option<i64>,
    pub run_at: i64,
    pub attempts: i64,
}

/// Queues a job.
pub async fn insert(
    conn: &mut AnyConnection,
    kind: &str,
    reseller_id: i64,
    conference_id: i64,
    run_at: i64,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO scheduled_jobs (kind, reseller_id, conference_id, run_at, created_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id",
    )
    .bind(kind)
    .bind(reseller_id)
    .bind(conference_id)
    .bind(run_at)
    .bind(now())
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Drops the jobs of a conference that have not run yet.
pub async fn drop_pending(conn: &mut AnyConnection, conference_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM scheduled_jobs WHERE conference_id = $1 AND done_at IS NULL")
        .bind(conference_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Jobs due at `at`, oldest first.
pub async fn due(db: &Db, at: i64, limit: i64) -> sqlx::Result<Vec<Job>> {
    sqlx::query(
        "SELECT id, kind, reseller_id, conference_id, run_at, attempts FROM scheduled_jobs
         WHERE done_at IS NULL AND run_at <= $1 ORDER BY run_at, id LIMIT $2",
    )
    .bind(at)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Job {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            reseller_id: r.try_get("reseller_id")?,
            conference_id: r.try_get("conference_id")?,
            run_at: r.try_get("run_at")?,
            attempts: r.try_get("attempts")?,
        })
    })
    .collect()
}

/// Pending jobs of a conference, soonest first.
pub async fn pending_of(db: &Db, conference_id: i64) -> sqlx::Result<Vec<Job>> {
    sqlx::query(
        "SELECT id, kind, reseller_id, conference_id, run_at, attempts FROM scheduled_jobs
         WHERE conference_id = $1 AND done_at IS NULL ORDER BY run_at, id",
    )
    .bind(conference_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Job {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            reseller_id: r.try_get("reseller_id")?,
            conference_id: r.try_get("conference_id")?,
            run_at: r.try_get("run_at")?,
            attempts: r.try_get("attempts")?,
        })
    })
    .collect()
}

/// Marks a job done; `false` when another worker already did (or it was dropped).
pub async fn claim(conn: &mut AnyConnection, id: i64, at: i64) -> sqlx::Result<bool> {
    let done =
        sqlx::query("UPDATE scheduled_jobs SET done_at = $1 WHERE id = $2 AND done_at IS NULL")
            .bind(at)
            .bind(id)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed run: retried at `retry_at`, or given up (done) when `retry_at` is `None`.
pub async fn mark_failed(db: &Db, id: i64, error: &str, retry_at: Option<i64>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE scheduled_jobs SET attempts = attempts + 1, last_error = $1,
            run_at = COALESCE($2, run_at), done_at = CASE WHEN $2 IS NULL THEN $3 ELSE NULL END
         WHERE id = $4 AND done_at IS NULL",
    )
    .bind(error)
    .bind(retry_at)
    .bind(now())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}
