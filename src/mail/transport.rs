//! Where queued mail goes: an SMTP server, or `.eml` files when none is configured.

use std::path::PathBuf;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, address::Envelope};

/// A delivery backend.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Transport {
    /// SMTP from `smtp_url` when set, otherwise the outbox folder.
    pub fn from_config(smtp_url: Option<&str>, outbox: PathBuf) -> anyhow::Result<Self> {
        match smtp_url {
            Some(url) => Ok(Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
            )),
            None => Ok(Transport::Outbox(outbox)),
        }
    }

    /// Delivers one formatted message.
    pub async fn send(&self, id: i64, envelope: &Envelope, raw: &[u8]) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp
                .send_raw(envelope, raw)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| e.to_string())?;
                // Time first so files sort by age and never collide across databases.
                let path = dir.join(format!("{}-{id:08}.eml", crate::store::now()));
                tokio::fs::write(&path, raw)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// A short description for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp(_) => "SMTP".into(),
            Transport::Outbox(dir) => format!("files in {}", dir.display()),
        }
    }
}
