//! All of zhili's SQL. One [`Store`] handle over SQLite (embedded, the default) or
//! PostgreSQL (production); the statements live in `backend`, compiled for both, and
//! the logic above them is written once. Event access goes through a handle built
//! for an actor ([`Store::events_for`]), which puts the actor's scope into every query.

pub mod admin;
pub mod alerts;
pub mod api_clients;
pub mod assessment;
pub mod attachments;
pub mod audit;
mod backend;
pub mod backup;
pub mod chat;
pub mod classification;
pub mod command;
pub mod credentials;
pub mod crypto;
pub mod deadlines;
pub mod duplicates;
mod events;
pub mod feedback;
mod group_commit;
mod idle_accounts;
pub mod imports;
pub mod kpi;
pub mod notices;
pub mod outbox;
pub mod patrols;
pub mod pii;
pub mod public;
pub mod queue;
pub mod records;
pub mod recurring;
mod reference;
mod retention;
pub mod rights;
pub mod routing;
mod sql;
pub mod supervision;
pub mod survey;
pub mod testing;
pub mod warnings;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};
use thiserror::Error;
use zhili_domain::LifecycleError;

pub use events::{Acting, CreateOutcome, EventRepo, HistoricalEvent, HistoricalStep};
pub use group_commit::{GroupCommit, Stored};
pub use outbox::{
    InstanceWork, OutboxHealth, OutboxMessage, PendingOutbox, TOPIC_110, TOPIC_LAW_ENFORCEMENT,
    TOPIC_MARKET_SUPERVISION, TOPIC_SMS, backoff, province_topic, topic_label,
};
pub use records::*;
pub use reference::{CategoryImport, OrgImport, ReferenceImport, UserImport};
pub use warnings::{Notification, SweepReport, TOPIC_EMAIL};

pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Error)]
pub enum StoreError {
    /// Not there, or not in the actor's scope: the two look the same on purpose.
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Lifecycle(#[from] LifecycleError),
    /// A value that refers to something that does not exist or may not be used.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Someone else changed the event between our read and our write.
    #[error("concurrent modification")]
    Conflict,
    /// The same unique value is already taken.
    #[error("{field} already exists")]
    Duplicate { field: String },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("unsupported database url (use sqlite:… or postgres://…)")]
    UnsupportedUrl,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The store is shutting down (its background writers have stopped).
    #[error("storage unavailable")]
    Unavailable,
    /// The master key is malformed or not the one the database's keys are under.
    #[error("{0}")]
    PiiKey(String),
    /// In scope, but the actor's part in the event does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Asked too often (one-time codes to one phone); the message says when to retry.
    #[error("{0}")]
    RateLimited(String),
    /// Personal data was to be read or written before [`Store::unlock_pii`].
    #[error("personal data keys not loaded")]
    PiiLocked,
}

impl StoreError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        StoreError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The storage handle; cheap to clone, shared by all requests and background work.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    number_prefix: String,
    /// Working days for deadlines: the shipped years plus those loaded into the
    /// database (see [`Store::load_calendar`]).
    /// Shared by every clone of the store, so a year loaded through one handle
    /// (or picked up by [`Store::reload_calendar`]) applies to all of them.
    calendar: std::sync::Arc<std::sync::RwLock<std::sync::Arc<zhili_calendar::Calendar>>>,
    /// Office hours for limits counted in working hours (08:30–12:00, 13:30–17:30
    /// unless configured).
    working_hours: zhili_calendar::WorkingHours,
    /// Yellow warnings come when this share (%) of a clock's working time is used.
    warn_percent: u8,
    /// When reports of one kind at one place make a recurring problem.
    recurrence: zhili_geo::RecurrenceRule,
    /// When a new report is linked to an open one as its duplicate (see `duplicates`).
    duplicates: zhili_domain::DuplicateRule,
    /// Set when group commit runs: creates go to its writer tasks.
    group: Option<group_commit::Queue>,
    /// Rating-link settings and the check-code secret once read (see `feedback`).
    feedback: std::sync::Arc<feedback::FeedbackState>,
    /// The field keys for personal data, once unlocked (see `pii`).
    pii: Option<std::sync::Arc<pii::Pii>>,
    /// The processing notice live intake records (see `notices`); shared by every
    /// clone, like the calendar, so the group-commit writers see it too.
    notice: std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<str>>>>,
}

impl std::fmt::Debug for Store {
    // No connection URL here: it may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish()
    }
}

/// Runs `$body` (an expression using the transaction `$tx`) on whichever backend the
/// store has, committing when it returns `Ok` and rolling back otherwise. A `?` in the
/// body leaves the calling function and drops the transaction, which rolls it back.
macro_rules! in_tx {
    ($store:expr, $mode:ident, |$tx:ident| $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite(p) => {
                let mut $tx = $crate::begin_sqlite(p, $crate::TxMode::$mode).await?;
                let r = $body;
                if r.is_ok() {
                    $crate::backend::Tx::commit($tx).await?;
                }
                r
            }
            $crate::Pool::Postgres(p) => {
                let mut $tx = p.begin().await?;
                let r = $body;
                if r.is_ok() {
                    $crate::backend::Tx::commit($tx).await?;
                }
                r
            }
        }
    };
}
pub(crate) use in_tx;

#[derive(Clone, Copy)]
pub(crate) enum TxMode {
    Read,
    Write,
}

