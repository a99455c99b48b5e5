//! Verification rows (links, codes, OAuth state) and the jwt plugin's keys.
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{pg_ts, sqlite_ts};
use crate::model::{Jwk, Verification};
use crate::store::StoreResult;
use crate::store::sql::Statements;

macro_rules! verifications_queries {
    ($name:ident, $db:ty, $ts:path, $postgres:expr) => {
        pub(super) mod $name {
            use super::*;
            super::super::prelude!($db, $postgres);

            /// Replaces every row of `v`'s identifier with `v`, atomically: concurrent
            /// replacements leave exactly one row.
            pub(in crate::store) async fn replace_verification(
                conn: &mut Conn,
                sql: &Statements,
                v: &Verification,
            ) -> StoreResult<()> {
                let mut tx = begin_locked(conn, &v.identifier).await?;
                q(&sql.delete_verifications_of)
                    .bind(v.identifier.clone())
                    .execute(&mut *tx)
                    .await?;
                insert_verification_in(&mut tx, sql, v).await?;
                tx.commit().await?;
                Ok(())
            }

            /// Inserts `v` after withdrawing the owner's older rows beyond `keep`, atomically
            /// per owner (`lock`): concurrent sends cannot leave more than the bound.
            pub(in crate::store) async fn insert_bounded_verification(
                conn: &mut Conn,
                sql: &Statements,
                v: &Verification,
                lock: &str,
                prefix: &str,
                value: &str,
                keep: usize,
            ) -> StoreResult<()> {
                let mut tx = begin_locked(conn, lock).await?;
                let rows = q(&sql.outstanding_verifications)
                    .bind(prefix.to_owned())
                    .bind(value.to_owned())
                    .fetch_all(&mut *tx)
                    .await?;
                for row in rows.iter().skip(keep) {
                    let id: String = row.try_get(0)?;
                    q(&sql.delete_verification)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                insert_verification_in(&mut tx, sql, v).await?;
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn insert_verification_in(
                conn: &mut Conn,
                sql: &Statements,
                v: &Verification,
            ) -> StoreResult<()> {
                q(&sql.insert_verification)
                    .bind(v.id.clone())
                    .bind(v.identifier.clone())
                    .bind(v.value.clone())
                    .bind($ts(v.expires_at))
                    .bind($ts(v.created_at))
                    .bind($ts(v.updated_at))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn find_verification(
                conn: &mut Conn,
                sql: &Statements,
                identifier: &str,
            ) -> StoreResult<Option<Verification>> {
                let row = q(&sql.verification)
                    .bind(identifier.to_owned())
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(row.map(|r| sqlx::FromRow::from_row(&r)).transpose()?)
            }

            /// Deletes and returns the rows in one statement, so two concurrent uses cannot both win.
            pub(in crate::store) async fn consume_verification(
                conn: &mut Conn,
                sql: &Statements,
                identifier: &str,
            ) -> StoreResult<Option<Verification>> {
                let rows = q(&sql.consume_verification)
                    .bind(identifier.to_owned())
                    .fetch_all(&mut *conn)
                    .await?;
                let rows: Vec<Verification> = rows
                    .iter()
                    .map(sqlx::FromRow::from_row)
                    .collect::<Result<_, _>>()?;
                Ok(rows.into_iter().max_by_key(|v| v.created_at))
            }

            /// Compare-and-swap: sets `value` only while the row still holds `expected`.
            pub(in crate::store) async fn swap_verification_value(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
                expected: &str,
                value: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = q(&sql.swap_verification_value)
                    .bind(value.to_owned())
                    .bind($ts(now))
                    .bind(id.to_owned())
                    .bind(expected.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Deletes the row only while it still holds `expected`; false when someone changed it first.
            pub(in crate::store) async fn delete_verification_if(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
                expected: &str,
            ) -> StoreResult<bool> {
                let done = q(&sql.delete_verification_if)
                    .bind(id.to_owned())
                    .bind(expected.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(in crate::store) async fn delete_verification(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
            ) -> StoreResult<()> {
                q(&sql.delete_verification)
                    .bind(id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_expired_verifications(
                conn: &mut Conn,
                sql: &Statements,
                now: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let done = q(&sql.delete_expired_verifications)
                    .bind($ts(now))
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected())
            }

            pub(in crate::store) async fn list_jwks(
                conn: &mut Conn,
                sql: &Statements,
            ) -> StoreResult<Vec<Jwk>> {
                let rows = q(&sql.jwks).fetch_all(&mut *conn).await?;
                Ok(rows
                    .iter()
                    .map(sqlx::FromRow::from_row)
                    .collect::<Result<_, _>>()?)
            }

            pub(in crate::store) async fn insert_jwk(
                conn: &mut Conn,
                sql: &Statements,
                k: &Jwk,
            ) -> StoreResult<()> {
                q(&sql.insert_jwk)
                    .bind(k.id.clone())
                    .bind(k.public_key.clone())
                    .bind(k.private_key.clone())
                    .bind($ts(k.created_at))
                    .bind(k.expires_at.map($ts))
                    .bind(k.alg.clone())
                    .bind(k.crv.clone())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }
        }
    };
}

verifications_queries!(pg, sqlx::Postgres, pg_ts, true);
verifications_queries!(sqlite, sqlx::Sqlite, sqlite_ts, false);
