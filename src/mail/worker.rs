//! The mail worker: delivers due messages, retries failures with backoff.

use std::{sync::Arc, time::Duration};

use lettre::{Address, address::Envelope};
use tokio::sync::Notify;

use super::transport::Transport;
use crate::store::{self, Db, mail_outbox::QueuedMail};

/// Attempts before a message is given up (its last error stays in the table).
const MAX_ATTEMPTS: i64 = 8;
/// Messages taken from the outbox per scan.
const BATCH: i64 = 50;

/// Runs forever: wakes on `wake` or every few seconds, sends what is due.
pub async fn run(db: Db, transport: Transport, wake: Arc<Notify>) {
    loop {
        match deliver_due(&db, &transport).await {
            // A full batch may have more behind it (a conference invites hundreds): go on at once.
            Ok(delivered) if delivered as i64 == BATCH => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "mail outbox scan failed"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// Sends every due message once; returns how many were delivered.
pub async fn deliver_due(db: &Db, transport: &Transport) -> sqlx::Result<usize> {
    let mut delivered = 0;
    for mail in store::mail_outbox::due(db, MAX_ATTEMPTS, BATCH).await? {
        match send_one(transport, &mail).await {
            Ok(()) => {
                store::mail_outbox::mark_sent(db, mail.id).await?;
                delivered += 1;
            }
            Err(err) => {
                let backoff = 30_i64 << mail.attempts.clamp(0, 10);
                tracing::warn!(id = mail.id, attempts = mail.attempts + 1, %err, "mail delivery failed");
                store::mail_outbox::mark_failed(db, mail.id, &err, store::now() + backoff).await?;
            }
        }
    }
    Ok(delivered)
}

async fn send_one(transport: &Transport, mail: &QueuedMail) -> Result<(), String> {
    let from = mail.envelope_from.parse::<Address>().ok();
    let to = mail
        .envelope_to
        .iter()
        .map(|a| a.parse::<Address>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad recipient: {e}"))?;
    let envelope = Envelope::new(from, to).map_err(|e| e.to_string())?;
    transport.send(mail.id, &envelope, &mail.raw_message).await
}
