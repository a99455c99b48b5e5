//! Running the statements of `sql.rs`, one file per model. Each file's operations are written
//! once in a macro and instantiated for PostgreSQL and for SQLite; the backends differ only in
//! how a timestamp is bound (`ts`) and in how an additional field's date is read back. The
//! `pg` and `sqlite` modules here gather every model's operations for the store's dispatch.

mod accounts;
mod rate_limits;
mod sessions;
mod two_factor;
mod users;
mod verifications;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::schema::FieldType;
use crate::model::to_js_iso;

/// Every PostgreSQL operation.
pub(super) mod pg {
    pub(in crate::store) use super::accounts::pg::*;
    pub(in crate::store) use super::rate_limits::pg::*;
    pub(in crate::store) use super::sessions::pg::*;
    pub(in crate::store) use super::two_factor::pg::*;
    pub(in crate::store) use super::users::pg::*;
    pub(in crate::store) use super::verifications::pg::*;
}

/// Every SQLite operation.
pub(super) mod sqlite {
    pub(in crate::store) use super::accounts::sqlite::*;
    pub(in crate::store) use super::rate_limits::sqlite::*;
    pub(in crate::store) use super::sessions::sqlite::*;
    pub(in crate::store) use super::two_factor::sqlite::*;
    pub(in crate::store) use super::users::sqlite::*;
    pub(in crate::store) use super::verifications::sqlite::*;
}

/// The types and the statement runner every backend module starts with.
macro_rules! prelude {
    ($db:ty, $postgres:expr) => {
        #[allow(dead_code)]
        type Pool = sqlx::Pool<$db>;
        type Conn = <$db as sqlx::Database>::Connection;
        #[allow(dead_code)]
        type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>;
        #[allow(dead_code)]
        type Out = <$db as sqlx::Database>::Row;

        fn q(
            sql: &crate::store::sql::Sql,
        ) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments> {
            sqlx::query(sqlx::AssertSqlSafe(sql.text())).persistent(sql.persistent())
        }

        /// A transaction that holds a lock on `key` until it ends: an advisory lock on
        /// PostgreSQL, the database's write lock on SQLite (`BEGIN IMMEDIATE`, taken up
        /// front so the transaction never has to upgrade a read snapshot). The lock statement
        /// is never kept prepared: behind a transaction-mode pooler a named statement would
        /// meet another client's connection (ADR 0009).
        #[allow(dead_code)]
        async fn begin_locked<'c>(
            conn: &'c mut Conn,
            key: &str,
        ) -> crate::store::StoreResult<sqlx::Transaction<'c, $db>> {
            if $postgres {
                let mut tx = sqlx::Connection::begin(conn).await?;
                sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .persistent(false)
                    .bind(key.to_owned())
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            } else {
                Ok(sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await?)
            }
        }
    };
}
use prelude;

pub(super) fn pg_ts(d: DateTime<Utc>) -> DateTime<Utc> {
    d
}

/// better-auth (Kysely on SQLite) stores dates as `Date.toISOString()` text; writing the same
/// text keeps string comparisons of `expiresAt` correct when both servers share the file.
pub(super) fn sqlite_ts(d: DateTime<Utc>) -> String {
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
pub(super) enum Bound {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
    Date(Option<DateTime<Utc>>),
}

pub(super) fn bound(ty: FieldType, v: Option<&Value>) -> Bound {
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
