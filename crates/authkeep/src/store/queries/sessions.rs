//! Sessions: creation, lookup with their user, refresh and revocation.
use chrono::{DateTime, Utc};

use super::{pg_ts, sqlite_ts};
use crate::model::{Session, User};
use crate::store::StoreResult;
use crate::store::schema::Schema;
use crate::store::sql::Statements;

macro_rules! sessions_queries {
    ($name:ident, $db:ty, $ts:path, $postgres:expr) => {
        pub(super) mod $name {
            use super::super::$name::*;
            use super::*;
            super::super::prelude!($db, $postgres);

            pub(in crate::store) async fn insert_session(
                conn: &mut Conn,
                sql: &Statements,
                s: &Session,
            ) -> StoreResult<()> {
                q(&sql.insert_session)
                    .bind(s.id.clone())
                    .bind(s.token.clone())
                    .bind(s.user_id.clone())
                    .bind($ts(s.expires_at))
                    .bind(s.ip_address.clone())
                    .bind(s.user_agent.clone())
                    .bind($ts(s.created_at))
                    .bind($ts(s.updated_at))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_sessions_of(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<()> {
                q(&sql.delete_sessions_of_user)
                    .bind(user_id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn create_session(
                conn: &mut Conn,
                sql: &Statements,
                s: &Session,
            ) -> StoreResult<()> {
                insert_session(conn, sql, s).await
            }

            pub(in crate::store) async fn find_session_with_user(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                token: &str,
            ) -> StoreResult<Option<(Session, User)>> {
                let Some(row) = q(&sql.session_with_user)
                    .bind(token.to_owned())
                    .fetch_optional(&mut *conn)
                    .await?
                else {
                    return Ok(None);
                };
                let session: Session = sqlx::FromRow::from_row(&row)?;
                let user = decode_user(&row, "u_", schema)?;
                Ok(Some((session, user)))
            }

            pub(in crate::store) async fn refresh_session(
                conn: &mut Conn,
                sql: &Statements,
                token: &str,
                expires_at: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = q(&sql.refresh_session)
                    .bind($ts(expires_at))
                    .bind($ts(now))
                    .bind(token.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            pub(in crate::store) async fn delete_session(
                conn: &mut Conn,
                sql: &Statements,
                token: &str,
            ) -> StoreResult<()> {
                q(&sql.delete_session)
                    .bind(token.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_user_session(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                token: &str,
            ) -> StoreResult<()> {
                q(&sql.delete_user_session)
                    .bind(user_id.to_owned())
                    .bind(token.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn list_active_sessions(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<Session>> {
                let rows = q(&sql.active_sessions)
                    .bind(user_id.to_owned())
                    .bind($ts(now))
                    .fetch_all(&mut *conn)
                    .await?;
                Ok(rows
                    .iter()
                    .map(sqlx::FromRow::from_row)
                    .collect::<Result<_, _>>()?)
            }

            pub(in crate::store) async fn delete_user_sessions(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<()> {
                delete_sessions_of(conn, sql, user_id).await
            }

            pub(in crate::store) async fn delete_user_sessions_except(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                keep: &str,
            ) -> StoreResult<()> {
                q(&sql.delete_sessions_except)
                    .bind(user_id.to_owned())
                    .bind(keep.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }
        }
    };
}

sessions_queries!(pg, sqlx::Postgres, pg_ts, true);
sessions_queries!(sqlite, sqlx::Sqlite, sqlite_ts, false);
