//! Scheduled conferences and their invitees. Every query is scoped by reseller.

use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Db, Page, PageRequest};

/// A conference as stored, with the host and company facts its URLs and emails need.
#[derive(Debug, Clone)]
pub struct Conference {
    pub id: i64,
    pub reseller_id: i64,
    pub company_id: i64,
    pub host_id: i64,
    pub ical_uid: String,
    pub sequence: i64,
    pub subject: String,
    pub agenda: String,
    pub start_local: String,
    pub time_zone: String,
    pub duration: i64,
    pub starts_at: i64,
    /// When the one-time URL opens (start less the configured early-join time).
    pub opens_at: i64,
    pub ends_at: i64,
    pub auto_record: String,
    pub auto_transcribe: bool,
    /// The one-time code, or `None` when the conference uses the host's personal room.
    pub access_code: Option<String>,
    pub security_pin: Option<String>,
    pub mute_mode: String,
    pub host_token_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub host_name: String,
    pub host_email: String,
    pub host_access_code: String,
    pub company_name: String,
    pub company_hostname: String,
    /// Whether a meeting session of this conference is running.
    pub active: bool,
}

impl Conference {
    /// The code of the room the conference meets in.
    pub fn room_code(&self) -> &str {
        self.access_code
            .as_deref()
            .unwrap_or(&self.host_access_code)
    }
}

/// One invitee of a conference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitee {
    pub host_id: Option<i64>,
    pub email: String,
    pub name: String,
    pub moderator: bool,
    pub moderator_token_hash: Option<String>,
}

const SELECT: &str = "SELECT c.id, c.reseller_id, c.company_id, c.host_id, c.ical_uid, c.sequence,
        c.subject, c.agenda, c.start_local, c.time_zone, c.duration, c.starts_at, c.opens_at, c.ends_at,
        c.auto_record, c.auto_transcribe, c.access_code, c.security_pin, c.mute_mode,
        c.host_token_hash, c.created_at, c.updated_at,
        h.name AS host_name, h.email AS host_email, h.access_code AS host_access_code,
        co.name AS company_name,
        COALESCE((SELECT d.hostname FROM domains d WHERE d.company_id = c.company_id AND d.is_primary = 1), '') AS company_hostname,
        (SELECT COUNT(*) FROM meeting_sessions s WHERE s.conference_id = c.id AND s.ended_at IS NULL) AS running
    FROM conferences c
    JOIN hosts h ON h.id = c.host_id
    JOIN companies co ON co.id = c.company_id";

fn from_row(r: AnyRow) -> sqlx::Result<Conference> {
    let running: i64 = r.try_get("running")?;
    Ok(Conference {
        id: r.try_get("id")?,
        reseller_id: r.try_get("reseller_id")?,
        company_id: r.try_get("company_id")?,
        host_id: r.try_get("host_id")?,
        ical_uid: r.try_get("ical_uid")?,
        sequence: r.try_get("sequence")?,
        subject: r.try_get("subject")?,
        agenda: r.try_get("agenda")?,
        start_local: r.try_get("start_local")?,
        time_zone: r.try_get("time_zone")?,
        duration: r.try_get("duration")?,
        starts_at: r.try_get("starts_at")?,
        opens_at: r.try_get("opens_at")?,
        ends_at: r.try_get("ends_at")?,
        auto_record: r.try_get("auto_record")?,
        auto_transcribe: r.try_get::<i64, _>("auto_transcribe")? != 0,
        access_code: r.try_get("access_code")?,
        security_pin: r.try_get("security_pin")?,
        mute_mode: r.try_get("mute_mode")?,
        host_token_hash: r.try_get("host_token_hash")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        host_name: r.try_get("host_name")?,
        host_email: r.try_get("host_email")?,
        host_access_code: r.try_get("host_access_code")?,
        company_name: r.try_get("company_name")?,
        company_hostname: r.try_get("company_hostname")?,
        active: running > 0,
    })
}

/// Inserts a conference (the joined fields of `c` are ignored) and returns its id.
pub async fn insert(conn: &mut AnyConnection, c: &Conference) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO conferences (reseller_id, company_id, host_id, ical_uid, sequence, subject, agenda,
            start_local, time_zone, duration, starts_at, opens_at, ends_at, auto_record, auto_transcribe,
            access_code, security_pin, mute_mode, host_token_hash, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)
         RETURNING id",
    )
    .bind(c.reseller_id)
    .bind(c.company_id)
    .bind(c.host_id)
    .bind(&c.ical_uid)
    .bind(c.sequence)
    .bind(&c.subject)
    .bind(&c.agenda)
    .bind(&c.start_local)
    .bind(&c.time_zone)
    .bind(c.duration)
    .bind(c.starts_at)
    .bind(c.opens_at)
    .bind(c.ends_at)
    .bind(&c.auto_record)
    .bind(i64::from(c.auto_transcribe))
    .bind(&c.access_code)
    .bind(&c.security_pin)
    .bind(&c.mute_mode)
    .bind(&c.host_token_hash)
    .bind(c.created_at)
    .fetch_one(conn)
    .await?
    .try_get("id")
}

