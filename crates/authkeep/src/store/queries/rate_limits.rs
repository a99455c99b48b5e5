//! Rate-limit counters in better-auth's `rateLimit` table (statements in `sql_rate_limit.rs`).
use sqlx::Row;

use crate::store::StoreResult;
use crate::store::sql::Statements;

macro_rules! rate_limit_queries {
    ($name:ident, $db:ty, $postgres:expr) => {
        pub(super) mod $name {
            use super::*;
            super::super::prelude!($db, $postgres);

            /// better-auth's sliding rule, in one statement: `true` when allowed.
            pub(in crate::store) async fn rate_limit_consume(
                conn: &mut Conn,
                sql: &Statements,
                key: &str,
                now: i64,
                window_ms: i64,
                max: i64,
            ) -> StoreResult<bool> {
                let row = q(&sql.rate_limit.consume)
                    .bind(crate::crypto::generate_id())
                    .bind(key.to_owned())
                    .bind(now)
                    .bind(window_ms)
                    .bind(max)
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(row.is_some())
            }

            /// A fixed-window count, this hit included.
            pub(in crate::store) async fn rate_limit_hit(
                conn: &mut Conn,
                sql: &Statements,
                key: &str,
                now: i64,
                window_ms: i64,
            ) -> StoreResult<i64> {
                let row = q(&sql.rate_limit.hit)
                    .bind(crate::crypto::generate_id())
                    .bind(key.to_owned())
                    .bind(now)
                    .bind(window_ms)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(row.try_get(0)?)
            }

            /// `(count, lastRequest)` of `key`.
            pub(in crate::store) async fn rate_limit_get(
                conn: &mut Conn,
                sql: &Statements,
                key: &str,
            ) -> StoreResult<Option<(i64, i64)>> {
                let row = q(&sql.rate_limit.get)
                    .bind(key.to_owned())
                    .fetch_optional(&mut *conn)
                    .await?;
                match row {
                    Some(r) => Ok(Some((r.try_get(0)?, r.try_get(1)?))),
                    None => Ok(None),
                }
            }

            pub(in crate::store) async fn rate_limit_put(
                conn: &mut Conn,
                sql: &Statements,
                key: &str,
                count: i64,
                last: i64,
            ) -> StoreResult<()> {
                q(&sql.rate_limit.put)
                    .bind(crate::crypto::generate_id())
                    .bind(key.to_owned())
                    .bind(count)
                    .bind(last)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn rate_limit_delete(
                conn: &mut Conn,
                sql: &Statements,
                key: &str,
            ) -> StoreResult<()> {
                q(&sql.rate_limit.delete)
                    .bind(key.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn rate_limit_prune(
                conn: &mut Conn,
                sql: &Statements,
                before: i64,
            ) -> StoreResult<u64> {
                let done = q(&sql.rate_limit.prune)
                    .bind(before)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

rate_limit_queries!(pg, sqlx::Postgres, true);
rate_limit_queries!(sqlite, sqlx::Sqlite, false);
