//! Storage: better-auth's tables on PostgreSQL or SQLite, under the names the deployment gave
//! them. All SQL lives under this module.
//!
//! `schema.rs` resolves and checks the names; `sql.rs` builds every statement from them once;
//! `queries.rs` runs them, written once and instantiated per backend by a macro (the backends
//! differ only in how a timestamp is bound: PostgreSQL takes a native `timestamptz`, SQLite the
//! ISO-8601 text better-auth writes); `migrate.rs` and `introspect.rs` bring a database up to the
//! schema the way better-auth's migrator does.

pub mod diagnose;
mod error;
pub mod export;
mod impersonation;
mod introspect;
pub mod migrate;
mod pool;
mod queries;
mod routing;
pub mod schema;
mod secondary;
mod sql;
mod sql_rate_limit;
mod sql_two_factor;
mod user_search;

pub use error::{StoreError, explain};
pub use migrate::{MigrateError, Plan};
pub use pool::{PoolSettings, Pooler};
pub use secondary::{SecondarySettings, SecondaryStorage};
pub use user_search::{Condition, Operator, UserQuery};

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

use crate::model::{Account, Session, User, Verification};
use schema::Schema;
use sql::Statements;

pub type StoreResult<T> = Result<T, StoreError>;

/// Values of the user's additional fields, by logical name; a field that is absent is written
/// as NULL.
pub type UserFields = serde_json::Map<String, serde_json::Value>;

/// What `update-user` changes. `image: Some(None)` clears the image; `fields` holds only the
/// additional fields to set.
#[derive(Debug, Clone, Copy)]
pub struct ProfileChange<'a> {
    pub name: Option<&'a str>,
    pub image: Option<Option<&'a str>>,
    pub fields: &'a UserFields,
}

/// What a sign-in, link or refresh changes on a provider account (`updateAccount` in
/// better-auth): `None` keeps the stored value. Tokens are given as they are to be stored
/// (sealed already when `encrypt_oauth_tokens` is on).
#[derive(Clone, Default)]
pub struct TokenUpdate {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Comma-joined, as stored.
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenUpdate")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What else a password set by reset does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSet {
    KeepSessions,
    /// Every session of the user ends.
    RevokeSessions,
    /// The reset was mailed to an address never verified: its holder owns it now, so every
    /// other account and session goes and the address is marked verified (what better-auth's
    /// `revokeUnprovenAccountAccess` does for magic links).
    ProvesEmail,
}

/// What `unlink_account` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlink {
    Done,
    /// Refused: it is the user's only account.
    LastAccount,
    NotFound,
}

/// How a verification row's value names its owner in [`Store::insert_bounded_verification`].
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

/// Whether a SQLite URL names an in-memory database (`sqlite::memory:`, `sqlite://:memory:`).
pub fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
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

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The pool, the schema and the statements built from it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    inner: Arc<Built>,
    /// Redis as better-auth's secondary storage: sessions and verification values go there
    /// (`routing.rs` decides which store each operation uses).
    secondary: Option<SecondaryStorage>,
}

#[derive(Debug)]
struct Built {
    schema: Schema,
    sql: Statements,
    /// Behind a transaction-mode pooler: every operation runs in its own transaction.
    pooled: bool,
}

/// PostgreSQL's connection options for `url`; behind a transaction-mode pooler without the
/// startup parameter poolers reject, and without a statement cache.
fn pg_options(url: &str, pooler: Pooler) -> StoreResult<PgConnectOptions> {
    let opts =
        PgConnectOptions::from_str(&pool::without_pooler_flag(url)).map_err(StoreError::Url)?;
    Ok(match pooler {
        Pooler::Transaction => opts.extra_float_digits(None).statement_cache_capacity(0),
        Pooler::None => opts,
    })
}

