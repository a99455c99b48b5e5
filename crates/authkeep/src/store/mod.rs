//! Storage: better-auth's tables on PostgreSQL or SQLite. All SQL lives under this module.
//!
//! Both backends share one set of queries (`queries.rs`, written once and instantiated per
//! backend by a macro); they differ only in how a timestamp is bound: PostgreSQL takes a
//! native `timestamptz`, SQLite takes the ISO-8601 text that better-auth writes.

mod error;
mod queries;

pub use error::{StoreError, explain};

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

use crate::model::{Account, Session, User, Verification};

static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub type StoreResult<T> = Result<T, StoreError>;

/// How a verification row's value must match in [`Store::withdraw_older_verifications`].
#[derive(Debug, Clone, Copy)]
pub enum ValueMatch<'a> {
    Exact(&'a str),
    Contains(&'a str),
}

/// `s` as a literal inside a LIKE pattern with `\` as the escape character.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else if lower.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else {
            None
        }
    }
}

/// One migration and whether it has been applied.
#[derive(Debug, Clone)]
pub struct MigrationStatus {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// How long a request may wait for a database connection before it is told the service is
/// unavailable (503). Short, so an outage is reported within a few seconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

impl Store {
    /// Opens a pool lazily: the server starts, and reports not-ready, while the database is down.
    pub fn connect(url: &str, max_connections: u32) -> StoreResult<Store> {
        match Backend::of_url(url) {
            Some(Backend::Postgres) => {
                let opts = PgConnectOptions::from_str(url).map_err(StoreError::Url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // No ping round trip before every query: a broken connection fails its
                    // query (a 503 for that one request) and is replaced.
                    .test_before_acquire(false)
                    .connect_lazy_with(opts);
                Ok(Store::Postgres(pool))
            }
            Some(Backend::Sqlite) => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(StoreError::Url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    // No ping round trip before every query: a broken connection fails its
                    // query (a 503 for that one request) and is replaced.
                    .test_before_acquire(false)
                    .connect_lazy_with(opts);
                Ok(Store::Sqlite(pool))
            }
            None => Err(StoreError::UnsupportedScheme(
                url.split(':').next().unwrap_or("").to_owned(),
            )),
        }
    }

    /// One connection made outside the pool, for its error: a pool that cannot connect only
    /// says it timed out, while the operator needs the reason (refused, unknown host, ...).
    pub async fn probe(url: &str) -> StoreResult<()> {
        use sqlx::Connection;
        match Backend::of_url(url) {
            Some(Backend::Postgres) => {
                let opts = PgConnectOptions::from_str(url).map_err(StoreError::Url)?;
                let conn =
                    tokio::time::timeout(ACQUIRE_TIMEOUT, sqlx::PgConnection::connect_with(&opts))
                        .await
                        .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))??;
                conn.close().await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self {
            Store::Postgres(_) => &PG_MIGRATOR,
            Store::Sqlite(_) => &SQLITE_MIGRATOR,
        }
    }

    /// Applies pending migrations. Safe on a database better-auth created: every statement is
    /// `if not exists`, and no existing row is touched.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self {
            Store::Postgres(p) => PG_MIGRATOR.run(p).await?,
            Store::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
        }
        Ok(())
    }

    pub async fn migration_status(&self) -> StoreResult<Vec<MigrationStatus>> {
        let applied: Vec<i64> = match self {
            Store::Postgres(p) => queries::pg::applied_migrations(p).await?,
            Store::Sqlite(p) => queries::sqlite::applied_migrations(p).await?,
        };
        Ok(self
            .migrator()
            .iter()
            .map(|m| MigrationStatus {
                version: m.version,
                description: m.description.to_string(),
                applied: applied.contains(&m.version),
            })
            .collect())
    }

    pub async fn close(&self) {
        match self {
            Store::Postgres(p) => p.close().await,
            Store::Sqlite(p) => p.close().await,
        }
    }
}

/// Dispatches a call to the backend's instance of the shared queries.
macro_rules! dispatch {
    ($self:ident . $f:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Postgres(p) => queries::pg::$f(p, $($arg),*).await,
            Store::Sqlite(p) => queries::sqlite::$f(p, $($arg),*).await,
        }
    };
}

