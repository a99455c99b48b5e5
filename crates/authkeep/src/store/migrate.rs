//! Bringing a database up to the configured schema the way better-auth's own migrator does:
//! create the tables that are missing (with better-auth's exact DDL), add the columns that are
//! missing, and leave everything else alone. Extra columns, extra indexes, column order and
//! constraints are not touched, so a database better-auth created (or a team's own mapped
//! one) is adopted as it is, and better-auth's migrator finds nothing to change afterwards.
//!
//! What cannot be fixed safely is reported instead: a required column that has no value to
//! backfill existing rows with, or a NOT NULL column authkeep would never write (every insert
//! would fail). Type mismatches are warnings, as in better-auth.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::diagnose::{Verdict, verdict};
use super::schema::{
    ConstDefault, Field, FieldType, Ident, Model, Schema, Table, index_name, sql_type,
};
use super::{Backend, StoreError};

/// A column as the database has it.
#[derive(Debug, Clone)]
pub(super) struct ExistingColumn {
    pub name: String,
    /// PostgreSQL's `udt_name` (`text`, `timestamptz`, `int4`) or SQLite's declared type.
    pub data_type: String,
    pub nullable: bool,
    pub has_default: bool,
}

/// A foreign key as the database has it (PostgreSQL only; read for `doctor`'s fixes).
#[derive(Debug, Clone)]
pub(super) struct ExistingForeignKey {
    pub name: String,
    pub table: String,
    pub references: String,
    /// `FOREIGN KEY (…) REFERENCES …`, as `pg_get_constraintdef` prints it.
    pub definition: String,
}

/// What the database has: tables with their columns, and index names.
#[derive(Debug, Clone, Default)]
pub(super) struct Existing {
    pub tables: BTreeMap<String, Vec<ExistingColumn>>,
    pub indexes: BTreeSet<String>,
    /// (table, column) of each index's first column, and whether any such index is unique:
    /// what a lookup by that column can use, whatever the index is called.
    pub indexed: BTreeMap<(String, String), bool>,
    pub foreign_keys: Vec<ExistingForeignKey>,
    /// Tables that hold at least one row (only asked of tables that need a new column).
    pub populated: BTreeSet<String>,
}

/// One change the migration makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What it does, for `migrate --status` and the log.
    pub description: String,
    pub(super) statements: Vec<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// The difference between the configured schema and the database.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// Worth knowing, not blocking (a column of an unexpected type, a nullable required column).
    pub warnings: Vec<String>,
    /// Blocking: applying or serving would fail.
    pub problems: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.problems.is_empty()
    }

    /// Every statement, in order, as the migration would run them.
    pub fn sql(&self) -> Vec<&str> {
        self.changes
            .iter()
            .flat_map(|c| c.statements.iter().map(String::as_str))
            .collect()
    }
}

/// A column to create: one of better-auth's fields or an additional one.
pub(super) struct ColumnSpec<'a> {
    /// The logical field name (`emailVerified`, an additional field's name).
    pub(super) name: &'a str,
    pub(super) column: &'a Ident,
    pub(super) ty: FieldType,
    pub(super) required: bool,
    pub(super) unique: bool,
    pub(super) index: bool,
    pub(super) references_user: bool,
    pub(super) default_now: bool,
    pub(super) bigint: bool,
    /// A constant default, as SQL, used only when the column is added to an existing table.
    pub(super) constant_default: Option<String>,
}

/// Every column of `table` but `id`, in better-auth's order (additional user fields last).
pub(super) fn columns_of<'a>(
    schema: &'a Schema,
    table: &'a Table,
    backend: Backend,
) -> Vec<ColumnSpec<'a>> {
    let core = table.fields().map(|f: &Field| ColumnSpec {
        name: f.name,
        column: table.col(f.name),
        ty: f.ty,
        required: f.required,
        unique: f.unique,
        index: f.index,
        references_user: f.references_user,
        default_now: f.default_now,
        bigint: f.bigint,
        constant_default: match f.default_const {
            Some(ConstDefault::True) => Some(sql_bool(true, backend)),
            Some(ConstDefault::Zero) => Some("0".to_owned()),
            None => f.default_false.then(|| sql_bool(false, backend)),
        },
    });
    let mut out: Vec<ColumnSpec<'a>> = core.collect();
    if table.model == Model::User {
        out.extend(schema.additional().map(|(field, column)| {
            ColumnSpec {
                name: field.name.as_str(),
                column,
                ty: field.ty,
                required: field.required,
                unique: false,
                index: false,
                references_user: false,
                default_now: false,
                bigint: false,
                constant_default: field
                    .default
                    .as_ref()
                    .and_then(|d| sql_literal(d, field.ty, backend)),
            }
        }));
    }
    out
}

