//! `authkeep schema`: the configured tables written out as SQL, SQLAlchemy models or a Prisma
//! schema, so another codebase's migrations describe exactly what `authkeep migrate` creates.

use std::process::ExitCode;

use clap::ValueEnum;

use crate::config::Config;
use crate::store::Backend;
use crate::store::export::{Format, export};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum SchemaFormat {
    /// The DDL `authkeep migrate` runs on an empty database.
    Sql,
    /// SQLAlchemy 2 declarative models (PostgreSQL), for an Alembic env.py.
    Sqlalchemy,
    /// A schema.prisma with @@map/@map to the real names.
    Prisma,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Dialect {
    Postgresql,
    Sqlite,
}

/// Prints the schema; the dialect defaults to the configured database's (SQLAlchemy models
/// are always PostgreSQL's).
pub(super) fn run(cfg: &Config, format: SchemaFormat, dialect: Option<Dialect>) -> ExitCode {
    let schema = match crate::serve::schema(cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let format = match format {
        SchemaFormat::Sql => Format::Sql,
        SchemaFormat::Sqlalchemy => Format::SqlAlchemy,
        SchemaFormat::Prisma => Format::Prisma,
    };
    let backend = match (dialect, format) {
        (Some(Dialect::Postgresql), _) | (None, Format::SqlAlchemy) => Backend::Postgres,
        (Some(Dialect::Sqlite), _) => Backend::Sqlite,
        (None, _) => Backend::of_url(&cfg.database_url).unwrap_or(Backend::Postgres),
    };
    match export(&schema, format, backend) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
