//! The rate limiter's statements on better-auth's `rateLimit` table (`key` unique, `count`,
//! `lastRequest` in epoch milliseconds). Each decision is one statement, an upsert whose
//! outcome depends only on the row it locks, so concurrent requests on any number of
//! replicas count exactly as sequential ones would.

use super::schema::Schema;
use super::sql::Sql;

#[derive(Debug)]
pub(super) struct RateLimitSql {
    /// better-auth's sliding rule. `$1` id, `$2` key, `$3` now, `$4` window (ms), `$5` max.
    /// Returns a row when the request is allowed, none when it is refused.
    pub consume: Sql,
    /// A fixed-window counter: `$1` id, `$2` key, `$3` now, `$4` window (ms); returns the
    /// count including this hit.
    pub hit: Sql,
    /// `$1` key → count, lastRequest.
    pub get: Sql,
    /// `$1` id, `$2` key, `$3` count, `$4` lastRequest.
    pub put: Sql,
    pub delete: Sql,
    /// Rows last touched before `$1`.
    pub prune: Sql,
}

impl RateLimitSql {
    pub(super) fn build(schema: &Schema, persistent: bool) -> RateLimitSql {
        let sql = |text: String| Sql::new(text, persistent);
        let r = schema.rate_limit();
        let t = &r.name;
        let (id, key, count, last) = (
            r.col("id"),
            r.col("key"),
            r.col("count"),
            r.col("lastRequest"),
        );
        let insert = format!(
            "insert into {t} ({id}, {key}, {count}, {last}) values ($1, $2, 1, $3) on conflict ({key}) do update set"
        );
        let expired = format!("$3 - {t}.{last} >= $4");
        RateLimitSql {
            consume: sql(format!(
                "{insert} {count} = case when {expired} then 1 else {t}.{count} + 1 end, {last} = $3 \
                 where {expired} or {t}.{count} < $5 returning {key}"
            )),
            hit: sql(format!(
                "{insert} {count} = case when {expired} then 1 else {t}.{count} + 1 end, \
                 {last} = case when {expired} then $3 else {t}.{last} end \
                 returning cast({count} as bigint)"
            )),
            get: sql(format!(
                "select cast({count} as bigint), cast({last} as bigint) from {t} where {key} = $1"
            )),
            put: sql(format!(
                "insert into {t} ({id}, {key}, {count}, {last}) values ($1, $2, $3, $4) \
                 on conflict ({key}) do update set {count} = $3, {last} = $4"
            )),
            delete: sql(format!("delete from {t} where {key} = $1")),
            prune: sql(format!("delete from {t} where {last} < $1")),
        }
    }
}