impl Store {
    /// Opens a pool lazily (the server starts, and reports not-ready, while the database is
    /// down) and builds every statement for `schema`.
    pub fn connect(url: &str, settings: &PoolSettings, schema: Schema) -> StoreResult<Store> {
        let pooled = settings.pooler == Pooler::Transaction;
        let pool = match Backend::of_url(url) {
            Some(Backend::Postgres) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(settings.max_connections)
                    .min_connections(settings.min_connections)
                    .acquire_timeout(settings.acquire_timeout)
                    .idle_timeout(settings.idle_timeout)
                    .max_lifetime(settings.max_lifetime)
                    // No ping round trip before every query: a broken connection fails its
                    // query (a 503 for that one request) and is replaced.
                    .test_before_acquire(false)
                    .connect_lazy_with(pg_options(url, settings.pooler)?),
            ),
            Some(Backend::Sqlite) => {
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(StoreError::Url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                // An in-memory database lives as long as its one connection: keep exactly one,
                // forever, or each connection would see an empty database of its own.
                let memory = is_memory(url);
                let pool = SqlitePoolOptions::new()
                    .max_connections(if memory { 1 } else { settings.max_connections })
                    .acquire_timeout(settings.acquire_timeout)
                    .test_before_acquire(false);
                let pool = if memory {
                    pool.min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    pool
                };
                Pool::Sqlite(pool.connect_lazy_with(opts))
            }
            None => {
                return Err(StoreError::UnsupportedScheme(
                    url.split(':').next().unwrap_or("").to_owned(),
                ));
            }
        };
        let sql = Statements::build(&schema, Self::backend_of(&pool), !pooled);
        Ok(Store {
            pool,
            inner: Arc::new(Built {
                schema,
                sql,
                pooled,
            }),
            secondary: None,
        })
    }

    /// Keeps sessions and verification values in `secondary` from now on.
    pub fn with_secondary(mut self, secondary: SecondaryStorage) -> Store {
        self.secondary = Some(secondary);
        self
    }

    /// The secondary storage, when one is configured (the rate limiter counts there too).
    pub fn secondary(&self) -> Option<&SecondaryStorage> {
        self.secondary.as_ref()
    }

    /// Whether a transaction-mode pooler is in the way (configured or detected).
    pub fn is_pooled(&self) -> bool {
        self.inner.pooled
    }

    fn backend_of(pool: &Pool) -> Backend {
        match pool {
            Pool::Postgres(_) => Backend::Postgres,
            Pool::Sqlite(_) => Backend::Sqlite,
        }
    }

    pub fn backend(&self) -> Backend {
        Self::backend_of(&self.pool)
    }

    /// The raw pool, for tests and tools that inspect the database themselves.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The pool's connections right now (for `/metrics`).
    pub fn pool_usage(&self) -> crate::metrics::PoolUsage {
        fn usage<DB: sqlx::Database>(p: &sqlx::Pool<DB>) -> crate::metrics::PoolUsage {
            crate::metrics::PoolUsage {
                size: p.size(),
                idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
                max: p.options().get_max_connections(),
            }
        }
        match &self.pool {
            Pool::Postgres(p) => usage(p),
            Pool::Sqlite(p) => usage(p),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.inner.schema
    }

    /// One connection made outside the pool, for its error: a pool that cannot connect only
    /// says it timed out, while the operator needs the reason (refused, unknown host, ...).
    pub async fn probe(url: &str, pooler: Pooler) -> StoreResult<()> {
        use sqlx::Connection;
        match Backend::of_url(url) {
            Some(Backend::Postgres) => {
                let opts = pg_options(url, pooler)?;
                let timeout = Duration::from_secs(3);
                let conn = tokio::time::timeout(timeout, sqlx::PgConnection::connect_with(&opts))
                    .await
                    .map_err(|_| StoreError::Unavailable(sqlx::Error::PoolTimedOut))??;
                conn.close().await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// What `migrate` would change, without changing anything.
    pub async fn plan_migration(&self) -> StoreResult<Plan> {
        match &self.pool {
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?;
                self.plan_pg(&mut conn).await
            }
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                self.plan_sqlite(&mut conn).await
            }
        }
    }

    /// The migration plan and what is wrong with the tables that exist (`authkeep doctor`).
    pub async fn diagnose(&self) -> StoreResult<(Plan, Vec<diagnose::SchemaFinding>)> {
        let (existing, backend) = match &self.pool {
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?;
                (self.existing_pg(&mut conn).await?, Backend::Postgres)
            }
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                (self.existing_sqlite(&mut conn).await?, Backend::Sqlite)
            }
        };
        Ok((
            migrate::plan(self.schema(), &existing, backend),
            diagnose::findings(self.schema(), &existing, backend),
        ))
    }

    async fn plan_pg(&self, conn: &mut sqlx::PgConnection) -> StoreResult<Plan> {
        let existing = self.existing_pg(conn).await?;
        Ok(migrate::plan(self.schema(), &existing, Backend::Postgres))
    }

    async fn existing_pg(&self, conn: &mut sqlx::PgConnection) -> StoreResult<migrate::Existing> {
        let mut existing = introspect::postgres(conn).await?;
        for model in self.schema().models() {
            let table = &self.schema().table(model).name;
            if existing.tables.contains_key(table.as_str())
                && introspect::populated_pg(conn, table).await?
            {
                existing.populated.insert(table.as_str().to_owned());
            }
        }
        Ok(existing)
    }

