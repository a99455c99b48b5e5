//! The command line. Doc comments here are the `--help` text.

mod admin;
mod schema;
mod session;
mod user;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod doctor;
mod healthcheck;
mod init;

use crate::config::{Config, Overrides};

const ENVIRONMENT: &str = "\
Configuration layers, later wins: defaults, authkeep.toml (or --config), better-auth's
variables, AUTHKEEP_* variables, flags.

better-auth's variables (an existing deployment's environment keeps working):
  BETTER_AUTH_SECRET, AUTH_SECRET  cookie/token secret, shared with a better-auth server (>= 32 chars)
  BETTER_AUTH_URL                  public URL of this server, e.g. https://auth.example.com
  DATABASE_URL                     postgres://… or sqlite://FILE (default sqlite://authkeep.sqlite)
  BETTER_AUTH_TRUSTED_ORIGINS      comma-separated frontend origins (wildcards allowed)

authkeep's variables (override the above):
  AUTHKEEP_<KEY>                   a top-level key: AUTHKEEP_ENV (development | production),
                                   AUTHKEEP_SECRET, AUTHKEEP_LISTEN, AUTHKEEP_BASE_URL,
                                   AUTHKEEP_DATABASE_URL, AUTHKEEP_TRUSTED_ORIGINS, ...
  AUTHKEEP_<SECTION>__<KEY>        a key in a section, e.g. AUTHKEEP_SESSION__EXPIRES_IN=3600
  AUTHKEEP_CONFIG                  configuration file (same as --config)
  RUST_LOG                         log filter, e.g. info or authkeep=debug (wins over log.level)

Every key: authkeep.example.toml and docs/configuration.md in the authkeep repository.";

#[derive(Debug, Parser)]
#[command(
    name = "authkeep",
    version,
    about = "A better-auth-compatible authentication server",
    after_help = ENVIRONMENT
)]
pub struct Cli {
    /// Configuration file (default: ./authkeep.toml when it exists).
    #[arg(long, global = true, env = "AUTHKEEP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve better-auth's API (migrating the database first unless configured not to).
    #[command(after_help = ENVIRONMENT)]
    Serve {
        /// Address to listen on (default 127.0.0.1:3000).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// postgres://… or sqlite://FILE (default sqlite://authkeep.sqlite).
        #[arg(long)]
        database_url: Option<String>,
        /// The public URL of this server, e.g. https://auth.example.com.
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Create missing tables and columns, as better-auth's migrator does (an existing
    /// better-auth database is adopted without changing its data).
    Migrate {
        /// postgres://… or sqlite://FILE (default: the configuration's database_url).
        #[arg(long)]
        database_url: Option<String>,
        /// Show what is missing (with the SQL) instead of creating it.
        #[arg(long)]
        status: bool,
    },
    /// Print a new random secret for BETTER_AUTH_SECRET.
    GenerateSecret,
    /// Check the configuration, database, cookies and mail server (or, with --url, a deployed
    /// server) and say how to fix what is wrong. Exit 1 when anything is an error.
    Doctor(doctor::Args),
    /// Write a deployment kit: authkeep.toml (secrets in .env), docker-compose.yml, nginx.conf,
    /// a FastAPI auth module and a systemd unit.
    Init(init::Args),
    /// Exit 0 when a server answers /ready (for container health checks).
    Healthcheck(healthcheck::Args),
    /// Print the configured tables as SQL, SQLAlchemy models or a Prisma schema.
    Schema {
        #[arg(long, value_enum)]
        format: schema::SchemaFormat,
        /// Default: the configured database's (SQLAlchemy: postgresql).
        #[arg(long, value_enum)]
        dialect: Option<schema::Dialect>,
        /// Only its scheme is read, for the default dialect.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Manage users: create, list, show, delete, set-password, verify-email (the server may
    /// be running or stopped).
    User {
        /// postgres://… or sqlite://FILE (default: the configuration's database_url).
        #[arg(long, global = true)]
        database_url: Option<String>,
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// List and revoke a user's sessions (the server may be running or stopped).
    Session {
        /// postgres://… or sqlite://FILE (default: the configuration's database_url).
        #[arg(long, global = true)]
        database_url: Option<String>,
        #[command(subcommand)]
        command: session::SessionCommand,
    },
}

/// Text for a terminal: values read from a database or a server (a user's name or image URL,
/// a user agent, a constraint name) cannot move the cursor, rewrite lines or reach the
/// clipboard through escape sequences.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::Serve {
            listen,
            database_url,
            base_url,
        } => Overrides {
            listen: *listen,
            database_url: database_url.clone(),
            base_url: base_url.clone(),
        },
        Command::Migrate { database_url, .. }
        | Command::Schema { database_url, .. }
        | Command::User { database_url, .. }
        | Command::Session { database_url, .. } => Overrides {
            database_url: database_url.clone(),
            ..Default::default()
        },
        Command::GenerateSecret => {
            println!("{}", crate::secret::generate());
            return ExitCode::SUCCESS;
        }
        // Reports a configuration that does not load as a finding, so it loads it itself.
        Command::Doctor(args) => return doctor::run(cli.config.as_deref(), args),
        Command::Init(args) => return init::run(args),
        Command::Healthcheck(args) => return healthcheck::run(args),
    };
    let cfg = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&cfg);
    for warning in &cfg.warnings {
        tracing::warn!("{warning}");
    }
    let command = match cli.command {
        Command::Schema {
            format, dialect, ..
        } => return schema::run(&cfg, format, dialect),
        Command::User { command, .. } => return user::run(&cfg, command),
        Command::Session { command, .. } => return session::run(&cfg, command),
        other => other,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve { .. } => {
                let listener = tokio::net::TcpListener::bind(cfg.listen)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
                crate::serve::run(cfg, listener, crate::serve::shutdown_signal()).await
            }
            Command::Migrate { status, .. } => migrate(&cfg, status).await,
            Command::GenerateSecret
            | Command::Doctor(_)
            | Command::Init(_)
            | Command::Healthcheck(_)
            | Command::Schema { .. }
            | Command::User { .. }
            | Command::Session { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Once, through the log (JSON in production, so collectors see it too).
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `migrate`: bring the database to the configured schema, or (`--status`) say what that
/// would take, with the exact SQL.
async fn migrate(cfg: &Config, status_only: bool) -> anyhow::Result<()> {
    let plan = if status_only {
        crate::serve::plan_migration(cfg).await?
    } else {
        crate::serve::migrate(cfg).await?
    };
    let verb = if status_only { "pending" } else { "applied" };
    if plan.changes.is_empty() {
        println!("up to date: every table and column is there");
    }
    for change in &plan.changes {
        println!("{verb}: {change}");
    }
    if status_only {
        for statement in plan.sql() {
            println!("    {statement};");
        }
    }
    for warning in &plan.warnings {
        println!("warning: {warning}");
    }
    for problem in &plan.problems {
        println!("problem: {problem}");
    }
    if plan.problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("the database does not fit the configured schema (see the problems above)")
    }
}
