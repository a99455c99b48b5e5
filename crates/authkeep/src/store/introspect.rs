//! What a database already has: tables, their columns and the index names, read from the
//! catalog (PostgreSQL's `information_schema` in the current schema, SQLite's `sqlite_master`
//! and `pragma_table_info`).

use sqlx::{PgConnection, Row, SqliteConnection};

use super::StoreResult;
use super::migrate::{Existing, ExistingColumn, ExistingForeignKey};
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
    let leading = sqlx::query(
        "select t.relname::text, a.attname::text, i.indisunique \
         from pg_index i join pg_class t on t.oid = i.indrelid \
         join pg_namespace n on n.oid = t.relnamespace \
         join pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0] \
         where n.nspname = current_schema()",
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for r in leading {
        let unique: bool = r.try_get(2)?;
        *existing
            .indexed
            .entry((r.try_get(0)?, r.try_get(1)?))
            .or_default() |= unique;
    }
    // Both ends in the current schema; the definition as PostgreSQL prints it (quoted).
    let keys = sqlx::query(
        "select c.conname::text, t.relname::text, r.relname::text, pg_get_constraintdef(c.oid) \
         from pg_constraint c join pg_class t on t.oid = c.conrelid \
         join pg_class r on r.oid = c.confrelid \
         join pg_namespace n on n.oid = t.relnamespace \
         join pg_namespace rn on rn.oid = r.relnamespace \
         where c.contype = 'f' and n.nspname = current_schema() and rn.nspname = current_schema()",
    )
    .persistent(false)
    .fetch_all(&mut *conn)
    .await?;
    for r in keys {
        existing.foreign_keys.push(ExistingForeignKey {
            name: r.try_get(0)?,
            table: r.try_get(1)?,
            references: r.try_get(2)?,
            definition: r.try_get(3)?,
        });
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
        let leading = sqlx::query(
            r#"select ii.name, il."unique" from pragma_index_list($1) il, pragma_index_info(il.name) ii where ii.seqno = 0"#,
        )
        .persistent(false)
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?;
        for r in leading {
            let unique: i64 = r.try_get(1)?;
            *existing
                .indexed
                .entry((table.clone(), r.try_get(0)?))
                .or_default() |= unique != 0;
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
