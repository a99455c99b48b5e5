//! How the store connects: pool sizes and timeouts, and whether a transaction-mode connection
//! pooler (PgBouncer, Supavisor, Neon's pooler) stands between authkeep and PostgreSQL.
//!
//! Behind such a pooler each transaction may run on a different server connection, and the
//! pooler rejects startup parameters it does not know. So, in pooler mode: no
//! `extra_float_digits` at startup, no statements kept prepared on a connection, and every
//! store operation in its own transaction (so a statement's parse and execute round trips
//! stay on one server connection).

use std::time::Duration;

/// Whether a transaction-mode pooler is in the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooler {
    None,
    Transaction,
}

impl Pooler {
    /// From a database URL: `?pgbouncer=true` (Prisma's flag), or a host or port that the
    /// hosted providers use only for their transaction-mode poolers.
    pub fn detect(url: &str) -> Option<Pooler> {
        let u = url::Url::parse(url).ok()?;
        if u.query_pairs()
            .any(|(k, v)| k == "pgbouncer" && v.eq_ignore_ascii_case("true"))
        {
            return Some(Pooler::Transaction);
        }
        let host = u.host_str().unwrap_or("");
        let supabase = host.ends_with(".pooler.supabase.com") && u.port() == Some(6543);
        let neon = host.ends_with(".neon.tech")
            && host
                .split('.')
                .next()
                .is_some_and(|h| h.ends_with("-pooler"));
        (supabase || neon).then_some(Pooler::Transaction)
    }
}

/// The pool's settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long a request waits for a connection before it is told the database is
    /// unavailable (503).
    pub acquire_timeout: Duration,
    /// Idle connections are closed after this (hosted free tiers count them).
    pub idle_timeout: Option<Duration>,
    /// Connections are replaced after this (a pooler or proxy may cut long-lived ones).
    pub max_lifetime: Option<Duration>,
    pub pooler: Pooler,
}

impl PoolSettings {
    /// A small pool with the defaults, for tools and tests.
    pub fn with_max(max_connections: u32) -> Self {
        PoolSettings {
            max_connections,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(3),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            pooler: Pooler::None,
        }
    }
}

/// `url` without authkeep's own `pgbouncer` flag, which PostgreSQL does not know.
pub(super) fn without_pooler_flag(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if !u.query_pairs().any(|(k, _)| k == "pgbouncer") {
        return url.to_owned();
    }
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != "pgbouncer")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poolers_are_recognised_by_flag_host_and_port() {
        assert_eq!(
            Pooler::detect("postgres://u@h/db?pgbouncer=true"),
            Some(Pooler::Transaction)
        );
        assert_eq!(
            Pooler::detect("postgresql://u:p@aws-0-eu-west-1.pooler.supabase.com:6543/postgres"),
            Some(Pooler::Transaction)
        );
        assert_eq!(
            Pooler::detect("postgresql://u:p@aws-0-eu-west-1.pooler.supabase.com:5432/postgres"),
            None,
            "Supavisor's session mode"
        );
        assert_eq!(
            Pooler::detect(
                "postgresql://u:p@ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech/db"
            ),
            Some(Pooler::Transaction)
        );
        assert_eq!(
            Pooler::detect("postgresql://u:p@ep-cool-name-123456.eu-central-1.aws.neon.tech/db"),
            None
        );
        assert_eq!(Pooler::detect("postgres://u@localhost/db"), None);
    }

    #[test]
    fn the_flag_is_removed_before_connecting() {
        assert_eq!(
            without_pooler_flag("postgres://u@h/db?pgbouncer=true"),
            "postgres://u@h/db"
        );
        assert_eq!(
            without_pooler_flag("postgres://u@h/db?sslmode=require&pgbouncer=true"),
            "postgres://u@h/db?sslmode=require"
        );
    }
}
