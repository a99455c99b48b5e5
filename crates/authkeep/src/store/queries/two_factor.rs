//! The two-factor plugin's rows (statements in `sql_two_factor.rs`).
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{pg_ts, sqlite_ts};
use crate::model::TwoFactor;
use crate::store::StoreResult;
use crate::store::sql::Statements;

macro_rules! two_factor_queries {
    ($name:ident, $db:ty, $ts:path, $postgres:expr) => {
        pub(super) mod $name {
            use super::*;
            super::super::prelude!($db, $postgres);

            pub(in crate::store) async fn two_factor_of_user(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<Option<TwoFactor>> {
                let row = q(&sql.two_factor.by_user)
                    .bind(user_id.to_owned())
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(match row {
                    Some(r) => Some(<TwoFactor as sqlx::FromRow<Out>>::from_row(&r)?),
                    None => None,
                })
            }

            /// A new enrolment: over the user's existing row when there is one, else a new
            /// row, in one transaction locked per user.
            pub(in crate::store) async fn enrol_two_factor(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                secret: &str,
                backup_codes: &str,
                verified: bool,
            ) -> StoreResult<()> {
                let mut tx = begin_locked(conn, &format!("two-factor:{user_id}")).await?;
                let existing = q(&sql.two_factor.by_user)
                    .bind(user_id.to_owned())
                    .fetch_optional(&mut *tx)
                    .await?;
                match existing {
                    Some(row) => {
                        let id: String = row.try_get("id")?;
                        q(&sql.two_factor.reenrol)
                            .bind(secret.to_owned())
                            .bind(backup_codes.to_owned())
                            .bind(verified)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    None => {
                        q(&sql.two_factor.insert)
                            .bind(crate::crypto::generate_id())
                            .bind(secret.to_owned())
                            .bind(backup_codes.to_owned())
                            .bind(user_id.to_owned())
                            .bind(verified)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn mark_two_factor_verified(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
            ) -> StoreResult<()> {
                q(&sql.two_factor.mark_verified)
                    .bind(id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_two_factor_of_user(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<()> {
                q(&sql.two_factor.delete_of_user)
                    .bind(user_id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Compare-and-swap of the backup codes: false when another request changed them
            /// first (the same code used twice at once succeeds once).
            pub(in crate::store) async fn swap_backup_codes(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
                expected: &str,
                codes: &str,
            ) -> StoreResult<bool> {
                let done = q(&sql.two_factor.swap_backup_codes)
                    .bind(codes.to_owned())
                    .bind(id.to_owned())
                    .bind(expected.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(in crate::store) async fn set_backup_codes(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
                codes: &str,
            ) -> StoreResult<()> {
                q(&sql.two_factor.set_backup_codes)
                    .bind(codes.to_owned())
                    .bind(id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Counts one failure and locks at `threshold`, in one statement; returns the count.
            pub(in crate::store) async fn record_two_factor_failure(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
                threshold: i32,
                lock_until: DateTime<Utc>,
            ) -> StoreResult<Option<i64>> {
                let row = q(&sql.two_factor.record_failure)
                    .bind(id.to_owned())
                    .bind(threshold)
                    .bind($ts(lock_until))
                    .fetch_optional(&mut *conn)
                    .await?;
                match row {
                    Some(r) => Ok(r.try_get::<Option<i32>, _>(0)?.map(i64::from)),
                    None => Ok(None),
                }
            }

            pub(in crate::store) async fn clear_expired_two_factor_lock(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                q(&sql.two_factor.clear_expired_lock)
                    .bind(id.to_owned())
                    .bind($ts(now))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            /// Records `step` as the last TOTP step used under `identifier`, unless that step
            /// or a later one is recorded already (then `false`): read and write under one
            /// lock, so of two requests with the same code exactly one gets `true`.
            pub(in crate::store) async fn claim_totp_step(
                conn: &mut Conn,
                sql: &Statements,
                identifier: &str,
                step: i64,
                now: DateTime<Utc>,
                expires_at: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let mut tx = begin_locked(conn, identifier).await?;
                let row = q(&sql.verification)
                    .bind(identifier.to_owned())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = row {
                    let value: String = row.try_get("value")?;
                    let expires: DateTime<Utc> = row.try_get("expiresAt")?;
                    if expires > now && value.parse::<i64>().is_ok_and(|last| last >= step) {
                        return Ok(false);
                    }
                }
                q(&sql.delete_verifications_of)
                    .bind(identifier.to_owned())
                    .execute(&mut *tx)
                    .await?;
                q(&sql.insert_verification)
                    .bind(crate::crypto::generate_id())
                    .bind(identifier.to_owned())
                    .bind(step.to_string())
                    .bind($ts(expires_at))
                    .bind($ts(now))
                    .bind($ts(now))
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            }

            pub(in crate::store) async fn forget_totp_step(
                conn: &mut Conn,
                sql: &Statements,
                identifier: &str,
            ) -> StoreResult<()> {
                q(&sql.delete_verifications_of)
                    .bind(identifier.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn reset_two_factor_failures(
                conn: &mut Conn,
                sql: &Statements,
                id: &str,
            ) -> StoreResult<()> {
                q(&sql.two_factor.reset_failures)
                    .bind(id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }
        }
    };
}

two_factor_queries!(pg, sqlx::Postgres, pg_ts, true);
two_factor_queries!(sqlite, sqlx::Sqlite, sqlite_ts, false);
