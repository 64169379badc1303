//! Outgoing mail: messages are queued durably in the database (see `store::mail_outbox`) and a
//! background worker hands them to lettre, over SMTP or into `.eml` files in the outbox folder.

pub mod messages;
pub mod transport;
pub mod worker;

use lettre::{Message, message::Mailbox};
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

/// The sender of a reseller's mail: `"<Reseller name>" <local@reseller-domain>`.
pub fn reseller_sender(
    reseller_name: &str,
    local_part: &str,
    reseller_domain: &str,
) -> Option<Mailbox> {
    let address = format!("{local_part}@{reseller_domain}").parse().ok()?;
    Some(Mailbox::new(Some(reseller_name.to_string()), address))
}
