//! Outgoing mail: messages are queued durably in the database (see `store::mail_outbox`) and a
//! background worker hands them to lettre, over SMTP or into `.eml` files in the outbox folder.

pub mod brand;
pub mod messages;
pub mod transport;
pub mod worker;

use lettre::Message;
use sqlx::AnyConnection;

use crate::{error::AppResult, store};

/// Queues a built message in the caller's transaction.
pub async fn enqueue(conn: &mut AnyConnection, message: &Message) -> AppResult<()> {
    let envelope = message.envelope();
    let from = envelope.from().map(|a| a.to_string()).unwrap_or_default();
    let to: Vec<String> = envelope.to().iter().map(|a| a.to_string()).collect();
    store::mail_outbox::enqueue(conn, &from, &to, &message.formatted()).await?;
    Ok(())
}