fn sql_bool(b: bool, backend: Backend) -> String {
    match (backend, b) {
        (Backend::Postgres, true) => "true".into(),
        (Backend::Postgres, false) => "false".into(),
        (Backend::Sqlite, true) => "1".into(),
        (Backend::Sqlite, false) => "0".into(),
    }
}

/// A constant default as better-auth's migrator writes it on `add column`: strings, numbers
/// and booleans only.
fn sql_literal(v: &serde_json::Value, ty: FieldType, backend: Backend) -> Option<String> {
    use serde_json::Value;
    match (ty, v) {
        (FieldType::String, Value::String(s)) => Some(format!("'{}'", s.replace('\'', "''"))),
        (FieldType::Number, Value::Number(n)) => n.as_i64().map(|n| n.to_string()),
        (FieldType::Boolean, Value::Bool(b)) => Some(sql_bool(*b, backend)),
        _ => None,
    }
}

/// `"c" type [default …] [not null] [unique] [references …]`, better-auth's order.
fn column_definition(
    c: &ColumnSpec<'_>,
    user_table: &Ident,
    backend: Backend,
    default: Option<&str>,
) -> String {
    let postgres = backend == Backend::Postgres;
    let ty = if c.bigint {
        "bigint"
    } else {
        sql_type(c.ty, postgres)
    };
    let mut def = format!("{} {ty}", c.column);
    if let Some(d) = default {
        def.push_str(&format!(" default {d}"));
    }
    if c.required {
        def.push_str(" not null");
    }
    if c.unique {
        def.push_str(" unique");
    }
    if c.references_user {
        def.push_str(&format!(
            " references {user_table} (\"id\") on delete cascade"
        ));
    }
    def
}

/// The `create table` statement better-auth's migrator writes for `table`, then its indexes.
pub fn create_table(schema: &Schema, table: &Table, backend: Backend) -> Vec<String> {
    let user = &schema.user().name;
    let now = (backend == Backend::Postgres).then_some("CURRENT_TIMESTAMP");
    let columns = columns_of(schema, table, backend);
    let mut defs = vec![format!("{} text not null primary key", table.col("id"))];
    defs.extend(
        columns
            .iter()
            .map(|c| column_definition(c, user, backend, now.filter(|_| c.default_now))),
    );
    let mut out = vec![format!("create table {} ({})", table.name, defs.join(", "))];
    out.extend(
        columns
            .iter()
            .filter(|c| c.index && !c.unique)
            .map(|c| create_index(&table.name, c.column, false)),
    );
    out
}

fn create_index(table: &Ident, column: &Ident, unique: bool) -> String {
    let kind = if unique {
        "create unique index"
    } else {
        "create index"
    };
    format!(
        "{kind} \"{}\" on {table} ({column})",
        index_name(table, column, unique)
    )
}

/// What to do to bring `existing` to `schema`.
pub(super) fn plan(schema: &Schema, existing: &Existing, backend: Backend) -> Plan {
    let mut plan = Plan::default();
    let user = &schema.user().name;
    for model in schema.models() {
        let table = schema.table(model);
        let Some(columns) = existing.tables.get(table.name.as_str()) else {
            plan.changes.push(Change {
                description: format!("create table {} ({})", table.name, model.name()),
                statements: create_table(schema, table, backend),
            });
            continue;
        };
        let by_name: BTreeMap<&str, &ExistingColumn> =
            columns.iter().map(|c| (c.name.as_str(), c)).collect();
        let specs = columns_of(schema, table, backend);
        for spec in &specs {
            let Some(found) = by_name.get(spec.column.as_str()) else {
                add_column(&mut plan, table, spec, user, existing, backend);
                continue;
            };
            // A type authkeep cannot use is worth a warning at every start; the merely odd
            // ones on PostgreSQL (`timestamp`, `varchar`'s cousins) are `doctor`'s business,
            // while on SQLite any other declared type is reported, as better-auth does.
            let v = verdict(spec.ty, &found.data_type, backend);
            if v == Verdict::Breaks || (backend == Backend::Sqlite && v == Verdict::Odd) {
                plan.warnings.push(format!(
                    "{}.{} is {}; better-auth declares it {} ({})",
                    table.name.as_str(),
                    spec.column.as_str(),
                    found.data_type,
                    spec.ty.name(),
                    sql_type(spec.ty, backend == Backend::Postgres),
                ));
            }
            if spec.required && found.nullable {
                plan.warnings.push(format!(
                    "{}.{} is nullable, but the field is required",
                    table.name.as_str(),
                    spec.column.as_str()
                ));
            }
        }
        let written: BTreeSet<&str> = specs
            .iter()
            .map(|s| s.column.as_str())
            .chain(["id"])
            .collect();
        for c in columns {
            if !written.contains(c.name.as_str()) && !c.nullable && !c.has_default {
                plan.problems.push(format!(
                    "{}.{} is NOT NULL without a default, and authkeep never writes it, so every insert into {} would fail. \
                     Make it nullable, give it a database default, or declare it (for users: [user.additional_fields.{}] with a default_value).",
                    table.name.as_str(),
                    c.name,
                    table.name.as_str(),
                    c.name
                ));
            }
        }
    }
    plan
}

