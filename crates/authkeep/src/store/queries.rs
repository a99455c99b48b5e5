//! Running the statements of `sql.rs`. `backend_queries!` instantiates this once for
//! PostgreSQL and once for SQLite; they differ only in how a timestamp is bound (`ts`) and in
//! how an additional field's date is read back.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::{AssertSqlSafe, Connection, Row};

use super::schema::{FieldType, Schema};
use super::sql::Statements;
use super::{StoreResult, UserFields};
use crate::model::{Account, CREDENTIAL_PROVIDER, Jwk, Session, User, Verification, to_js_iso};

fn pg_ts(d: DateTime<Utc>) -> DateTime<Utc> {
    d
}

/// better-auth (Kysely on SQLite) stores dates as `Date.toISOString()` text; writing the same
/// text keeps string comparisons of `expiresAt` correct when both servers share the file.
fn sqlite_ts(d: DateTime<Utc>) -> String {
    to_js_iso(&d)
}

/// An additional field's value as read back as text: the JSON better-auth returns for it.
/// A value that does not parse as its type is returned as the text, as better-auth returns
/// whatever its database holds.
fn additional_from_text(ty: FieldType, text: Option<String>) -> Value {
    let Some(t) = text else { return Value::Null };
    match ty {
        FieldType::String => Value::String(t),
        FieldType::Number => t
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| t.parse::<f64>().map(Value::from))
            .unwrap_or(Value::String(t)),
        FieldType::Boolean => match t.as_str() {
            "true" | "t" | "1" => Value::Bool(true),
            "false" | "f" | "0" => Value::Bool(false),
            _ => Value::String(t),
        },
        FieldType::Date => crate::model::parse_date(&t)
            .map(|d| Value::String(to_js_iso(&d)))
            .unwrap_or(Value::String(t)),
        FieldType::StringArray | FieldType::NumberArray => {
            serde_json::from_str(&t).unwrap_or(Value::Null)
        }
    }
}

/// A value to bind for an additional field (absent: SQL NULL).
enum Bound {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Date(Option<DateTime<Utc>>),
}

fn bound(ty: FieldType, v: Option<&Value>) -> Bound {
    let v = v.filter(|v| !v.is_null());
    match ty {
        FieldType::String => Bound::Text(v.and_then(Value::as_str).map(str::to_owned)),
        FieldType::Number => Bound::Int(v.and_then(Value::as_i64)),
        FieldType::Boolean => Bound::Bool(v.and_then(Value::as_bool)),
        FieldType::Date => {
            Bound::Date(v.and_then(Value::as_str).and_then(crate::model::parse_date))
        }
        FieldType::StringArray | FieldType::NumberArray => Bound::Text(v.map(Value::to_string)),
    }
}

macro_rules! backend_queries {
    ($name:ident, $db:ty, $ts:path, $postgres:expr) => {
        pub(super) mod $name {
            use super::*;
            type Pool = sqlx::Pool<$db>;
            type Conn = <$db as sqlx::Database>::Connection;
            type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>;
            type Out = <$db as sqlx::Database>::Row;

            fn q(sql: &super::super::sql::Sql) -> Query<'static> {
                sqlx::query(AssertSqlSafe(sql.text())).persistent(sql.persistent())
            }

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
            fn decode_user(row: &Out, prefix: &str, schema: &Schema) -> StoreResult<User> {
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

            async fn insert_user(
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

            async fn insert_account(
                conn: &mut Conn,
                sql: &Statements,
                a: &Account,
            ) -> StoreResult<()> {
                q(&sql.insert_account)
                    .bind(a.id.clone())
                    .bind(a.account_id.clone())
                    .bind(a.provider_id.clone())
                    .bind(a.user_id.clone())
                    .bind(a.password.clone())
                    .bind($ts(a.created_at))
                    .bind($ts(a.updated_at))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            async fn insert_session(
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

            async fn delete_sessions_of(
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

            pub(in crate::store) async fn find_credential_account(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<Option<Account>> {
                let row = q(&sql.credential_account)
                    .bind(user_id.to_owned())
                    .bind(CREDENTIAL_PROVIDER)
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(row.map(|r| sqlx::FromRow::from_row(&r)).transpose()?)
            }

            pub(in crate::store) async fn list_accounts(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
            ) -> StoreResult<Vec<Account>> {
                let rows = q(&sql.accounts_of_user)
                    .bind(user_id.to_owned())
                    .fetch_all(&mut *conn)
                    .await?;
                Ok(rows
                    .iter()
                    .map(sqlx::FromRow::from_row)
                    .collect::<Result<_, _>>()?)
            }

            pub(in crate::store) async fn update_password(
                conn: &mut Conn,
                sql: &Statements,
                account_id: &str,
                hash: &str,
                now: DateTime<Utc>,
                replace_sessions: Option<&Session>,
            ) -> StoreResult<()> {
                let mut tx = conn.begin().await?;
                q(&sql.set_account_password)
                    .bind(hash.to_owned())
                    .bind($ts(now))
                    .bind(account_id.to_owned())
                    .execute(&mut *tx)
                    .await?;
                if let Some(s) = replace_sessions {
                    delete_sessions_of(&mut tx, sql, &s.user_id).await?;
                    insert_session(&mut tx, sql, s).await?;
                }
                tx.commit().await?;
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

            pub(in crate::store) async fn update_user_profile(
                conn: &mut Conn,
                sql: &Statements,
                schema: &Schema,
                user_id: &str,
                change: &super::super::ProfileChange<'_>,
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

            /// A transaction that holds a lock on `key` until it ends: an advisory lock on
            /// PostgreSQL, the database's write lock on SQLite (`BEGIN IMMEDIATE`, taken up
            /// front so the transaction never has to upgrade a read snapshot).
            async fn begin_locked<'c>(
                conn: &'c mut Conn,
                key: &str,
            ) -> StoreResult<sqlx::Transaction<'c, $db>> {
                if $postgres {
                    let mut tx = conn.begin().await?;
                    sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(key.to_owned())
                        .execute(&mut *tx)
                        .await?;
                    Ok(tx)
                } else {
                    Ok(conn.begin_with("BEGIN IMMEDIATE").await?)
                }
            }

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

            async fn insert_verification_in(
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

            pub(in crate::store) async fn set_password(
                conn: &mut Conn,
                sql: &Statements,
                user_id: &str,
                new_account_id: &str,
                hash: &str,
                now: DateTime<Utc>,
                revoke_sessions: bool,
            ) -> StoreResult<()> {
                let mut tx = conn.begin().await?;
                let updated = q(&sql.set_credential_password)
                    .bind(hash.to_owned())
                    .bind($ts(now))
                    .bind(user_id.to_owned())
                    .bind(CREDENTIAL_PROVIDER)
                    .execute(&mut *tx)
                    .await?;
                if updated.rows_affected() == 0 {
                    let account = Account {
                        id: new_account_id.to_owned(),
                        account_id: user_id.to_owned(),
                        provider_id: CREDENTIAL_PROVIDER.to_owned(),
                        user_id: user_id.to_owned(),
                        password: Some(hash.to_owned()),
                        scope: None,
                        created_at: now,
                        updated_at: now,
                    };
                    insert_account(&mut tx, sql, &account).await?;
                }
                if revoke_sessions {
                    delete_sessions_of(&mut tx, sql, user_id).await?;
                }
                tx.commit().await?;
                Ok(())
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

backend_queries!(pg, sqlx::Postgres, pg_ts, true);
backend_queries!(sqlite, sqlx::Sqlite, sqlite_ts, false);
