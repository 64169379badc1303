//! Reminder emails as durable jobs: one `scheduled_jobs` row per configured offset, written with
//! the conference; a background task turns due rows into queued mail. Claiming a job and queueing
//! its mail happen in one transaction, so a reminder is queued exactly once even across restarts
//! and with several servers; the mail outbox then delivers it with retries.

use std::time::Duration;

use sqlx::AnyConnection;

use super::{Brand, notify};
use crate::{
    app::{App, AppState},
    error::AppResult,
    store::{self, conferences::Conference, scheduled_jobs::Job},
};

/// `scheduled_jobs.kind` of a reminder.
pub const REMINDER: &str = "reminder";

/// Queues the reminders of a conference (after dropping any earlier ones): one per offset whose
/// time is still ahead at `now`. A conference already started gets none.
pub async fn schedule(
    conn: &mut AnyConnection,
    offsets_secs: &[i64],
    conference: &Conference,
    now: i64,
) -> AppResult<()> {
    store::scheduled_jobs::drop_pending(conn, conference.id).await?;
    let mut times: Vec<i64> = offsets_secs
        .iter()
        .map(|o| conference.starts_at - o)
        .filter(|at| *at > now)
        .collect();
    times.sort_unstable();
    times.dedup();
    for at in times {
        store::scheduled_jobs::insert(conn, REMINDER, conference.reseller_id, conference.id, at)
            .await?;
    }
    Ok(())
}

/// Failed runs of a job before it is given up.
const MAX_ATTEMPTS: i64 = 6;

/// Runs the jobs due at `now` (the clock is a parameter so tests can move it); returns how many
/// reminder emails were queued. A job that fails is retried with backoff, so one bad job never
/// holds up the others.
pub async fn run_due(app: &App, now: i64) -> AppResult<usize> {
    let mut queued = 0;
    for job in store::scheduled_jobs::due(&app.db, now, 100).await? {
        match run_one(app, &job, now).await {
            Ok(n) => queued += n,
            Err(err) => {
                let attempts = job.attempts + 1;
                let retry_at = (attempts < MAX_ATTEMPTS).then(|| now + (60_i64 << attempts));
                tracing::warn!(job = job.id, attempts, %err, "scheduled job failed");
                store::scheduled_jobs::mark_failed(&app.db, job.id, &err.to_string(), retry_at)
                    .await?;
            }
        }
    }
    if queued > 0 {
        app.mail_wake.notify_one();
    }
    Ok(queued)
}

/// Claims one job and does its work in a single transaction.
async fn run_one(app: &App, job: &Job, now: i64) -> AppResult<usize> {
    let mut tx = app.db.begin_write().await?;
    if !store::scheduled_jobs::claim(&mut tx, job.id, now).await? {
        return Ok(0);
    }
    let conference = match job.conference_id {
        Some(id) if job.kind == REMINDER => {
            store::conferences::get(&app.db, job.reseller_id, id).await?
        }
        _ => None,
    };
    let mut queued = 0;
    // Deleted conferences have no jobs left; one that started already needs no reminder.
    if let Some(c) = conference.filter(|c| c.starts_at > now) {
        let invitees = store::conferences::invitees(&app.db, c.id).await?;
        let brand = Brand::of_company(
            &app.db,
            &app.config,
            c.reseller_id,
            c.company_id,
            &c.company_hostname,
        )
        .await?;
        queued = notify::queue_reminders(&mut tx, &app.config, &brand, &c, &invitees).await?;
    }
    tx.commit().await?;
    Ok(queued)
}

/// The scheduler task: runs due jobs every `scheduler_poll_secs`.
pub async fn run(state: AppState) {
    let every = Duration::from_secs(state.config.scheduler_poll_secs.max(1));
    loop {
        if let Err(err) = run_due(&state, store::now()).await {
            tracing::warn!(%err, "scheduled jobs failed");
        }
        tokio::time::sleep(every).await;
    }
}
