//! Database access. One `Db` handle over SQLite or PostgreSQL (sqlx `Any`), the same SQL for both:
//! `$n` placeholders, BIGINT for integers, booleans and Unix-second timestamps, TEXT for the rest.

pub mod acme;
pub mod browser_sessions;
pub mod companies;
pub mod conferences;
pub mod credentials;
pub mod custom_domains;
pub mod domains;
pub mod hosts;
pub mod mail_outbox;
pub mod meetings;
pub mod resellers;
pub mod scheduled_jobs;
pub mod server_keys;
pub mod sso;
pub mod themes;

use std::{path::Path, str::FromStr, time::Duration};

use sqlx::{
    AnyPool,
    any::{AnyConnectOptions, AnyPoolOptions},
    migrate::Migrator,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Which SQL engine is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Shared handle to the database.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

impl Db {
    /// Opens the pool, creating the SQLite file (and its folder) when needed.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, sqlite_url_with_create(url)?)
        } else {
            (Backend::Postgres, url.to_string())
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            // WAL lets readers proceed during a write; the busy timeout queues concurrent writers.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        Ok(Self { pool, backend })
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a deferred transaction that reads and then writes fails at once with "database
    /// is locked" when another connection committed in between, whereas this one waits its turn.
    pub async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Any>> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }
}

/// Adds `mode=rwc` so a missing SQLite file is created, and creates its folder.
fn sqlite_url_with_create(url: &str) -> anyhow::Result<String> {
    let path_part = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path_part.split('?').next().unwrap_or_default();
    let parent = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(parent)?;
    }
    if url.contains("mode=") {
        Ok(url.to_string())
    } else if url.contains('?') {
        Ok(format!("{url}&mode=rwc"))
    } else {
        Ok(format!("{url}?mode=rwc"))
    }
}

/// Current time in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// One page of a list query.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
}

/// Rows of one page plus the total number of matching rows.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_gain_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/confab.db", dir.path().display());
        assert_eq!(
            sqlite_url_with_create(&url).unwrap(),
            format!("{url}?mode=rwc")
        );
        assert!(dir.path().join("sub").is_dir());
        assert_eq!(
            sqlite_url_with_create("sqlite::memory:?cache=shared").unwrap(),
            "sqlite::memory:?cache=shared&mode=rwc"
        );
    }
}
