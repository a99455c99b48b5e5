//! What `authkeep user …` and `authkeep session …` share: opening the store as the server
//! does, reading a password without echoing it anywhere, and turning a failure into a message
//! and an exit code an operator (or a script) can act on.
//!
//! Exit codes: 0 done; 1 refused (unknown user or session, a taken email, a password the
//! configured rules refuse, `--yes` missing); 2 bad usage or configuration; 3 the database or
//! Redis failed (unreachable, or the tables are missing).

use std::io::BufRead;
use std::process::ExitCode;

use clap::Args;

use crate::auth::admin::{self as ops, Admin, UserRef};
use crate::auth::{AuthError, ErrorCode};
use crate::config::{Config, redact_url};
use crate::model::{Email, User};
use crate::report::Report;
use crate::serve::AdminServices;
use crate::store::StoreError;

/// A failed operator command: what to print and how to exit.
#[derive(Debug)]
pub(super) enum Failure {
    Refused(String),
    Usage(String),
    Storage(String),
}

impl Failure {
    pub(super) fn exit(self) -> ExitCode {
        let (message, code) = match self {
            Failure::Refused(m) => (m, 1),
            Failure::Usage(m) => (m, 2),
            Failure::Storage(m) => (m, 3),
        };
        eprintln!("error: {message}");
        ExitCode::from(code)
    }
}

pub(super) type Outcome = Result<(), Failure>;

/// Runs one operator command over the configured store, closing it afterwards.
pub(super) fn run(cfg: &Config, work: impl AsyncFnOnce(Admin<'_>, &Config) -> Outcome) -> ExitCode {
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
    let outcome = runtime.block_on(async {
        let services: AdminServices = crate::serve::admin_services(cfg)
            .await
            .map_err(|e| Failure::Usage(format!("{e:#}")))?;
        let admin = Admin {
            store: &services.store,
            hasher: &services.hasher,
            policy: &services.policy,
        };
        let outcome = work(admin, cfg).await;
        services.store.close().await;
        outcome
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => f.exit(),
    }
}

/// An auth failure in an operator's words.
pub(super) fn failure(e: AuthError, admin: Admin<'_>, cfg: &Config) -> Failure {
    let rules = &admin.policy.password;
    match e {
        AuthError::Rule(ErrorCode::PasswordTooShort) => Failure::Refused(format!(
            "{} ({}): the configured minimum is {} characters (email_and_password.min_password_length)",
            ErrorCode::PasswordTooShort.message(),
            ErrorCode::PasswordTooShort.as_str(),
            rules.min_length
        )),
        AuthError::Rule(ErrorCode::PasswordTooLong) => Failure::Refused(format!(
            "{} ({}): the configured maximum is {} characters (email_and_password.max_password_length)",
            ErrorCode::PasswordTooLong.message(),
            ErrorCode::PasswordTooLong.as_str(),
            rules.max_length
        )),
        AuthError::Rule(code) | AuthError::Coded(code, _) => {
            Failure::Refused(format!("{} ({})", code.message(), code.as_str()))
        }
        AuthError::Store(e) => storage(&e, cfg),
        other => Failure::Refused(Report(&other).to_string()),
    }
}

/// A storage failure, explained; a missing table means the database was never migrated.
fn storage(e: &StoreError, cfg: &Config) -> Failure {
    let text = crate::store::explain(e, &cfg.database_url);
    let missing_table = text.contains("does not exist") && text.contains("relation")
        || text.contains("no such table");
    if missing_table {
        return Failure::Storage(format!(
            "{text}. The database {} has not been migrated: run `authkeep migrate` (or start `authkeep serve` once)",
            redact_url(&cfg.database_url)
        ));
    }
    Failure::Storage(text)
}

/// The user `who` names; an unknown one is a refusal that says whom it looked for.
pub(super) async fn find(a: Admin<'_>, cfg: &Config, who: &UserRef) -> Result<User, Failure> {
    match ops::find_user(a, who).await {
        Ok(u) => Ok(u),
        Err(AuthError::Rule(ErrorCode::UserNotFound)) => Err(Failure::Refused(match who {
            UserRef::Email(e) => format!("no user has the email {e} (USER_NOT_FOUND)"),
            UserRef::Id(id) => format!("no user has the id {id} (USER_NOT_FOUND)"),
        })),
        Err(e) => Err(failure(e, a, cfg)),
    }
}

/// A user is named by email on the command line; the address is checked and lower-cased as
/// sign-up stores it.
pub(super) fn email(raw: &str) -> Result<Email, Failure> {
    Email::parse(raw.trim())
        .map_err(|_| Failure::Usage(format!("{raw:?} is not a valid email address")))
}

/// `--password P` or `--password-stdin`, exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(super) struct PasswordInput {
    /// The password (visible to other local users in the process list and kept in shell
    /// history: prefer --password-stdin).
    #[arg(long)]
    password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
}

impl PasswordInput {
    pub(super) fn read(self) -> Result<String, Failure> {
        if let Some(p) = self.password {
            return Ok(p);
        }
        stdin_password().map_err(Failure::Usage)
    }
}

/// The first line of standard input, without its line ending: `--password-stdin` for every
/// command. A terminal would show what is typed, so stdin must be a pipe or a file.
pub(super) fn stdin_password() -> Result<String, String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        return Err(
            "--password-stdin: standard input is a terminal, which would show the password; pipe it in (printf '%s\\n' \"$PASSWORD\" | authkeep …)".into(),
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if password.is_empty() {
        return Err("--password-stdin: standard input held no password".into());
    }
    Ok(password.to_owned())
}

/// Prints `value` as pretty JSON.
pub(super) fn print_json(value: &impl serde::Serialize) -> Outcome {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Storage(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// `2024-05-06T07:08:09.000Z`, as better-auth prints dates.
pub(super) fn date(d: &chrono::DateTime<chrono::Utc>) -> String {
    crate::model::to_js_iso(d)
}
