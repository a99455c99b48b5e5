// What a database's catalog says about its tables, in a form two databases can be compared by:
// PostgreSQL's information_schema and pg_indexes, SQLite's pragma_table_info and sqlite_master.
import pg from "pg";

/**
 * PostgreSQL: columns (type, nullability, default), indexes (as pg_indexes prints them) and
 * constraints (as pg_get_constraintdef prints them) of the public schema, each sorted.
 * `columnOrder` keeps each table's columns in ordinal order, to report order separately.
 */
export async function dumpPostgres(url) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const cols = (await c.query(
      `select table_name, column_name, data_type, is_nullable, column_default, ordinal_position
         from information_schema.columns where table_schema = 'public'
        order by table_name, ordinal_position`,
    )).rows;
    const idx = (await c.query(
      `select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by tablename, indexname`,
    )).rows;
    const cons = (await c.query(
      `select cl.relname as table_name, co.conname, pg_get_constraintdef(co.oid) as def
         from pg_constraint co join pg_class cl on cl.oid = co.conrelid
         join pg_namespace n on n.oid = cl.relnamespace
        where n.nspname = 'public' order by 1, 2`,
    )).rows;
    return {
      tables: [...new Set(cols.map((r) => r.table_name))].sort(),
      columns: cols
        .map((r) => `${r.table_name}.${r.column_name} ${r.data_type} ${r.is_nullable === "YES" ? "null" : "not null"} default=${r.column_default ?? "none"}`)
        .sort(),
      indexes: idx.map((r) => `${r.tablename}: ${r.indexname}: ${r.indexdef}`).sort(),
      constraints: cons.map((r) => `${r.table_name}: ${r.conname}: ${r.def}`).sort(),
      columnOrder: groupOrder(cols.map((r) => [r.table_name, r.column_name])),
    };
  } finally {
    await c.end();
  }
}

/**
 * SQLite: the same facts from pragma_table_info (declared type, NOT NULL, default, primary key),
 * sqlite_master (indexes with their SQL; automatic ones have none) and pragma_foreign_key_list.
 */
export async function dumpSqlite(file) {
  const Database = (await import("better-sqlite3")).default;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).all().map((r) => r.name);
    const cols = [];
    const fks = [];
    for (const t of tables) {
      for (const r of db.prepare(`select * from pragma_table_info(?) order by cid`).all(t)) {
        cols.push({ table: t, ...r });
      }
      for (const r of db.prepare(`select * from pragma_foreign_key_list(?)`).all(t)) {
        fks.push(`${t}: (${r.from}) references ${r.table}(${r.to}) on update ${r.on_update} on delete ${r.on_delete}`);
      }
    }
    const idx = db.prepare(`select name, tbl_name, sql from sqlite_master where type = 'index' order by tbl_name, name`).all();
    const uniqueCols = [];
    for (const i of idx) {
      const info = db.prepare(`select * from pragma_index_list(?) where name = ?`).get(i.tbl_name, i.name);
      const on = db.prepare(`select name from pragma_index_info(?) order by seqno`).all(i.name).map((r) => r.name);
      uniqueCols.push(`${i.tbl_name}: ${i.name}: ${info?.unique ? "unique " : ""}(${on.join(", ")}) origin=${info?.origin} sql=${i.sql ?? "none"}`);
    }
    return {
      tables,
      columns: cols
        .map((r) => `${r.table}.${r.name} ${r.type} ${r.notnull ? "not null" : "null"} default=${r.dflt_value ?? "none"} pk=${r.pk}`)
        .sort(),
      indexes: uniqueCols.sort(),
      constraints: fks.sort(),
      columnOrder: groupOrder(cols.map((r) => [r.table, r.name])),
    };
  } finally {
    db.close();
  }
}

export function dump(databaseUrl) {
  return databaseUrl.startsWith("sqlite://") ? dumpSqlite(databaseUrl.slice("sqlite://".length)) : dumpPostgres(databaseUrl);
}

function groupOrder(pairs) {
  const out = {};
  for (const [t, c] of pairs) (out[t] ??= []).push(c);
  return out;
}

/** Tables whose columns come in a different order in `a` and `b` (same columns assumed). */
export function orderDifferences(a, b) {
  return Object.keys(a.columnOrder)
    .filter((t) => b.columnOrder[t] && a.columnOrder[t].join(",") !== b.columnOrder[t].join(","))
    .map((t) => ({ table: t, a: a.columnOrder[t], b: b.columnOrder[t] }));
}

/** Runs SQL statements on a PostgreSQL URL or sqlite:// file; resolves to the last statement's rows. */
export async function query(databaseUrl, ...statements) {
  let rows = [];
  if (databaseUrl.startsWith("sqlite://")) {
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(databaseUrl.slice("sqlite://".length), { fileMustExist: true });
    try {
      for (const s of statements) {
        const st = db.prepare(s);
        rows = st.reader ? st.all() : (st.run(), []);
      }
    } finally {
      db.close();
    }
    return rows;
  }
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    for (const s of statements) rows = (await c.query(s)).rows;
  } finally {
    await c.end();
  }
  return rows;
}
