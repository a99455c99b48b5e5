//! What a database already has: tables, their columns and the index names, read from the
//! catalog (PostgreSQL's `information_schema` in the current schema, SQLite's `sqlite_master`
//! and `pragma_table_info`).

use sqlx::{PgConnection, Row, SqliteConnection};

use super::StoreResult;
use super::migrate::{Existing, ExistingColumn};
use super::schema::Ident;

pub(super) async fn postgres(conn: &mut PgConnection) -> StoreResult<Existing> {
    let rows = sqlx::query(
        "select table_name::text, column_name::text, udt_name::text, is_nullable = 'YES', column_default is not null \
         from information_schema.columns where table_schema = current_schema() order by table_name, ordinal_position",
    ).persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    let mut existing = Existing::default();
    for r in rows {
        existing
            .tables
            .entry(r.try_get(0)?)
            .or_default()
            .push(ExistingColumn {
                name: r.try_get(1)?,
                data_type: r.try_get(2)?,
                nullable: r.try_get(3)?,
                has_default: r.try_get(4)?,
            });
    }
    let indexes =
        sqlx::query("select indexname::text from pg_indexes where schemaname = current_schema()")
            .persistent(false)
            .fetch_all(&mut *conn)
            .await?;
    for r in indexes {
        existing.indexes.insert(r.try_get(0)?);
    }
    Ok(existing)
}

pub(super) async fn sqlite(conn: &mut SqliteConnection) -> StoreResult<Existing> {
    let mut existing = Existing::default();
    let tables = sqlx::query(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'",
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for t in tables {
        let table: String = t.try_get(0)?;
        let columns = sqlx::query(
            r#"select name, type, "notnull", dflt_value is not null from pragma_table_info($1)"#,
        )
        .persistent(false)
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?;
        let mut list = Vec::new();
        for c in columns {
            let not_null: i64 = c.try_get(2)?;
            list.push(ExistingColumn {
                name: c.try_get(0)?,
                data_type: c.try_get(1)?,
                nullable: not_null == 0,
                has_default: c.try_get(3)?,
            });
        }
        existing.tables.insert(table, list);
    }
    let indexes = sqlx::query("select name from sqlite_master where type = 'index'")
        .persistent(false)
        .fetch_all(&mut *conn)
        .await?;
    for r in indexes {
        existing.indexes.insert(r.try_get(0)?);
    }
    Ok(existing)
}

/// Whether a table has at least one row.
pub(super) async fn populated_pg(conn: &mut PgConnection, table: &Ident) -> StoreResult<bool> {
    let sql = format!("select exists (select 1 from {table})");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_one(&mut *conn)
        .await?)
}

pub(super) async fn populated_sqlite(
    conn: &mut SqliteConnection,
    table: &Ident,
) -> StoreResult<bool> {
    let sql = format!("select exists (select 1 from {table})");
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .persistent(false)
        .fetch_one(&mut *conn)
        .await?)
}
