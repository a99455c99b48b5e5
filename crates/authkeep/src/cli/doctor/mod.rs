//! `authkeep doctor`: checks a configuration and what it points at (or, with `--url`, a
//! deployed server from outside) and says, for each finding, what is wrong and the fix.
//!
//! Checks are plain functions that return [`Finding`]s; this module runs them and prints the
//! result as text or JSON. The exit code is 1 when any finding is an error, else 0.

mod cookies;
mod local;
mod remote;
mod site;

use std::process::ExitCode;

use serde::Serialize;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Level {
    Error,
    Warning,
    Info,
    Ok,
}

impl Level {
    fn label(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Ok => "ok",
        }
    }
}

/// One result: what was checked, what was found, and how to fix it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Finding {
    pub(super) level: Level,
    /// The area: `config`, `secret`, `urls`, `cookies`, `database`, `email`, `remote`.
    pub(super) check: &'static str,
    /// What is being talked about (`session.ipAddress`, an origin, a URL), when one thing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) subject: Option<String>,
    pub(super) message: String,
    /// The exact change to make: SQL, a configuration key, a command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) fix: Option<String>,
}

impl Finding {
    pub(super) fn new(level: Level, check: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            level,
            check,
            subject: None,
            message: message.into(),
            fix: None,
        }
    }

    pub(super) fn ok(check: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Level::Ok, check, message)
    }

    pub(super) fn error(check: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Level::Error, check, message)
    }

    pub(super) fn warning(check: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Level::Warning, check, message)
    }

    pub(super) fn info(check: &'static str, message: impl Into<String>) -> Finding {
        Finding::new(Level::Info, check, message)
    }

    pub(super) fn about(mut self, subject: impl Into<String>) -> Finding {
        self.subject = Some(subject.into());
        self
    }

    pub(super) fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Format {
    Text,
    Json,
}

/// What to check.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct Args {
    /// postgres://… or sqlite://FILE (default: the configuration's database_url).
    #[arg(long)]
    pub(super) database_url: Option<String>,
    /// Check a deployed server from outside instead (e.g. https://auth.example.com).
    #[arg(long)]
    pub(super) url: Option<String>,
    /// A frontend origin to check cookies and CORS for (repeatable; default: the configured
    /// trusted_origins).
    #[arg(long = "origin", value_name = "ORIGIN")]
    pub(super) origins: Vec<String>,
    /// With --url: a test account to sign in with, to inspect the real session cookie (signed
    /// out again afterwards).
    #[arg(long, requires = "url", requires = "password_stdin")]
    pub(super) email: Option<String>,
    /// Read the test account's password from the first line of stdin.
    #[arg(long, requires = "email")]
    pub(super) password_stdin: bool,
    /// Skip the SMTP connection test.
    #[arg(long)]
    pub(super) skip_smtp: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub(super) format: Format,
}

/// Runs the checks, prints them, and returns the exit code.
pub(super) fn run(config: Option<&std::path::Path>, args: &Args) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let account = match (&args.email, args.password_stdin) {
        (Some(email), true) => match super::admin::stdin_password() {
            Ok(password) => Some(remote::Account {
                email: email.clone(),
                password,
            }),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let findings = runtime.block_on(async {
        match &args.url {
            Some(url) => remote::check(url, &args.origins, account.as_ref()).await,
            None => local::check(config, args).await,
        }
    });
    print(&findings, args.format);
    if findings.iter().any(|f| f.level == Level::Error) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn print(findings: &[Finding], format: Format) {
    use std::io::Write;
    // Written at once and errors ignored: `doctor | head` must not panic on a closed pipe.
    let _ = std::io::stdout()
        .lock()
        .write_all(render(findings, format).as_bytes());
}

fn render(findings: &[Finding], format: Format) -> String {
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    let (errors, warnings) = (count(Level::Error), count(Level::Warning));
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "healthy": errors == 0,
                "errors": errors,
                "warnings": warnings,
                "findings": findings,
            });
            format!("{doc:#}\n")
        }
        Format::Text => {
            let mut out = String::new();
            for f in findings {
                // Schema findings name their column first already.
                let subject = f
                    .subject
                    .as_deref()
                    .filter(|s| !f.message.starts_with(s))
                    .map(|s| format!("{s}: "))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{:<7} {:<8} {}{}\n",
                    f.level.label(),
                    f.check,
                    super::printable(&subject),
                    super::printable(&f.message)
                ));
                if let Some(fix) = &f.fix {
                    for (i, line) in fix.lines().enumerate() {
                        let lead = if i == 0 { "fix:" } else { "" };
                        out.push_str(&format!("{:17}{lead:<5}{}\n", "", super::printable(line)));
                    }
                }
            }
            out.push_str(&format!(
                "\n{}: {errors} error(s), {warnings} warning(s)\n",
                if errors == 0 { "healthy" } else { "unhealthy" }
            ));
            out
        }
    }
}
