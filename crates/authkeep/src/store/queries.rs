//! The SQL, written once. `backend_queries!` instantiates it for PostgreSQL and SQLite; the
//! only difference is `ts`, which turns a timestamp into what that backend stores.
//! Placeholders are `$n` and appear in increasing order, which both drivers accept.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::StoreResult;
use crate::model::{Account, CREDENTIAL_PROVIDER, Jwk, Session, User, Verification, to_js_iso};

fn pg_ts(d: DateTime<Utc>) -> DateTime<Utc> {
    d
}

/// better-auth (Kysely on SQLite) stores dates as `Date.toISOString()` text; writing the same
/// text keeps string comparisons of `expiresAt` correct when both servers share the file.
fn sqlite_ts(d: DateTime<Utc>) -> String {
    to_js_iso(&d)
}

// Column lists as macros so `concat!` keeps every statement a `&'static str` (sqlx 0.9 refuses
// SQL built at run time, a guard against injection).
macro_rules! user_columns {
    () => {
        r#""id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt""#
    };
}
macro_rules! session_columns {
    () => {
        r#""id", "token", "userId", "expiresAt", "ipAddress", "userAgent", "createdAt", "updatedAt""#
    };
}
macro_rules! verification_columns {
    () => {
        r#""id", "identifier", "value", "expiresAt", "createdAt", "updatedAt""#
    };
}
macro_rules! account_columns {
    () => {
        r#""id", "accountId", "providerId", "userId", "password", "scope", "createdAt", "updatedAt""#
    };
}