    async fn plan_sqlite(&self, conn: &mut sqlx::SqliteConnection) -> StoreResult<Plan> {
        let existing = self.existing_sqlite(conn).await?;
        Ok(migrate::plan(self.schema(), &existing, Backend::Sqlite))
    }

    async fn existing_sqlite(
        &self,
        conn: &mut sqlx::SqliteConnection,
    ) -> StoreResult<migrate::Existing> {
        let mut existing = introspect::sqlite(conn).await?;
        for model in self.schema().models() {
            let table = &self.schema().table(model).name;
            if existing.tables.contains_key(table.as_str())
                && introspect::populated_sqlite(conn, table).await?
            {
                existing.populated.insert(table.as_str().to_owned());
            }
        }
        Ok(existing)
    }

    /// Creates what is missing, in one transaction (on PostgreSQL under an advisory lock, so
    /// replicas starting together migrate once). Returns what was done. Refuses, changing
    /// nothing, when the plan has problems.
    pub async fn migrate(&self) -> Result<Plan, MigrateError> {
        /// Any constant will do; it only has to be the same for every authkeep.
        const LOCK: i64 = 0x6175_7468_6b65_6570; // "authkeep"
        let plan = match &self.pool {
            Pool::Postgres(p) => {
                let mut tx = p.begin().await.map_err(StoreError::from)?;
                sqlx::query("select pg_advisory_xact_lock($1)")
                    .persistent(false)
                    .bind(LOCK)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::from)?;
                let plan = self.plan_pg(&mut tx).await?;
                if !plan.problems.is_empty() {
                    return Err(MigrateError::Problems(plan.problems));
                }
                for statement in plan.sql() {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                }
                tx.commit().await.map_err(StoreError::from)?;
                plan
            }
            Pool::Sqlite(p) => {
                let mut tx = p.begin().await.map_err(StoreError::from)?;
                let plan = self.plan_sqlite(&mut tx).await?;
                if !plan.problems.is_empty() {
                    return Err(MigrateError::Problems(plan.problems));
                }
                for statement in plan.sql() {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
                        .execute(&mut *tx)
                        .await
                        .map_err(StoreError::from)?;
                }
                tx.commit().await.map_err(StoreError::from)?;
                plan
            }
        };
        Ok(plan)
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Postgres(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }
}

/// Runs one operation on a connection: on PostgreSQL behind a transaction-mode pooler inside a
/// transaction of its own (committed when the operation succeeds), otherwise on a pooled
/// connection as it is. `schema;` first hands the operation the schema too.
macro_rules! dispatch {
    ($self:ident . schema; $f:ident ( $($arg:expr),* )) => {
        dispatch!(@run $self, $f, (&$self.inner.schema, $($arg),*))
    };
    ($self:ident . $f:ident ( $($arg:expr),* )) => {
        dispatch!(@run $self, $f, ($($arg),*))
    };
    (@run $self:ident, $f:ident, ($($arg:expr),*)) => {
        match &$self.pool {
            Pool::Postgres(p) if $self.inner.pooled => {
                let mut tx = p.begin().await?;
                let out = queries::pg::$f(&mut tx, &$self.inner.sql, $($arg),*).await;
                if out.is_ok() {
                    tx.commit().await?;
                }
                out
            }
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?;
                queries::pg::$f(&mut conn, &$self.inner.sql, $($arg),*).await
            }
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                queries::sqlite::$f(&mut conn, &$self.inner.sql, $($arg),*).await
            }
        }
    };
}