fn add_column(
    plan: &mut Plan,
    table: &Table,
    spec: &ColumnSpec<'_>,
    user: &Ident,
    existing: &Existing,
    backend: Backend,
) {
    let default = match (&spec.constant_default, spec.default_now, backend) {
        (Some(d), _, _) => Some(d.clone()),
        (None, true, Backend::Postgres) => Some("CURRENT_TIMESTAMP".to_owned()),
        _ => None,
    };
    if spec.required && default.is_none() && existing.populated.contains(table.name.as_str()) {
        plan.problems.push(format!(
            "cannot add the required column {}.{} to a table that has rows: there is no value to give the existing rows. \
             Add it yourself with a default, or make the field optional.",
            table.name.as_str(),
            spec.column.as_str()
        ));
        return;
    }
    let mut statements = vec![format!(
        "alter table {} add column {}",
        table.name,
        column_definition(spec, user, backend, default.as_deref())
    )];
    if spec.index || spec.unique {
        statements.push(create_index(&table.name, spec.column, spec.unique));
    }
    plan.changes.push(Change {
        description: format!(
            "add column {}.{}",
            table.name.as_str(),
            spec.column.as_str()
        ),
        statements,
    });
}

/// A migration that cannot run, with everything wrong in it.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the database does not fit the configured schema:\n  - {}", .0.join("\n  - "))]
    Problems(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::{Casing, Naming};

    fn names(tables: &[(&str, &[&str])]) -> Existing {
        let col = |n: &str| ExistingColumn {
            name: n.into(),
            data_type: "text".into(),
            nullable: true,
            has_default: false,
        };
        Existing {
            tables: tables
                .iter()
                .map(|(t, cs)| ((*t).to_owned(), cs.iter().map(|c| col(c)).collect()))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_default_ddl_is_better_auths() {
        let s = Schema::default_names();
        let pg = create_table(&s, s.session(), Backend::Postgres);
        assert_eq!(
            pg,
            vec![
                r#"create table "session" ("id" text not null primary key, "expiresAt" timestamptz not null, "token" text not null unique, "createdAt" timestamptz default CURRENT_TIMESTAMP not null, "updatedAt" timestamptz not null, "ipAddress" text, "userAgent" text, "userId" text not null references "user" ("id") on delete cascade)"#,
                r#"create index "session_userId_idx" on "session" ("userId")"#,
            ]
        );
        let sqlite = create_table(&s, s.user(), Backend::Sqlite);
        assert_eq!(
            sqlite[0],
            r#"create table "user" ("id" text not null primary key, "name" text not null, "email" text not null unique, "emailVerified" integer not null, "image" text, "createdAt" date not null, "updatedAt" date not null)"#
        );
    }

    #[test]
    fn the_two_factor_ddl_is_better_auths() {
        let n = Naming {
            two_factor_table: true,
            additional_user_fields: vec![crate::store::schema::AdditionalFieldSpec {
                name: "twoFactorEnabled".into(),
                column: None,
                ty: FieldType::Boolean,
                required: false,
                default: Some(serde_json::json!(false)),
                input: false,
                returned: true,
            }],
            ..Default::default()
        };
        let s = Schema::resolve(&n).unwrap();
        assert_eq!(
            create_table(&s, s.two_factor(), Backend::Postgres),
            vec![
                r#"create table "twoFactor" ("id" text not null primary key, "secret" text not null, "backupCodes" text not null, "userId" text not null references "user" ("id") on delete cascade, "verified" boolean, "failedVerificationCount" integer, "lockedUntil" timestamptz)"#,
                r#"create index "twoFactor_secret_idx" on "twoFactor" ("secret")"#,
                r#"create index "twoFactor_userId_idx" on "twoFactor" ("userId")"#,
            ]
        );
        // An existing database: the user column is added with its default, the table created,
        // and a twoFactor table from before the lockout columns gets them with theirs.
        let mut existing = names(&[
            (
                "user",
                &[
                    "id",
                    "name",
                    "email",
                    "emailVerified",
                    "image",
                    "createdAt",
                    "updatedAt",
                ],
            ),
            (
                "twoFactor",
                &["id", "secret", "backupCodes", "userId", "verified"],
            ),
        ]);
        existing.populated.insert("user".into());
        let p = plan(&s, &existing, Backend::Sqlite);
        for want in [
            r#"alter table "user" add column "twoFactorEnabled" integer default 0"#,
            r#"alter table "twoFactor" add column "failedVerificationCount" integer default 0"#,
            r#"alter table "twoFactor" add column "lockedUntil" date"#,
        ] {
            assert!(p.sql().contains(&want), "{want}\n{:?}", p.sql());
        }
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        let off = Schema::default_names();
        assert!(!off.models().contains(&Model::TwoFactor));
    }

    #[test]
    fn an_empty_database_gets_every_table_and_a_complete_one_nothing() {
        let s = Schema::default_names();
        let p = plan(&s, &Existing::default(), Backend::Postgres);
        assert_eq!(p.changes.len(), 5);
        let mut complete = Existing::default();
        for m in Model::ALL {
            let t = s.table(m);
            let mut cols = vec![ExistingColumn {
                name: "id".into(),
                data_type: "text".into(),
                nullable: false,
                has_default: false,
            }];
            cols.extend(m.fields().iter().map(|f| ExistingColumn {
                name: t.col(f.name).as_str().into(),
                data_type: sql_type(f.ty, true).replace("boolean", "bool"),
                nullable: !f.required,
                has_default: false,
            }));
            complete.tables.insert(t.name.as_str().into(), cols);
        }
        let p = plan(&s, &complete, Backend::Postgres);
        assert!(p.is_empty(), "{p:?}");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn missing_columns_are_added_and_unsafe_ones_refused() {
        let mut n = Naming {
            casing: Casing::Camel,
            ..Default::default()
        };
        n.additional_user_fields
            .push(crate::store::schema::AdditionalFieldSpec {
                name: "status".into(),
                column: None,
                ty: FieldType::String,
                required: false,
                default: Some(serde_json::json!("active")),
                input: false,
                returned: true,
            });
        let s = Schema::resolve(&n).unwrap();
        let existing = names(&[(
            "user",
            &[
                "id",
                "name",
                "email",
                "emailVerified",
                "image",
                "createdAt",
                "updatedAt",
            ],
        )]);
        let p = plan(&s, &existing, Backend::Postgres);
        assert!(
            p.sql()
                .contains(&r#"alter table "user" add column "status" text default 'active'"#),
            "{:?}",
            p.sql()
        );
        let mut existing = names(&[(
            "user",
            &["id", "name", "email", "image", "createdAt", "updatedAt"],
        )]);
        existing.populated.insert("user".into());
        let p = plan(&s, &existing, Backend::Sqlite);
        assert!(
            p.sql().contains(
                &r#"alter table "user" add column "emailVerified" integer default 0 not null"#
            ),
            "{:?}",
            p.sql()
        );
        let mut existing = names(&[(
            "user",
            &[
                "id",
                "email",
                "emailVerified",
                "image",
                "createdAt",
                "updatedAt",
            ],
        )]);
        existing.populated.insert("user".into());
        let p = plan(&s, &existing, Backend::Postgres);
        assert!(
            p.problems.iter().any(|m| m.contains("user.name")),
            "{:?}",
            p.problems
        );
    }

    #[test]
    fn columns_authkeep_never_writes_must_not_block_inserts() {
        let s = Schema::default_names();
        let mut existing = names(&[(
            "account",
            &[
                "id",
                "accountId",
                "providerId",
                "userId",
                "createdAt",
                "updatedAt",
            ],
        )]);
        existing
            .tables
            .get_mut("account")
            .unwrap()
            .push(ExistingColumn {
                name: "issuer".into(),
                data_type: "text".into(),
                nullable: false,
                has_default: false,
            });
        let p = plan(&s, &existing, Backend::Postgres);
        assert!(
            p.problems
                .iter()
                .any(|m| m.starts_with("account.issuer is NOT NULL")),
            "{:?}",
            p.problems
        );
    }

    #[test]
    fn odd_types_are_warnings() {
        let s = Schema::default_names();
        let mut existing = names(&[(
            "session",
            &[
                "id",
                "expiresAt",
                "token",
                "createdAt",
                "updatedAt",
                "userAgent",
                "userId",
            ],
        )]);
        existing
            .tables
            .get_mut("session")
            .unwrap()
            .push(ExistingColumn {
                name: "ipAddress".into(),
                data_type: "inet".into(),
                nullable: true,
                has_default: false,
            });
        let p = plan(&s, &existing, Backend::Postgres);
        assert!(
            p.warnings
                .iter()
                .any(|w| w.starts_with("session.ipAddress is inet")),
            "{:?}",
            p.warnings
        );
    }
}