pub(crate) async fn begin_sqlite(
    p: &SqlitePool,
    mode: TxMode,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    match mode {
        TxMode::Read => p.begin().await,
        // Take the write lock up front: a deferred transaction that reads and then
        // writes can fail with SQLITE_BUSY instead of waiting for the lock.
        TxMode::Write => p.begin_with("BEGIN IMMEDIATE").await,
    }
}

impl Store {
    /// Connects to `sqlite:PATH` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let pool = if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: an acknowledged event survives a power cut, not only a crash.
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(15))
                // 32 MB of pages per connection instead of SQLite's 2 MB: the writer
                // reads indexes of the recent events for every batch, and a page
                // re-read from the OS is a system call.
                .pragma("cache_size", "-32768")
                // 64 MB of WAL before a commit checkpoints by itself: while serving,
                // a background task checkpoints long before that (group_commit.rs),
                // so commits don't; other uses (CLI, tests) checkpoint at this size
                // or when the last connection closes.
                .pragma("wal_autocheckpoint", "16384")
                .foreign_keys(true);
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(8)
                    // A local file cannot drop like a network link; a ping before
                    // every use is one more hop to the connection's thread.
                    .test_before_acquire(false)
                    .connect_with(opts)
                    .await?,
            )
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect(url)
                    .await?,
            )
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        Ok(Store {
            pool,
            number_prefix: "ZL".into(),
            calendar: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(
                zhili_calendar::Calendar::shipped().clone(),
            ))),
            working_hours: zhili_calendar::WorkingHours::default(),
            warn_percent: deadlines::DEFAULT_WARN_PERCENT,
            recurrence: zhili_geo::RecurrenceRule::default(),
            duplicates: zhili_domain::DuplicateRule::default(),
            group: None,
            feedback: Default::default(),
            pii: None,
            notice: Default::default(),
        })
    }

    /// Event numbers start with this prefix (e.g. "YY" for 余姚).
    pub fn with_number_prefix(mut self, prefix: &str) -> Self {
        self.number_prefix = prefix.to_string();
        self
    }

    /// Takes the calendar years loaded into the database on top of the shipped ones.
    /// A stored year that no longer parses is reported, not silently skipped.
    pub async fn load_calendar(self) -> Result<Self, StoreError> {
        self.reload_calendar().await?;
        Ok(self)
    }

    /// Reads the loaded years again, so that a year loaded by another instance (or
    /// the CLI) applies here too; the background work calls this every round.
    pub async fn reload_calendar(&self) -> Result<(), StoreError> {
        let mut cal = zhili_calendar::Calendar::shipped()
            .clone()
            .with_working_hours(self.working_hours.clone());
        for (year, json) in self.calendar_years().await? {
            let data = zhili_calendar::YearData::from_json(&json)
                .map_err(|e| StoreError::Corrupt(format!("calendar year {year}: {e}")))?;
            cal = cal.with_year(data);
        }
        let cal = std::sync::Arc::new(cal);
        *self.calendar.write().unwrap_or_else(|e| e.into_inner()) = cal;
        Ok(())
    }

    /// Stores checked calendar years (replacing earlier loads of the same years), puts
    /// them in force here at once — other instances take them up within one round of
    /// their background work — and counts the estimated deadlines again.
    pub async fn load_calendar_years(
        &self,
        years: &[zhili_calendar::YearData],
        by: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, StoreError> {
        for y in years {
            self.put_calendar_year(y.year(), &y.to_json(), by, now)
                .await?;
        }
        self.reload_calendar().await?;
        self.recount_estimated_deadlines(by, now).await
    }

    /// The working-day calendar now in force.
    pub fn calendar(&self) -> std::sync::Arc<zhili_calendar::Calendar> {
        self.calendar
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Office hours for deadlines in working hours (and the close of a working day).
    pub fn with_working_hours(mut self, hours: zhili_calendar::WorkingHours) -> Self {
        let cal = self
            .calendar()
            .as_ref()
            .clone()
            .with_working_hours(hours.clone());
        self.working_hours = hours;
        *self.calendar.write().unwrap_or_else(|e| e.into_inner()) = std::sync::Arc::new(cal);
        self
    }

    /// Yellow warnings at `percent` (1–100) of a clock's working time; applies to
    /// deadlines set from now on.
    pub fn with_warn_percent(mut self, percent: u8) -> Self {
        self.warn_percent = percent.clamp(1, 100);
        self
    }

    /// The deadline rules with this store's settings.
    pub fn deadline_rules(&self) -> deadlines::Rules {
        deadlines::Rules {
            cal: self.calendar(),
            warn_percent: self.warn_percent,
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Brings the schema up to date. Safe to run from several processes at once:
    /// sqlx takes an advisory lock on PostgreSQL.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        let sealed = self.seal_audit_chain().await?;
        if sealed > 0 {
            tracing::info!(
                sealed,
                "audit records from before the hash chain are chained now"
            );
        }
        Ok(())
    }

    /// A cheap round trip, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
            Pool::Postgres(p) => {
                sqlx::query("SELECT 1").execute(p).await?;
            }
        }
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        let versions = |m: &sqlx::migrate::Migrator| {
            m.iter()
                .map(|x| (x.version, x.description.to_string()))
                .collect::<Vec<_>>()
        };
        assert!(SQLITE_MIGRATIONS.iter().next().is_some());
        assert_eq!(versions(&SQLITE_MIGRATIONS), versions(&POSTGRES_MIGRATIONS));
    }
}