/// The operations the auth flows need. Multi-row changes are units of work that run in one
/// transaction inside the store, so a failure never leaves half of them behind.
impl Store {
    pub async fn ping(&self) -> StoreResult<()> {
        match &self.pool {
            Pool::Postgres(p) => queries::pg::ping(p).await,
            Pool::Sqlite(p) => queries::sqlite::ping(p).await,
        }
    }
    pub async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        dispatch!(self.schema; user_by(true, email))
    }
    pub async fn find_user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        dispatch!(self.schema; user_by(false, id))
    }
    /// Up to `limit` users after the first `offset`, oldest first (ties by id, so pages do
    /// not overlap).
    pub async fn list_users(&self, limit: i64, offset: i64) -> StoreResult<Vec<User>> {
        dispatch!(self.schema; list_users(limit, offset))
    }
    pub async fn count_users(&self) -> StoreResult<i64> {
        dispatch!(self.count_users())
    }
    /// Creates a user (with its additional `fields`), its first account (credential or
    /// provider link) and (optionally) a first session, atomically. A taken email is
    /// `UniqueViolation` and writes nothing.
    async fn db_create_user_with_account(
        &self,
        user: &User,
        fields: &UserFields,
        account: &Account,
        session: Option<&Session>,
    ) -> StoreResult<()> {
        dispatch!(self.schema; create_user(user, fields, Some(account), session))
    }
    pub async fn find_credential_account(&self, user_id: &str) -> StoreResult<Option<Account>> {
        dispatch!(self.find_credential_account(user_id))
    }
    pub async fn list_accounts(&self, user_id: &str) -> StoreResult<Vec<Account>> {
        dispatch!(self.list_accounts(user_id))
    }
    /// The account a provider knows as `account_id` (better-auth's account key).
    pub async fn find_account_by_provider(
        &self,
        provider_id: &str,
        account_id: &str,
    ) -> StoreResult<Option<Account>> {
        dispatch!(self.find_account_by_provider(provider_id, account_id))
    }
    /// Links a provider account to its user, unless that provider account is linked already:
    /// then nothing is written and the existing link is returned.
    pub async fn link_account(&self, account: &Account) -> StoreResult<Option<Account>> {
        dispatch!(self.link_account(account))
    }
    /// Updates a provider account's tokens (and scope) as `update` says; false when gone.
    pub async fn update_account_tokens(
        &self,
        id: &str,
        update: &TokenUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        dispatch!(self.update_account_tokens(id, update, now))
    }
    /// Deletes the user's account `id` unless it is their last (and `allow_last` is off),
    /// atomically per user.
    pub async fn unlink_account(
        &self,
        user_id: &str,
        id: &str,
        allow_last: bool,
    ) -> StoreResult<Unlink> {
        dispatch!(self.unlink_account(user_id, id, allow_last))
    }
    /// Sets a new password hash; with `replace_sessions` also deletes all of the user's sessions
    /// and inserts the given one, in the same transaction.
    async fn db_update_password(
        &self,
        account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
        replace_sessions: Option<&Session>,
    ) -> StoreResult<()> {
        dispatch!(self.update_password(account_id, hash, now, replace_sessions))
    }
    async fn db_create_session(&self, session: &Session) -> StoreResult<()> {
        dispatch!(self.create_session(session))
    }
    /// The session with this token and its user, in one indexed query.
    async fn db_find_session_with_user(&self, token: &str) -> StoreResult<Option<(Session, User)>> {
        dispatch!(self.schema; find_session_with_user(token))
    }
    /// Extends a session; false when the row is gone.
    async fn db_refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        dispatch!(self.refresh_session(token, expires_at, now))
    }
    async fn db_delete_session(&self, token: &str) -> StoreResult<()> {
        dispatch!(self.delete_session(token))
    }
    async fn db_delete_user_session(&self, user_id: &str, token: &str) -> StoreResult<()> {
        dispatch!(self.delete_user_session(user_id, token))
    }
    async fn db_list_active_sessions(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Session>> {
        dispatch!(self.list_active_sessions(user_id, now))
    }
    async fn db_delete_user_sessions(&self, user_id: &str) -> StoreResult<()> {
        dispatch!(self.delete_user_sessions(user_id))
    }
    async fn db_delete_user_sessions_except(
        &self,
        user_id: &str,
        keep_token: &str,
    ) -> StoreResult<()> {
        dispatch!(self.delete_user_sessions_except(user_id, keep_token))
    }
    /// Updates name, image and additional fields as `change` says. Returns the updated user.
    async fn db_update_user_profile(
        &self,
        user_id: &str,
        change: &ProfileChange<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        dispatch!(self.schema; update_user_profile(user_id, change, now))
    }
    /// Stores `v` in place of every other row with its identifier (a new code replaces the
    /// old one), atomically.
    async fn db_replace_verification(&self, v: &Verification) -> StoreResult<()> {
        dispatch!(self.replace_verification(v))
    }
    /// Stores `v` and keeps, of the rows of one kind (`identifier_prefix`) for one owner (the
    /// row's value equals `owner`, or contains it with [`ValueMatch::Contains`]), only the
    /// newest `max` (counting `v`), atomically per owner.
    async fn db_insert_bounded_verification(
        &self,
        v: &Verification,
        identifier_prefix: &str,
        owner: ValueMatch<'_>,
        max: usize,
    ) -> StoreResult<()> {
        let prefix = format!("{}%", escape_like(identifier_prefix));
        let (value, key) = match owner {
            ValueMatch::Exact(o) => (escape_like(o), o),
            ValueMatch::Contains(o) => (format!("%{}%", escape_like(o)), o),
        };
        let lock = format!("{identifier_prefix}{key}");
        let keep = max.saturating_sub(1);
        dispatch!(self.insert_bounded_verification(v, &lock, &prefix, &value, keep))
    }
    /// The newest verification row for `identifier`.
    async fn db_find_verification(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        dispatch!(self.find_verification(identifier))
    }
    /// Deletes the verification rows for `identifier` and returns the newest, atomically.
    async fn db_consume_verification(&self, identifier: &str) -> StoreResult<Option<Verification>> {
        dispatch!(self.consume_verification(identifier))
    }
    /// Compare-and-swap on a verification row's value: false when the row no longer holds
    /// `expected` (someone else changed or used it first).
    async fn db_swap_verification_value(
        &self,
        id: &str,
        expected: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        dispatch!(self.swap_verification_value(id, expected, value, now))
    }
    /// Uses a verification row up, only while it still holds `expected`.
    async fn db_delete_verification_if(&self, id: &str, expected: &str) -> StoreResult<bool> {
        dispatch!(self.delete_verification_if(id, expected))
    }
    async fn db_delete_verification(&self, id: &str) -> StoreResult<()> {
        dispatch!(self.delete_verification(id))
    }
    /// Deletes every expired verification row; returns how many.
    /// better-auth's rate-limit step on `key` (times in epoch ms): `true` when allowed.
    pub async fn rate_limit_consume(
        &self,
        key: &str,
        now: i64,
        window_ms: i64,
        max: i64,
    ) -> StoreResult<bool> {
        dispatch!(self.rate_limit_consume(key, now, window_ms, max))
    }
    /// Counts a hit on `key` in a fixed window; the count including it.
    pub async fn rate_limit_hit(&self, key: &str, now: i64, window_ms: i64) -> StoreResult<i64> {
        dispatch!(self.rate_limit_hit(key, now, window_ms))
    }
    /// `(count, lastRequest)` of a rate-limit row.
    pub async fn rate_limit_get(&self, key: &str) -> StoreResult<Option<(i64, i64)>> {
        dispatch!(self.rate_limit_get(key))
    }
    pub async fn rate_limit_put(&self, key: &str, count: i64, last: i64) -> StoreResult<()> {
        dispatch!(self.rate_limit_put(key, count, last))
    }
    pub async fn rate_limit_delete(&self, key: &str) -> StoreResult<()> {
        dispatch!(self.rate_limit_delete(key))
    }
    /// Deletes rate-limit rows last touched before `before` (epoch ms).
    pub async fn rate_limit_prune(&self, before: i64) -> StoreResult<u64> {
        dispatch!(self.rate_limit_prune(before))
    }
    pub async fn delete_expired_verifications(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        dispatch!(self.delete_expired_verifications(now))
    }
    /// A user without any account (passwordless sign-up).
    pub async fn create_user(&self, user: &User, fields: &UserFields) -> StoreResult<()> {
        dispatch!(self.schema; create_user(user, fields, None, None))
    }
    /// Deletes all accounts and sessions of the user and marks the email verified, in one
    /// transaction (better-auth's `revokeUnprovenAccountAccess`).
    async fn db_revoke_unproven_access(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        dispatch!(self.revoke_unproven_access(user_id, now))
    }
    /// Moves the user to a new email address (a taken one is `UniqueViolation`).
    async fn db_update_email(
        &self,
        user_id: &str,
        email: &str,
        verified: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<User>> {
        dispatch!(self.schema; update_email(user_id, email, verified, now))
    }
    async fn db_mark_email_verified(&self, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
        dispatch!(self.mark_email_verified(user_id, now))
    }
    /// Sets the user's password, creating the credential account if missing, with `effect`
    /// on the rest, in one transaction.
    async fn db_set_password(
        &self,
        user_id: &str,
        new_account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
        effect: PasswordSet,
    ) -> StoreResult<()> {
        dispatch!(self.set_password(user_id, new_account_id, hash, now, effect))
    }
    /// JWT signing keys, oldest first.
    pub async fn list_jwks(&self) -> StoreResult<Vec<crate::model::Jwk>> {
        dispatch!(self.list_jwks())
    }
    pub async fn insert_jwk(&self, key: &crate::model::Jwk) -> StoreResult<()> {
        dispatch!(self.insert_jwk(key))
    }
    /// Deletes the user with its sessions and accounts.
    async fn db_delete_user(&self, user_id: &str) -> StoreResult<()> {
        dispatch!(self.delete_user(user_id))
    }
}

// After `dispatch!`, which it uses.
mod two_factor;
