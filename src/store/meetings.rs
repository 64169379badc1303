//! Meeting sessions (first join to last leave of a room) and their occupants.

use sqlx::Row;

use super::{Db, now};

/// Where a meeting session happens.
pub struct NewSession<'a> {
    pub reseller_id: i64,
    pub company_id: i64,
    pub host_id: Option<i64>,
    pub conference_id: Option<i64>,
    pub access_code: &'a str,
}

/// Opens a session and returns its id.
pub async fn start_session(db: &Db, s: &NewSession<'_>) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO meeting_sessions (reseller_id, company_id, host_id, conference_id, access_code, started_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(s.reseller_id)
    .bind(s.company_id)
    .bind(s.host_id)
    .bind(s.conference_id)
    .bind(s.access_code)
    .bind(now())
    .fetch_one(&db.pool)
    .await?
    .try_get("id")
}

/// Closes a session.
pub async fn end_session(db: &Db, session_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE meeting_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
        .bind(now())
        .bind(session_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records a participant entering; returns the occupant row id.
pub async fn add_occupant(
    db: &Db,
    session_id: i64,
    participant_key: &str,
    name: &str,
    role: &str,
    host_id: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO meeting_participants (session_id, participant_key, name, role, host_id, joined_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(session_id)
    .bind(participant_key)
    .bind(name)
    .bind(role)
    .bind(host_id)
    .bind(now())
    .fetch_one(&db.pool)
    .await?
    .try_get("id")
}

/// Records a participant leaving.
pub async fn occupant_left(db: &Db, occupant_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE meeting_participants SET left_at = $1 WHERE id = $2 AND left_at IS NULL")
        .bind(now())
        .bind(occupant_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// After a crash or restart no meeting is running: close what was left open.
pub async fn close_dangling(db: &Db) -> sqlx::Result<u64> {
    let now = now();
    sqlx::query("UPDATE meeting_participants SET left_at = $1 WHERE left_at IS NULL")
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(
        sqlx::query("UPDATE meeting_sessions SET ended_at = $1 WHERE ended_at IS NULL")
            .bind(now)
            .execute(&db.pool)
            .await?
            .rows_affected(),
    )
}

/// Finds a host's personal room by access code within a company.
pub async fn host_room(
    db: &Db,
    reseller_id: i64,
    company_id: i64,
    access_code: &str,
) -> sqlx::Result<Option<(i64, String, String)>> {
    let row = sqlx::query(
        "SELECT id, name, moderator_pin FROM hosts WHERE reseller_id = $1 AND company_id = $2 AND access_code = $3",
    )
    .bind(reseller_id)
    .bind(company_id)
    .bind(access_code)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("name")?,
            r.try_get("moderator_pin")?,
        ))
    })
    .transpose()
}

/// Stores one chat message of a meeting session.
pub async fn add_chat_message(
    db: &Db,
    session_id: i64,
    participant_key: &str,
    name: &str,
    text: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO chat_messages (session_id, participant_key, name, text, sent_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session_id)
    .bind(participant_key)
    .bind(name)
    .bind(text)
    .bind(now())
    .execute(&db.pool)
    .await?;
    Ok(())
}