macro_rules! backend_queries {
    ($name:ident, $db:ty, $ts:path) => {
        pub(super) mod $name {
            use super::*;
            type Pool = sqlx::Pool<$db>;
            type Conn = <$db as sqlx::Database>::Connection;

            pub(in crate::store) async fn ping(pool: &Pool) -> StoreResult<()> {
                sqlx::query("select 1").execute(pool).await?;
                Ok(())
            }

            pub(in crate::store) async fn applied_migrations(pool: &Pool) -> StoreResult<Vec<i64>> {
                let rows = sqlx::query("select version from _sqlx_migrations where success = true order by version")
                    .fetch_all(pool)
                    .await;
                match rows {
                    Ok(rows) => Ok(rows.iter().map(|r| r.get::<i64, _>(0)).collect()),
                    // No bookkeeping table yet: nothing applied.
                    Err(sqlx::Error::Database(_)) => Ok(Vec::new()),
                    Err(e) => Err(e.into()),
                }
            }

            pub(in crate::store) async fn find_user_by_email(pool: &Pool, email: &str) -> StoreResult<Option<User>> {
                let sql = concat!("select ", user_columns!(), r#" from "user" where "email" = $1"#);
                Ok(sqlx::query_as(sql).bind(email).fetch_optional(pool).await?)
            }

            pub(in crate::store) async fn find_user_by_id(pool: &Pool, id: &str) -> StoreResult<Option<User>> {
                let sql = concat!("select ", user_columns!(), r#" from "user" where "id" = $1"#);
                Ok(sqlx::query_as(sql).bind(id).fetch_optional(pool).await?)
            }

            async fn insert_user(conn: &mut Conn, u: &User) -> StoreResult<()> {
                sqlx::query(
                    r#"insert into "user" ("id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt")
                       values ($1, $2, $3, $4, $5, $6, $7)"#,
                )
                .bind(&u.id)
                .bind(&u.name)
                .bind(&u.email)
                .bind(u.email_verified)
                .bind(&u.image)
                .bind($ts(u.created_at))
                .bind($ts(u.updated_at))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn insert_account(conn: &mut Conn, a: &Account) -> StoreResult<()> {
                sqlx::query(
                    r#"insert into "account" ("id", "accountId", "providerId", "userId", "password", "createdAt", "updatedAt")
                       values ($1, $2, $3, $4, $5, $6, $7)"#,
                )
                .bind(&a.id)
                .bind(&a.account_id)
                .bind(&a.provider_id)
                .bind(&a.user_id)
                .bind(&a.password)
                .bind($ts(a.created_at))
                .bind($ts(a.updated_at))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            async fn insert_session(conn: &mut Conn, s: &Session) -> StoreResult<()> {
                sqlx::query(
                    r#"insert into "session" ("id", "token", "userId", "expiresAt", "ipAddress", "userAgent", "createdAt", "updatedAt")
                       values ($1, $2, $3, $4, $5, $6, $7, $8)"#,
                )
                .bind(&s.id)
                .bind(&s.token)
                .bind(&s.user_id)
                .bind($ts(s.expires_at))
                .bind(&s.ip_address)
                .bind(&s.user_agent)
                .bind($ts(s.created_at))
                .bind($ts(s.updated_at))
                .execute(&mut *conn)
                .await?;
                Ok(())
            }

            pub(in crate::store) async fn create_user_with_credential(
                pool: &Pool,
                u: &User,
                a: &Account,
                session: Option<&Session>,
            ) -> StoreResult<()> {
                let mut tx = pool.begin().await?;
                insert_user(&mut tx, u).await?;
                insert_account(&mut tx, a).await?;
                if let Some(s) = session {
                    insert_session(&mut tx, s).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn find_credential_account(pool: &Pool, user_id: &str) -> StoreResult<Option<Account>> {
                let sql = concat!(
                    "select ",
                    account_columns!(),
                    r#" from "account" where "userId" = $1 and "providerId" = $2 order by "createdAt" limit 1"#
                );
                Ok(sqlx::query_as(sql).bind(user_id).bind(CREDENTIAL_PROVIDER).fetch_optional(pool).await?)
            }

            pub(in crate::store) async fn list_accounts(pool: &Pool, user_id: &str) -> StoreResult<Vec<Account>> {
                let sql = concat!("select ", account_columns!(), r#" from "account" where "userId" = $1 order by "createdAt""#);
                Ok(sqlx::query_as(sql).bind(user_id).fetch_all(pool).await?)
            }

            pub(in crate::store) async fn update_password(
                pool: &Pool,
                account_id: &str,
                hash: &str,
                now: DateTime<Utc>,
                replace_sessions: Option<&Session>,
            ) -> StoreResult<()> {
                let mut tx = pool.begin().await?;
                sqlx::query(r#"update "account" set "password" = $1, "updatedAt" = $2 where "id" = $3"#)
                    .bind(hash)
                    .bind($ts(now))
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                if let Some(s) = replace_sessions {
                    sqlx::query(r#"delete from "session" where "userId" = $1"#)
                        .bind(&s.user_id)
                        .execute(&mut *tx)
                        .await?;
                    insert_session(&mut tx, s).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn create_session(pool: &Pool, s: &Session) -> StoreResult<()> {
                let mut conn = pool.acquire().await?;
                insert_session(&mut conn, s).await
            }

            pub(in crate::store) async fn find_session_with_user(pool: &Pool, token: &str) -> StoreResult<Option<(Session, User)>> {
                let row = sqlx::query(
                    r#"select s."id", s."token", s."userId", s."expiresAt", s."ipAddress", s."userAgent",
                              s."createdAt", s."updatedAt",
                              u."name" as "u_name", u."email" as "u_email", u."emailVerified" as "u_emailVerified",
                              u."image" as "u_image", u."createdAt" as "u_createdAt", u."updatedAt" as "u_updatedAt"
                       from "session" s join "user" u on u."id" = s."userId"
                       where s."token" = $1"#,
                )
                .bind(token)
                .fetch_optional(pool)
                .await?;
                let Some(r) = row else { return Ok(None) };
                let session = Session {
                    id: r.try_get("id")?,
                    token: r.try_get("token")?,
                    user_id: r.try_get("userId")?,
                    expires_at: r.try_get("expiresAt")?,
                    ip_address: r.try_get("ipAddress")?,
                    user_agent: r.try_get("userAgent")?,
                    created_at: r.try_get("createdAt")?,
                    updated_at: r.try_get("updatedAt")?,
                };
                let user = User {
                    id: session.user_id.clone(),
                    name: r.try_get("u_name")?,
                    email: r.try_get("u_email")?,
                    email_verified: r.try_get("u_emailVerified")?,
                    image: r.try_get("u_image")?,
                    created_at: r.try_get("u_createdAt")?,
                    updated_at: r.try_get("u_updatedAt")?,
                };
                Ok(Some((session, user)))
            }

            pub(in crate::store) async fn refresh_session(
                pool: &Pool,
                token: &str,
                expires_at: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(r#"update "session" set "expiresAt" = $1, "updatedAt" = $2 where "token" = $3"#)
                    .bind($ts(expires_at))
                    .bind($ts(now))
                    .bind(token)
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            pub(in crate::store) async fn delete_session(pool: &Pool, token: &str) -> StoreResult<()> {
                sqlx::query(r#"delete from "session" where "token" = $1"#).bind(token).execute(pool).await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_user_session(pool: &Pool, user_id: &str, token: &str) -> StoreResult<()> {
                sqlx::query(r#"delete from "session" where "userId" = $1 and "token" = $2"#)
                    .bind(user_id)
                    .bind(token)
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn list_active_sessions(pool: &Pool, user_id: &str, now: DateTime<Utc>) -> StoreResult<Vec<Session>> {
                let sql = concat!(
                    "select ",
                    session_columns!(),
                    r#" from "session" where "userId" = $1 and "expiresAt" > $2 order by "createdAt""#
                );
                Ok(sqlx::query_as(sql).bind(user_id).bind($ts(now)).fetch_all(pool).await?)
            }

            pub(in crate::store) async fn delete_user_sessions(pool: &Pool, user_id: &str) -> StoreResult<()> {
                sqlx::query(r#"delete from "session" where "userId" = $1"#).bind(user_id).execute(pool).await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_user_sessions_except(pool: &Pool, user_id: &str, keep: &str) -> StoreResult<()> {
                sqlx::query(r#"delete from "session" where "userId" = $1 and "token" <> $2"#)
                    .bind(user_id)
                    .bind(keep)
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn update_user_profile(
                pool: &Pool,
                user_id: &str,
                name: Option<&str>,
                image: Option<Option<&str>>,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<User>> {
                // `case` keeps one statement for every combination of fields.
                sqlx::query(
                    r#"update "user" set
                         "name" = case when $1 then $2 else "name" end,
                         "image" = case when $3 then $4 else "image" end,
                         "updatedAt" = $5
                       where "id" = $6"#,
                )
                .bind(name.is_some())
                .bind(name.unwrap_or_default())
                .bind(image.is_some())
                .bind(image.flatten())
                .bind($ts(now))
                .bind(user_id)
                .execute(pool)
                .await?;
                find_user_by_id(pool, user_id).await
            }

            pub(in crate::store) async fn insert_verification(pool: &Pool, v: &Verification) -> StoreResult<()> {
                sqlx::query(
                    r#"insert into "verification" ("id", "identifier", "value", "expiresAt", "createdAt", "updatedAt")
                       values ($1, $2, $3, $4, $5, $6)"#,
                )
                .bind(&v.id)
                .bind(&v.identifier)
                .bind(&v.value)
                .bind($ts(v.expires_at))
                .bind($ts(v.created_at))
                .bind($ts(v.updated_at))
                .execute(pool)
                .await?;
                Ok(())
            }

            pub(in crate::store) async fn find_verification(pool: &Pool, identifier: &str) -> StoreResult<Option<Verification>> {
                let sql = concat!("select ", verification_columns!(), r#" from "verification" where "identifier" = $1 order by "createdAt" desc limit 1"#);
                Ok(sqlx::query_as(sql).bind(identifier).fetch_optional(pool).await?)
            }

            /// Deletes and returns the rows in one statement, so two concurrent uses cannot both win.
            pub(in crate::store) async fn consume_verification(pool: &Pool, identifier: &str) -> StoreResult<Option<Verification>> {
                let sql = concat!(r#"delete from "verification" where "identifier" = $1 returning "#, verification_columns!());
                let rows: Vec<Verification> = sqlx::query_as(sql).bind(identifier).fetch_all(pool).await?;
                Ok(rows.into_iter().max_by_key(|v| v.created_at))
            }

            /// Compare-and-swap: sets `value` only while the row still holds `expected`.
            pub(in crate::store) async fn swap_verification_value(pool: &Pool, id: &str, expected: &str, value: &str, now: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query(r#"update "verification" set "value" = $1, "updatedAt" = $2 where "id" = $3 and "value" = $4"#)
                    .bind(value)
                    .bind($ts(now))
                    .bind(id)
                    .bind(expected)
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            /// Deletes the row only while it still holds `expected`; false when someone changed it first.
            pub(in crate::store) async fn delete_verification_if(pool: &Pool, id: &str, expected: &str) -> StoreResult<bool> {
                let done = sqlx::query(r#"delete from "verification" where "id" = $1 and "value" = $2"#)
                    .bind(id)
                    .bind(expected)
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            pub(in crate::store) async fn delete_verification(pool: &Pool, id: &str) -> StoreResult<()> {
                sqlx::query(r#"delete from "verification" where "id" = $1"#).bind(id).execute(pool).await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_expired_verifications(pool: &Pool, now: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query(r#"delete from "verification" where "expiresAt" < $1"#)
                    .bind($ts(now))
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected())
            }

            /// Deletes all but the newest `keep` rows whose identifier starts with `prefix` and
            /// whose value matches `value` (a LIKE pattern, `\` escapes).
            pub(in crate::store) async fn withdraw_older_verifications(pool: &Pool, prefix: &str, value: &str, keep: usize) -> StoreResult<()> {
                let ids: Vec<String> = sqlx::query_scalar(
                    r#"select "id" from "verification" where "identifier" like $1 escape '\' and "value" like $2 escape '\'
                       order by "createdAt" desc"#,
                )
                .bind(prefix)
                .bind(value)
                .fetch_all(pool)
                .await?;
                for id in ids.iter().skip(keep) {
                    delete_verification(pool, id).await?;
                }
                Ok(())
            }

            pub(in crate::store) async fn create_user(pool: &Pool, u: &User) -> StoreResult<()> {
                let mut conn = pool.acquire().await?;
                insert_user(&mut conn, u).await
            }

            pub(in crate::store) async fn revoke_unproven_access(pool: &Pool, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
                let mut tx = pool.begin().await?;
                sqlx::query(r#"delete from "account" where "userId" = $1"#).bind(user_id).execute(&mut *tx).await?;
                sqlx::query(r#"delete from "session" where "userId" = $1"#).bind(user_id).execute(&mut *tx).await?;
                sqlx::query(r#"update "user" set "emailVerified" = $1, "updatedAt" = $2 where "id" = $3"#)
                    .bind(true)
                    .bind($ts(now))
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn update_email(
                pool: &Pool,
                user_id: &str,
                email: &str,
                verified: bool,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<User>> {
                sqlx::query(r#"update "user" set "email" = $1, "emailVerified" = $2, "updatedAt" = $3 where "id" = $4"#)
                    .bind(email)
                    .bind(verified)
                    .bind($ts(now))
                    .bind(user_id)
                    .execute(pool)
                    .await?;
                find_user_by_id(pool, user_id).await
            }

            pub(in crate::store) async fn mark_email_verified(pool: &Pool, user_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(r#"update "user" set "emailVerified" = $1, "updatedAt" = $2 where "id" = $3"#)
                    .bind(true)
                    .bind($ts(now))
                    .bind(user_id)
                    .execute(pool)
                    .await?;
                Ok(())
            }

            pub(in crate::store) async fn set_password(
                pool: &Pool,
                user_id: &str,
                new_account_id: &str,
                hash: &str,
                now: DateTime<Utc>,
                revoke_sessions: bool,
            ) -> StoreResult<()> {
                let mut tx = pool.begin().await?;
                let updated = sqlx::query(
                    r#"update "account" set "password" = $1, "updatedAt" = $2 where "userId" = $3 and "providerId" = $4"#,
                )
                .bind(hash)
                .bind($ts(now))
                .bind(user_id)
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
                    insert_account(&mut tx, &account).await?;
                }
                if revoke_sessions {
                    sqlx::query(r#"delete from "session" where "userId" = $1"#).bind(user_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            pub(in crate::store) async fn list_jwks(pool: &Pool) -> StoreResult<Vec<Jwk>> {
                let sql = r#"select "id", "publicKey", "privateKey", "createdAt", "expiresAt", "alg", "crv" from "jwks" order by "createdAt""#;
                Ok(sqlx::query_as(sql).fetch_all(pool).await?)
            }

            pub(in crate::store) async fn insert_jwk(pool: &Pool, k: &Jwk) -> StoreResult<()> {
                sqlx::query(
                    r#"insert into "jwks" ("id", "publicKey", "privateKey", "createdAt", "expiresAt", "alg", "crv")
                       values ($1, $2, $3, $4, $5, $6, $7)"#,
                )
                .bind(&k.id)
                .bind(&k.public_key)
                .bind(&k.private_key)
                .bind($ts(k.created_at))
                .bind(k.expires_at.map($ts))
                .bind(&k.alg)
                .bind(&k.crv)
                .execute(pool)
                .await?;
                Ok(())
            }

            pub(in crate::store) async fn delete_user(pool: &Pool, user_id: &str) -> StoreResult<()> {
                // Explicit deletes, not only `on delete cascade`: a SQLite connection opened by
                // another program may have foreign keys off.
                let mut tx = pool.begin().await?;
                for sql in [
                    r#"delete from "session" where "userId" = $1"#,
                    r#"delete from "account" where "userId" = $1"#,
                    r#"delete from "user" where "id" = $1"#,
                ] {
                    sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

backend_queries!(pg, sqlx::Postgres, pg_ts);
backend_queries!(sqlite, sqlx::Sqlite, sqlite_ts);