/// The operations the auth flows need. Multi-row changes are units of work that run in one
/// transaction inside the store, so a failure never leaves half of them behind.
impl Store {
    pub async fn ping(&self) -> StoreResult<()> {
        dispatch!(self.ping())
    }
    pub async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        dispatch!(self.find_user_by_email(email))
    }
    pub async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        dispatch!(self.find_user_by_id(id))
    }
    /// Creates a user, its credential account and (optionally) a first session, atomically.
    /// A taken email is `UniqueViolation` and writes nothing.
    pub async fn create_user_with_credential(
        &self,
        user: &User,
        account: &Account,
        session: Option<&Session>,
    ) -> StoreResult<()> {
        dispatch!(self.create_user_with_credential(user, account, session))
    }
    pub async fn find_credential_account(&self, user_id: &str) -> StoreResult<Option<Account>> {
        dispatch!(self.find_credential_account(user_id))
    }
    pub async fn list_accounts(&self, user_id: &str) -> StoreResult<Vec<Account>> {
        dispatch!(self.list_accounts(user_id))
    }
    /// Sets a new password hash; with `replace_sessions` also deletes all of the user's sessions
    /// and inserts the given one, in the same transaction.
    pub async fn update_password(
        &self,
        account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
        replace_sessions: Option<&Session>,
    ) -> StoreResult<()> {
        dispatch!(self.update_password(account_id, hash, now, replace_sessions))
    }
    pub async fn create_session(&self, session: &Session) -> StoreResult<()> {
        dispatch!(self.create_session(session))
    }
    /// The session with this token and its user, in one indexed query.
    pub async fn find_session_with_user(
        &self,
        token: &str,
    ) -> StoreResult<Option<(Session, User)>> {
        dispatch!(self.find_session_with_user(token))
    }
    /// Extends a session; false when the row is gone.
    pub async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        dispatch!(self.refresh_session(token, expires_at, now))
    }
    pub async fn delete_session(&self, token: &str) -> StoreResult<()> {
        dispatch!(self.delete_session(token))
    }
    pub async fn delete_user_session(&self, user_id: &str, token: &str) -> StoreResult<()> {
        dispatch!(self.delete_user_session(user_id, token))
    }
    pub async fn list_active_sessions(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        dispatch!(self.list_active_sessions(user_id, now))
    }
    pub async fn delete_user_sessions(&self, user_id: &str) -> StoreResult<()> {
        dispatch!(self.delete_user_sessions(user_id))
    }
    pub async fn delete_user_sessions_except(
        &self,
        user_id: &str,
        keep_token: &str,
    ) -> StoreResult<()> {
        dispatch!(self.delete_user_sessions_except(user_id, keep_token))
    }
    /// Updates name and/or image (`Some(None)` clears the image). Returns the updated user.
    pub async fn update_user_profile(
        &self,
        user_id: &str,
        name: Option<&str>,
        image: Option<Option<&str>>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        dispatch!(self.update_user_profile(user_id, name, image, now))
    }
    pub async fn insert_verification(&self, v: &Verification) -> StoreResult<()> {
        dispatch!(self.insert_verification(v))
    }
    /// The newest verification row for `identifier`.
    pub async fn find_verification(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        dispatch!(self.find_verification(identifier))
    }
    /// Deletes the verification rows for `identifier` and returns the newest, atomically.
    pub async fn consume_verification(
        &self,
        identifier: &str,
    ) -> StoreResult<Option<Verification>> {
        dispatch!(self.consume_verification(identifier))
    }
    /// Compare-and-swap on a verification row's value: false when the row no longer holds
    /// `expected` (someone else changed or used it first).
    pub async fn swap_verification_value(
        &self,
        id: &str,
        expected: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        dispatch!(self.swap_verification_value(id, expected, value, now))
    }
    /// Uses a verification row up, only while it still holds `expected`.
    pub async fn delete_verification_if(&self, id: &str, expected: &str) -> StoreResult<bool> {
        dispatch!(self.delete_verification_if(id, expected))
    }
    pub async fn delete_verification(&self, id: &str) -> StoreResult<()> {
        dispatch!(self.delete_verification(id))
    }
    /// Deletes every expired verification row; returns how many.
    pub async fn delete_expired_verifications(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        dispatch!(self.delete_expired_verifications(now))
    }
    /// Keeps only the newest `keep` outstanding rows of one kind (`identifier_prefix`) for one
    /// owner (the row's value equals `value`, or contains it with [`ValueMatch::Contains`]).
    pub async fn withdraw_older_verifications(
        &self,
        identifier_prefix: &str,
        value: ValueMatch<'_>,
        keep: usize,
    ) -> StoreResult<()> {
        let prefix = format!("{}%", escape_like(identifier_prefix));
        let value = match value {
            ValueMatch::Exact(v) => escape_like(v),
            ValueMatch::Contains(v) => format!("%{}%", escape_like(v)),
        };
        dispatch!(self.withdraw_older_verifications(&prefix, &value, keep))
    }
    /// A user without any account (passwordless sign-up).
    pub async fn create_user(&self, user: &User) -> StoreResult<()> {
        dispatch!(self.create_user(user))
    }
    /// Deletes all accounts and sessions of the user and marks the email verified, in one
    /// transaction (better-auth's `revokeUnprovenAccountAccess`).
    pub async fn revoke_unproven_access(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self.revoke_unproven_access(user_id, now))
    }
    /// Moves the user to a new email address (a taken one is `UniqueViolation`).
    pub async fn update_email(
        &self,
        user_id: &str,
        email: &str,
        verified: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        dispatch!(self.update_email(user_id, email, verified, now))
    }
    pub async fn mark_email_verified(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self.mark_email_verified(user_id, now))
    }
    /// Sets the user's password, creating the credential account if missing; optionally
    /// deleting all their sessions, in one transaction.
    pub async fn set_password(
        &self,
        user_id: &str,
        new_account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
        revoke_sessions: bool,
    ) -> StoreResult<()> {
        dispatch!(self.set_password(user_id, new_account_id, hash, now, revoke_sessions))
    }
    /// JWT signing keys, oldest first.
    pub async fn list_jwks(&self) -> StoreResult<Vec<crate::model::Jwk>> {
        dispatch!(self.list_jwks())
    }
    pub async fn insert_jwk(&self, key: &crate::model::Jwk) -> StoreResult<()> {
        dispatch!(self.insert_jwk(key))
    }
    /// Deletes the user with its sessions and accounts.
    pub async fn delete_user(&self, user_id: &str) -> StoreResult<()> {
        dispatch!(self.delete_user(user_id))
    }
}
