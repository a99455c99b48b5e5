//! What can go wrong in storage, with the driver's error kept as the cause.

/// A failed storage operation. The driver's error stays attached as the `source`, so the one
/// place that logs it prints the whole chain (`crate::report::Report`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (an email, a session token): the caller decides what that means.
    #[error("a row with this key already exists")]
    UniqueViolation(#[source] sqlx::Error),
    /// The database cannot be reached right now; the request may be retried.
    #[error("the database is unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("a database query failed")]
    Query(#[source] sqlx::Error),
    #[error("the database URL is not valid")]
    Url(#[source] sqlx::Error),
    #[error("unsupported database URL scheme {0:?} (use postgres://, postgresql:// or sqlite:)")]
    UnsupportedScheme(String),
    /// Redis (the secondary storage) cannot be reached or did not answer in time; the request
    /// may be retried. Never a silent fall-back to the database: a revocation kept in Redis
    /// would be lost.
    #[error("the secondary storage (Redis) is unavailable")]
    SecondaryUnavailable(#[source] redis::RedisError),
    /// Redis answered with an error.
    #[error("a secondary storage (Redis) command failed")]
    Secondary(#[source] redis::RedisError),
    #[error("the secondary storage URL is not valid")]
    SecondaryUrl(#[source] redis::RedisError),
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::SecondaryUnavailable(_)
        )
    }

    /// A Redis error, sorted into "unreachable now" and "refused".
    pub(super) fn from_redis(e: redis::RedisError) -> StoreError {
        if e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || e.is_unrecoverable_error()
        {
            StoreError::SecondaryUnavailable(e)
        } else {
            StoreError::Secondary(e)
        }
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::UniqueViolation(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::UniqueViolation(e),
            // A connection that breaks mid-handshake or mid-query shows up as an I/O, TLS or
            // protocol error; all mean "the database is not reachable right now".
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            _ => StoreError::Query(e),
        }
    }
}

/// A start-up failure in words an operator can act on: the database to create, the host that
/// does not answer, with the driver's own message, and no PostgreSQL source-line noise.
pub fn explain(e: &StoreError, url: &str) -> String {
    let target = describe_target(url);
    let cause = match e {
        StoreError::Unavailable(inner)
        | StoreError::Query(inner)
        | StoreError::UniqueViolation(inner)
        | StoreError::Url(inner) => inner,
        StoreError::UnsupportedScheme(_)
        | StoreError::SecondaryUnavailable(_)
        | StoreError::Secondary(_)
        | StoreError::SecondaryUrl(_) => return e.to_string(),
    };
    if let Some(missing) = missing_sqlite_directory(url) {
        return format!(
            "the directory {} for the SQLite file does not exist; create it first (mkdir -p {})",
            missing.display(),
            missing.display()
        );
    }
    match cause {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => {
            let parsed = url::Url::parse(url).ok();
            let name = parsed
                .as_ref()
                .map(|u| u.path().trim_start_matches('/').to_owned())
                .unwrap_or_default();
            let host = parsed
                .as_ref()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "localhost".into());
            let port = parsed.as_ref().and_then(url::Url::port).unwrap_or(5432);
            let user = parsed
                .as_ref()
                .map(|u| u.username().to_owned())
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "postgres".into());
            format!(
                "the database {name:?} does not exist on {target}; create it first: \
                 createdb -h {host} -p {port} -U {user} {name}"
            )
        }
        sqlx::Error::Database(db) if db.message().contains("unsupported startup parameter") => {
            format!(
                "{target} refused a startup parameter ({}): it is a connection pooler in transaction mode (PgBouncer, \
             Supavisor). Set [database] pooler = \"transaction\" (AUTHKEEP_DATABASE__POOLER=transaction) or add \
             ?pgbouncer=true to the URL",
                db.message()
            )
        }
        sqlx::Error::Database(db) => format!("{target} refused: {}", db.message()),
        sqlx::Error::PoolTimedOut => format!(
            "no connection to {target} within the timeout (is it running, and is the host and port right?)"
        ),
        sqlx::Error::Io(io) => format!("cannot connect to {target}: {io}"),
        sqlx::Error::Tls(tls) => format!("TLS with {target} failed: {tls}"),
        other => format!("{target}: {other}"),
    }
}

/// The parent directory of a SQLite URL's file, when it does not exist.
fn missing_sqlite_directory(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = std::path::Path::new(rest.split('?').next()?);
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty())?;
    (!parent.exists()).then(|| parent.to_path_buf())
}

/// `host:port` (or the SQLite file) a URL points at, without credentials.
fn describe_target(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if u.scheme().starts_with("postgres") => format!(
            "PostgreSQL at {}:{}",
            u.host_str().unwrap_or("localhost"),
            u.port().unwrap_or(5432)
        ),
        _ => format!("the database {}", url.split('?').next().unwrap_or(url)),
    }
}
