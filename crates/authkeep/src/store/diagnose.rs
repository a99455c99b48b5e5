//! What `authkeep doctor` says about a database beyond the migration plan: columns whose type
//! authkeep cannot work with (the classic one: `session.ipAddress` created as `inet` by an
//! Alembic migration), required columns left nullable, and the lookups that have no index, each
//! with the SQL that fixes it.
//!
//! The plan (`migrate.rs`) says what is missing; this module judges what is there. Both read
//! the same [`Existing`] catalog snapshot.

use std::collections::BTreeMap;

use super::Backend;
use super::migrate::{Existing, ExistingColumn};
use super::schema::{FieldType, Ident, Model, Schema, Table, index_name, sql_type};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// authkeep's queries fail (or lose data) against this database as it is.
    Error,
    /// Works, but slower, or subtly different from what better-auth expects.
    Warning,
}

/// One thing wrong with the database, and the statements that put it right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaFinding {
    pub severity: Severity,
    /// `table.column`, or a table.
    pub subject: String,
    pub message: String,
    /// SQL to run, in order (empty when no statement can fix it safely).
    pub fix: Vec<String>,
}

/// Whether a column's declared type suits a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Fits,
    /// Works, with a caveat.
    Odd,
    /// authkeep's reads or writes fail.
    Breaks,
}

/// How a column of `data_type` (PostgreSQL's `udt_name`, SQLite's declared type) serves a
/// field of type `ty`. authkeep binds strings as `text`, dates as `timestamptz` (SQLite: ISO
/// text) and booleans as `bool`; PostgreSQL refuses a `text` parameter for a `uuid` or `inet`
/// column (no implicit cast), which is why those break rather than merely look odd.
pub(super) fn verdict(ty: FieldType, data_type: &str, backend: Backend) -> Verdict {
    let t = data_type.to_ascii_lowercase();
    let t = t.as_str();
    let fits = |ok: bool| if ok { Verdict::Fits } else { Verdict::Breaks };
    match backend {
        Backend::Postgres => match ty {
            FieldType::String => match t {
                "text" | "varchar" => Verdict::Fits,
                // Blank-padded: values come back with trailing spaces.
                "bpchar" => Verdict::Odd,
                _ => Verdict::Breaks,
            },
            FieldType::Number => match t {
                "int4" | "int8" => Verdict::Fits,
                "int2" | "numeric" | "float4" | "float8" => Verdict::Odd,
                _ => Verdict::Breaks,
            },
            FieldType::Boolean => fits(t == "bool"),
            FieldType::Date => match t {
                "timestamptz" => Verdict::Fits,
                // Read and written through the session's time zone: right only while that is UTC.
                "timestamp" => Verdict::Odd,
                // `date` drops the time of day: every session would expire at midnight.
                _ => Verdict::Breaks,
            },
            FieldType::StringArray | FieldType::NumberArray => fits(t.contains("json")),
        },
        // SQLite stores any value in any column; a declared type only sets an affinity.
        Backend::Sqlite => {
            let ok = match ty {
                FieldType::String | FieldType::StringArray | FieldType::NumberArray => {
                    t.is_empty() || t.contains("text") || t.contains("char") || t.contains("clob")
                }
                FieldType::Number => {
                    matches!(t, "integer" | "int" | "real" | "bigint" | "numeric")
                }
                FieldType::Boolean => matches!(t, "integer" | "int" | "boolean"),
                FieldType::Date => matches!(t, "date" | "datetime" | "text" | "timestamp"),
            };
            if ok { Verdict::Fits } else { Verdict::Odd }
        }
    }
}

/// A column the configured schema expects: its logical field, its type and whether it is
/// required, `id` included.
struct Expected<'a> {
    column: &'a Ident,
    ty: FieldType,
    required: bool,
    /// `user.id`, or a column that references it.
    user_key: bool,
    /// Queried by this column: it wants an index (unique when the field is unique).
    lookup: Option<bool>,
}

fn expected<'a>(schema: &'a Schema, table: &'a Table) -> Vec<Expected<'a>> {
    let mut out = vec![Expected {
        column: table.col("id"),
        ty: FieldType::String,
        required: true,
        user_key: table.model == Model::User,
        lookup: None,
    }];
    out.extend(table.fields().map(|f| Expected {
        column: table.col(f.name),
        ty: f.ty,
        required: f.required,
        user_key: f.references_user,
        lookup: (f.index || f.unique).then_some(f.unique),
    }));
    if table.model == Model::User {
        out.extend(schema.additional().map(|(field, column)| Expected {
            column,
            ty: field.ty,
            required: field.required,
            user_key: false,
            lookup: None,
        }));
    }
    out
}

