//! Users: lookups, creation (with a credential account and a first session), profile and email
//! changes, deletion.
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{Connection, Row};

use super::{Bound, additional_from_text, bound, pg_ts, sqlite_ts};
use crate::model::{Account, Session, User, to_js_iso};
use crate::store::schema::{FieldType, Schema};
use crate::store::sql::Statements;
use crate::store::{StoreResult, UserFields};

macro_rules! users_queries {
    ($name:ident, $db:ty, $ts:path, $postgres:expr) => {
        pub(super) mod $name {
            use super::super::$name::*;
            use super::*;
            super::super::prelude!($db, $postgres);

            fn bind_additional<'q>(query: Query<'q>, b: Bound) -> Query<'q> {
                match b {
                    Bound::Text(v) => query.bind(v),
                    Bound::Int(v) => query.bind(v),
                    Bound::Bool(v) => query.bind(v),
                    Bound::Date(v) => query.bind(v.map($ts)),
                }
            }

            fn additional_value(row: &Out, alias: &str, ty: FieldType) -> StoreResult<Value> {
                if $postgres && ty == FieldType::Date {
                    let d: Option<DateTime<Utc>> = row.try_get(alias)?;
                    return Ok(d.map_or(Value::Null, |d| Value::String(to_js_iso(&d))));
                }
                Ok(additional_from_text(ty, row.try_get(alias)?))
            }

            /// A user from a row whose columns are aliased `<prefix><field>`.
            pub(in crate::store) fn decode_user(
                row: &Out,
                prefix: &str,
                schema: &Schema,
            ) -> StoreResult<User> {
                let get = |f: &str| format!("{prefix}{f}");
                let mut additional = Map::new();
                for (i, (field, _)) in schema.additional().enumerate() {
                    if field.returned {
                        let v = additional_value(row, &get(&format!("a{i}")), field.ty)?;
                        additional.insert(field.name.clone(), v);
                    }
                }
                Ok(User {
                    id: row.try_get(get("id").as_str())?,
                    name: row.try_get(get("name").as_str())?,
                    email: row.try_get(get("email").as_str())?,
                    email_verified: row.try_get(get("emailVerified").as_str())?,
                    image: row.try_get(get("image").as_str())?,
                    created_at: row.try_get(get("createdAt").as_str())?,
                    updated_at: row.try_get(get("updatedAt").as_str())?,
                    additional,
                })
            }

            pub(in crate::store) async fn ping(pool: &Pool) -> StoreResult<()> {
                sqlx::query("select 1")
                    .persistent(false)
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn user_by(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                by_email: bool,
                key: &str,
            ) -> StoreResult<Option<User>> {
                let stmt = if by_email {
                    &sql.user_by_email
                } else {
                    &sql.user_by_id
                };
                let row = q(stmt)
                    .bind(key.to_owned())
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(|r| decode_user(&r, "", schema)).transpose()
            }

            /// A page of users, oldest first.
            pub(in crate::store) async fn list_users(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                limit: i64,
                offset: i64,
            ) -> StoreResult<Vec<User>> {
                let rows = q(&sql.list_users)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *conn)
                    .await?;
                rows.iter().map(|r| decode_user(r, "", schema)).collect()
            }

            pub(in crate::store) async fn count_users(
                conn: &mut Conn,
                sql: &Statements,
            ) -> StoreResult<i64> {
                let row = q(&sql.count_users).fetch_one(&mut *conn).await?;
                Ok(row.try_get(0)?)
            }

            pub(in crate::store) async fn insert_user(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                u: &User,
                fields: &UserFields,
            ) -> StoreResult<()> {
                let mut query = q(&sql.insert_user)
                    .bind(u.id.clone())
                    .bind(u.name.clone())
                    .bind(u.email.clone())
                    .bind(u.email_verified)
                    .bind(u.image.clone())
                    .bind($ts(u.created_at))
                    .bind($ts(u.updated_at));
                for (field, _) in schema.additional() {
                    query = bind_additional(query, bound(field.ty, fields.get(&field.name)));
                }
                query.execute(&mut *conn).await?;
                Ok(())
            }

            pub(in crate::store) async fn create_user(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                u: &User,
                fields: &UserFields,
                credential: Option<&Account>,
                session: Option<&Session>,
            ) -> StoreResult<()> {
                let mut tx = conn.begin().await?;
                insert_user(&mut tx, sql, schema, u, fields).await?;
                if let Some(a) = credential {
                    insert_account(&mut tx, sql, a).await?;
                }
                if let Some(s) = session {
                    insert_session(&mut tx, sql, s).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn update_user_profile(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                user_id: &str,
                change: &crate::store::ProfileChange<'_>,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<User>> {
                let mut query = q(&sql.update_user_profile)
                    .bind(change.name.is_some())
                    .bind(change.name.map(str::to_owned))
                    .bind(change.image.is_some())
                    .bind(change.image.flatten().map(str::to_owned));
                for (field, _) in schema.additional() {
                    let value = change.fields.get(&field.name);
                    query = query.bind(value.is_some());
                    query = bind_additional(query, bound(field.ty, value));
                }
                query
                    .bind($ts(now))
                    .bind(user_id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                user_by(conn, sql, schema, false, user_id).await
            }

            pub(in crate::store) async fn update_email(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                user_id: &str,
                email: &str,
                verified: bool,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<User>> {
                q(&sql.update_email)
                    .bind(email.to_owned())
                    .bind(verified)
                    .bind($ts(now))
                    .bind(user_id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                user_by(conn, sql, schema, false, user_id).await
            }

            pub(in crate::store) async fn mark_email_verified(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                q(&sql.mark_email_verified)
                    .bind(true)
                    .bind($ts(now))
                    .bind(user_id.to_owned())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn revoke_unproven_access(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = conn.begin().await?;
                q(&sql.delete_accounts_of_user)
                    .bind(user_id.to_owned())
                    .execute(&mut *tx)
                    .await?;
                delete_sessions_of(&mut tx, sql, user_id).await?;
                q(&sql.mark_email_verified)
                    .bind(true)
                    .bind($ts(now))
                    .bind(user_id.to_owned())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_user(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<()> {
                // Explicit deletes, not only `on delete cascade`: a SQLite connection opened by
                // another program may have foreign keys off.
                let mut tx = conn.begin().await?;
                delete_sessions_of(&mut tx, sql, user_id).await?;
                q(&sql.delete_accounts_of_user)
                    .bind(user_id.to_owned())
                    .execute(&mut *tx)
                    .await?;
                q(&sql.delete_user)
                    .bind(user_id.to_owned())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

users_queries!(pg, sqlx::Postgres, pg_ts, true);
users_queries!(sqlite, sqlx::Sqlite, sqlite_ts, false);