/// Writes the editable fields of a conference whose stored SEQUENCE is still `c.sequence - 1`;
/// `false` when a concurrent update got there first.
pub async fn update(conn: &mut AnyConnection, c: &Conference) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE conferences SET sequence = $1, subject = $2, agenda = $3, start_local = $4,
            time_zone = $5, duration = $6, starts_at = $7, ends_at = $8, auto_record = $9,
            auto_transcribe = $10, access_code = $11, security_pin = $12, mute_mode = $13,
            host_token_hash = $14, updated_at = $15, opens_at = $16
         WHERE id = $17 AND reseller_id = $18 AND sequence = $19",
    )
    .bind(c.sequence)
    .bind(&c.subject)
    .bind(&c.agenda)
    .bind(&c.start_local)
    .bind(&c.time_zone)
    .bind(c.duration)
    .bind(c.starts_at)
    .bind(c.ends_at)
    .bind(&c.auto_record)
    .bind(i64::from(c.auto_transcribe))
    .bind(&c.access_code)
    .bind(&c.security_pin)
    .bind(&c.mute_mode)
    .bind(&c.host_token_hash)
    .bind(c.updated_at)
    .bind(c.opens_at)
    .bind(c.id)
    .bind(c.reseller_id)
    .bind(c.sequence - 1)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Fetches one conference of a reseller.
pub async fn get(db: &Db, reseller_id: i64, id: i64) -> sqlx::Result<Option<Conference>> {
    let sql = format!("{SELECT} WHERE c.reseller_id = $1 AND c.id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .map(from_row)
        .transpose()
}

/// Finds the conference whose one-time code is `code`.
pub async fn find_by_access_code(
    db: &Db,
    reseller_id: i64,
    code: &str,
) -> sqlx::Result<Option<Conference>> {
    let sql = format!("{SELECT} WHERE c.reseller_id = $1 AND c.access_code = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(code)
        .fetch_optional(&db.pool)
        .await?
        .map(from_row)
        .transpose()
}

/// Which conferences a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Not yet ended, soonest first.
    Upcoming,
    /// Ended, most recent first.
    Past,
    /// All, by start time.
    All,
}

/// Filters of a conference list; `None` means any.
#[derive(Debug, Clone, Copy)]
pub struct ListFilter {
    pub host_id: Option<i64>,
    pub company_id: Option<i64>,
    /// Leaves out the conferences of reseller admins (for callers who do not see them).
    pub hide_reseller_admins: bool,
    pub when: When,
    pub now: i64,
}

/// Lists conferences of a reseller.
pub async fn list(
    db: &Db,
    reseller_id: i64,
    filter: ListFilter,
    page: PageRequest,
) -> sqlx::Result<Page<Conference>> {
    // `$2 = 0` / `$3 = 0` stand for "any": ids start at 1.
    let (time_filter, order) = match filter.when {
        When::Upcoming => ("AND c.ends_at > $4", "c.starts_at, c.id"),
        When::Past => ("AND c.ends_at <= $4", "c.starts_at DESC, c.id DESC"),
        When::All => ("AND $4 = $4", "c.starts_at, c.id"),
    };
    let hidden = if filter.hide_reseller_admins {
        "AND NOT EXISTS (SELECT 1 FROM hosts ra WHERE ra.id = c.host_id AND ra.role = 'RESELLER_ADMIN')"
    } else {
        ""
    };
    let conditions = format!(
        "WHERE c.reseller_id = $1 AND ($2 = 0 OR c.host_id = $2) AND ($3 = 0 OR c.company_id = $3) {time_filter} {hidden}"
    );
    let sql = format!("{SELECT} {conditions} ORDER BY {order} LIMIT $5 OFFSET $6");
    let host = filter.host_id.unwrap_or(0);
    let company = filter.company_id.unwrap_or(0);
    let items = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(reseller_id)
        .bind(host)
        .bind(company)
        .bind(filter.now)
        .bind(page.limit)
        .bind(page.offset)
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(from_row)
        .collect::<sqlx::Result<Vec<_>>>()?;
    let total = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM conferences c {conditions}"
    )))
    .bind(reseller_id)
    .bind(host)
    .bind(company)
    .bind(filter.now)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok(Page { items, total })
}