/// Everything wrong with the tables that exist (missing ones are the plan's business).
pub(super) fn findings(
    schema: &Schema,
    existing: &Existing,
    backend: Backend,
) -> Vec<SchemaFinding> {
    let mut out = Vec::new();
    let mut broken_keys: Vec<(&Table, &Ident, &ExistingColumn)> = Vec::new();
    for model in schema.models() {
        let table = schema.table(model);
        let Some(columns) = existing.tables.get(table.name.as_str()) else {
            continue;
        };
        let by_name: BTreeMap<&str, &ExistingColumn> =
            columns.iter().map(|c| (c.name.as_str(), c)).collect();
        for e in expected(schema, table) {
            let Some(found) = by_name.get(e.column.as_str()) else {
                continue;
            };
            let subject = format!("{}.{}", table.name.as_str(), e.column.as_str());
            match verdict(e.ty, &found.data_type, backend) {
                Verdict::Fits => {}
                Verdict::Breaks if e.user_key && backend == Backend::Postgres => {
                    broken_keys.push((table, e.column, found));
                }
                v => out.push(type_finding(subject.clone(), table, &e, found, v, backend)),
            }
            if e.required && found.nullable {
                out.push(SchemaFinding {
                    severity: Severity::Warning,
                    subject: subject.clone(),
                    message: format!(
                        "{subject} is nullable, but better-auth's field is required: a row written by another tool without it breaks reads"
                    ),
                    fix: match backend {
                        Backend::Postgres => vec![format!(
                            "alter table {} alter column {} set not null",
                            table.name, e.column
                        )],
                        // SQLite cannot change a column's constraints in place.
                        Backend::Sqlite => Vec::new(),
                    },
                });
            }
            if let Some(unique) = e.lookup {
                let key = (table.name.as_str().to_owned(), e.column.as_str().to_owned());
                let has = existing.indexed.get(&key);
                if has.is_none() || (unique && has != Some(&true)) {
                    out.push(missing_index(&subject, table, e.column, unique));
                }
            }
        }
    }
    if !broken_keys.is_empty() {
        out.push(user_keys_finding(schema, existing, &broken_keys));
    }
    out.sort_by_key(|f| f.severity);
    out
}

fn type_finding(
    subject: String,
    table: &Table,
    e: &Expected<'_>,
    found: &ExistingColumn,
    v: Verdict,
    backend: Backend,
) -> SchemaFinding {
    let want = sql_type(e.ty, backend == Backend::Postgres);
    let why = match (e.ty, found.data_type.as_str(), v) {
        (FieldType::Date, "timestamp", _) => {
            "timestamps without time zone are read and written in the connection's time zone, so they are right only while that is UTC"
        }
        (FieldType::String, "bpchar", _) => "char(n) pads values with spaces",
        (FieldType::Date, "date", _) => {
            "a date keeps no time of day, so every expiry would fall at midnight"
        }
        (_, _, Verdict::Breaks) => {
            "authkeep sends and reads this value as better-auth's type, and PostgreSQL refuses the conversion, so every query that touches it fails"
        }
        _ => "SQLite accepts any value here, but better-auth declares another type",
    };
    let fix = match backend {
        Backend::Postgres => vec![alter_type(&table.name, e.column, e.ty)],
        Backend::Sqlite => Vec::new(),
    };
    SchemaFinding {
        severity: if v == Verdict::Breaks {
            Severity::Error
        } else {
            Severity::Warning
        },
        message: format!(
            "{subject} is {}; better-auth declares it {want}: {why}",
            found.data_type
        ),
        subject,
        fix,
    }
}

/// `alter … type …` keeping the values: dates without a zone are taken as UTC.
fn alter_type(table: &Ident, column: &Ident, ty: FieldType) -> String {
    let want = if ty == FieldType::Date {
        "timestamptz".to_owned()
    } else {
        sql_type(ty, true).to_owned()
    };
    let using = match ty {
        FieldType::Date => format!("{column}::timestamp at time zone 'UTC'"),
        _ => format!("{column}::{want}"),
    };
    format!("alter table {table} alter column {column} type {want} using {using}")
}

fn missing_index(subject: &str, table: &Table, column: &Ident, unique: bool) -> SchemaFinding {
    let kind = if unique {
        "create unique index"
    } else {
        "create index"
    };
    SchemaFinding {
        // A missing unique index also lets duplicates in (two users with one email).
        severity: if unique {
            Severity::Error
        } else {
            Severity::Warning
        },
        subject: subject.to_owned(),
        message: if unique {
            format!(
                "{subject} has no unique index: lookups scan the table and duplicates are possible"
            )
        } else {
            format!("{subject} has no index: every lookup by it scans the table")
        },
        fix: vec![format!(
            "{kind} \"{}\" on {} ({column})",
            index_name(&table.name, column, unique),
            table.name
        )],
    }
}

/// A name from the catalog as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `user.id` and the columns that reference it (an ORM's `uuid` ids): they change type
/// together, because PostgreSQL will not keep a foreign key between a `text` and a `uuid`.
fn user_keys_finding(
    schema: &Schema,
    existing: &Existing,
    broken: &[(&Table, &Ident, &ExistingColumn)],
) -> SchemaFinding {
    let user = &schema.user().name;
    let keys: Vec<_> = existing
        .foreign_keys
        .iter()
        .filter(|k| k.references == user.as_str())
        .collect();
    // Names read from the catalog are quoted here (they are not checked identifiers), and
    // each key is re-created exactly as it was defined.
    let mut fix = Vec::new();
    for k in &keys {
        fix.push(format!(
            "alter table {} drop constraint {}",
            quoted(&k.table),
            quoted(&k.name)
        ));
    }
    for (table, column, _) in broken {
        fix.push(alter_type(&table.name, column, FieldType::String));
    }
    for k in &keys {
        fix.push(format!(
            "alter table {} add constraint {} {}",
            quoted(&k.table),
            quoted(&k.name),
            k.definition
        ));
    }
    let list: Vec<String> = broken
        .iter()
        .map(|(t, c, found)| format!("{}.{} ({})", t.name.as_str(), c.as_str(), found.data_type))
        .collect();
    SchemaFinding {
        severity: Severity::Error,
        subject: format!("{}.id", user.as_str()),
        message: format!(
            "{}: better-auth's ids are text (its generated ids are not UUIDs), and PostgreSQL refuses text for these columns, so sign-up and every session lookup fail. \
             They change together, in one transaction, because the foreign keys must be dropped and re-created around the change",
            list.join(", ")
        ),
        fix,
    }
}