/// Deletes a conference with its invitees and pending jobs.
pub async fn delete(conn: &mut AnyConnection, reseller_id: i64, id: i64) -> sqlx::Result<bool> {
    let owned = sqlx::query("SELECT 1 AS one FROM conferences WHERE id = $1 AND reseller_id = $2")
        .bind(id)
        .bind(reseller_id)
        .fetch_optional(&mut *conn)
        .await?;
    if owned.is_none() {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM scheduled_jobs WHERE conference_id = $1",
        "DELETE FROM conference_invitees WHERE conference_id = $1",
        "DELETE FROM conferences WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(true)
}

/// Forgets a deleted host: the conferences it organises go, and where it was a participant it
/// stays invited by email (a deleted account does not uninvite the person).
pub async fn remove_host(
    conn: &mut AnyConnection,
    reseller_id: i64,
    host_id: i64,
) -> sqlx::Result<()> {
    let ids: Vec<i64> =
        sqlx::query("SELECT id FROM conferences WHERE reseller_id = $1 AND host_id = $2")
            .bind(reseller_id)
            .bind(host_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| r.try_get("id"))
            .collect::<sqlx::Result<_>>()?;
    for id in ids {
        delete(conn, reseller_id, id).await?;
    }
    sqlx::query("UPDATE conference_invitees SET host_id = NULL WHERE host_id = $1")
        .bind(host_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes every conference of a company (when the company is deleted), with invitees and jobs.
pub async fn remove_company(
    conn: &mut AnyConnection,
    reseller_id: i64,
    company_id: i64,
) -> sqlx::Result<()> {
    let ids: Vec<i64> =
        sqlx::query("SELECT id FROM conferences WHERE reseller_id = $1 AND company_id = $2")
            .bind(reseller_id)
            .bind(company_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| r.try_get("id"))
            .collect::<sqlx::Result<_>>()?;
    for id in ids {
        delete(conn, reseller_id, id).await?;
    }
    Ok(())
}

/// Whether a one-time conference code is in use in the reseller (other than by `except_conference`).
pub async fn access_code_taken(
    conn: &mut AnyConnection,
    reseller_id: i64,
    code: &str,
    except_conference: i64,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM conferences WHERE reseller_id = $1 AND access_code = $2 AND id <> $3",
    )
    .bind(reseller_id)
    .bind(code)
    .bind(except_conference)
    .fetch_optional(conn)
    .await?
    .is_some())
}

/// The invitees of a conference, in the order they were added.
pub async fn invitees(db: &Db, conference_id: i64) -> sqlx::Result<Vec<Invitee>> {
    sqlx::query(
        "SELECT host_id, email, name, moderator, moderator_token_hash FROM conference_invitees
         WHERE conference_id = $1 ORDER BY id",
    )
    .bind(conference_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(Invitee {
            host_id: r.try_get("host_id")?,
            email: r.try_get("email")?,
            name: r.try_get("name")?,
            moderator: r.try_get::<i64, _>("moderator")? != 0,
            moderator_token_hash: r.try_get("moderator_token_hash")?,
        })
    })
    .collect()
}

/// Replaces the invitee list of a conference.
pub async fn replace_invitees(
    conn: &mut AnyConnection,
    conference_id: i64,
    invitees: &[Invitee],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM conference_invitees WHERE conference_id = $1")
        .bind(conference_id)
        .execute(&mut *conn)
        .await?;
    for i in invitees {
        sqlx::query(
            "INSERT INTO conference_invitees (conference_id, host_id, email, name, moderator, moderator_token_hash)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(conference_id)
        .bind(i.host_id)
        .bind(&i.email)
        .bind(&i.name)
        .bind(i64::from(i.moderator))
        .bind(&i.moderator_token_hash)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Whether `token_hash` is the moderator token of the conference's host or of a moderator invitee.
pub async fn is_moderator_token(
    db: &Db,
    conference_id: i64,
    token_hash: &str,
) -> sqlx::Result<bool> {
    let found = sqlx::query(
        "SELECT 1 AS one FROM conferences WHERE id = $1 AND host_token_hash = $2
         UNION ALL
         SELECT 1 AS one FROM conference_invitees
            WHERE conference_id = $1 AND moderator = 1 AND moderator_token_hash = $2",
    )
    .bind(conference_id)
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?;
    Ok(found.is_some())
}

/// The conference of the reseller whose host or moderator invitee holds the token `token_hash`.
pub async fn find_by_moderator_token(
    db: &Db,
    reseller_id: i64,
    token_hash: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query(
        "SELECT id FROM conferences WHERE reseller_id = $1 AND host_token_hash = $2
         UNION ALL
         SELECT c.id FROM conference_invitees i JOIN conferences c ON c.id = i.conference_id
            WHERE c.reseller_id = $1 AND i.moderator = 1 AND i.moderator_token_hash = $2",
    )
    .bind(reseller_id)
    .bind(token_hash)
    .fetch_optional(&db.pool)
    .await?
    .map(|r| r.try_get("id"))
    .transpose()
}
