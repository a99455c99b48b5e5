//! The checks of a local configuration: the file and environment, the secret, the URLs, the
//! cookies the frontends will get, the database and the mail server.

use std::path::Path;

use super::{Args, Finding};
use crate::config::{Config, Overrides, redact_url};
use crate::http::origin::TrustedOrigins;
use crate::report::Report;
use crate::store::diagnose::Severity;

/// better-auth's documented placeholder and the like: a secret anyone can read in a README.
const KNOWN_SECRETS: &[&str] = &[
    "better-auth-secret-123456789",
    "better-auth-secret-12345678901234567890",
    "changeme",
    "change-me",
    "secret",
    "your-secret-key",
    "your-secret-here",
];

pub(super) async fn check(config: Option<&Path>, args: &Args) -> Vec<Finding> {
    let overrides = Overrides {
        database_url: args.database_url.clone(),
        ..Default::default()
    };
    let cfg = match Config::load(config, &overrides) {
        Ok(cfg) => cfg,
        Err(e) => {
            return vec![
                Finding::error("config", format!("the configuration does not load: {e}"))
                    .fix("correct the key named above (every key: authkeep.example.toml)"),
            ];
        }
    };
    let mut out = vec![Finding::ok(
        "config",
        match &cfg.source_file {
            Some(p) => format!("loaded {} ({})", p.display(), cfg.env),
            None => format!(
                "no configuration file; defaults and environment ({})",
                cfg.env
            ),
        },
    )];
    out.extend(cfg.warnings.iter().map(|w| Finding::warning("config", w)));
    if cfg.is_production() && cfg.open_api.enabled && !cfg.open_api.disable_default_reference {
        out.push(
            Finding::warning(
                "config",
                "the OpenAPI reference page runs a script from jsDelivr on the auth origin: a compromised CDN could act with your users' cookies",
            )
            .fix("[open_api] disable_default_reference = true (the JSON document stays)"),
        );
    }
    out.extend(secret(&cfg));
    out.extend(urls(&cfg));
    out.extend(cookies(&cfg, &args.origins));
    out.extend(database(&cfg).await);
    out.extend(email(&cfg, args.skip_smtp).await);
    out
}

fn secret(cfg: &Config) -> Vec<Finding> {
    let generate = "export BETTER_AUTH_SECRET=\"$(authkeep generate-secret)\"";
    let Some(secret) = &cfg.secret else {
        // Production refuses to load without one, so this is development.
        return vec![
            Finding::warning(
                "secret",
                "no secret configured: serve uses a generated development secret kept in a file next to the database; sessions end when it is lost",
            )
            .fix(generate),
        ];
    };
    let s = secret.expose();
    if KNOWN_SECRETS.iter().any(|k| s.eq_ignore_ascii_case(k)) {
        return vec![
            Finding::error(
                "secret",
                "the secret is a published placeholder: anyone can forge session cookies",
            )
            .fix(generate),
        ];
    }
    let mut distinct: Vec<char> = s.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if s.len() < 32 || distinct.len() < 10 {
        let finding = Finding::new(
            if cfg.is_production() {
                super::Level::Error
            } else {
                super::Level::Warning
            },
            "secret",
            format!(
                "the secret is weak ({} characters, {} distinct): better-auth asks for 32 random characters or more",
                s.chars().count(),
                distinct.len()
            ),
        );
        return vec![finding.fix(generate)];
    }
    vec![Finding::ok(
        "secret",
        format!("set, {} characters", s.chars().count()),
    )]
}

fn urls(cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    match &cfg.base_url {
        None if cfg.is_production() => out.push(
            Finding::error(
                "urls",
                "no base URL in production: email links and OAuth callbacks would point at the listen address",
            )
            .fix("BETTER_AUTH_URL=https://auth.example.com (or base_url in authkeep.toml)"),
        ),
        None => out.push(Finding::info(
            "urls",
            format!(
                "no base URL: links use {} (set BETTER_AUTH_URL when the server is reached another way)",
                cfg.base_origin()
            ),
        )),
        Some(u) => match url::Url::parse(u) {
            Ok(parsed) if parsed.scheme() == "https" || is_loopback(&parsed) => {
                out.push(Finding::ok("urls", format!("base URL {u}")));
            }
            Ok(_) => out.push(
                Finding::new(
                    if cfg.is_production() {
                        super::Level::Error
                    } else {
                        super::Level::Warning
                    },
                    "urls",
                    format!("base URL {u} is not https: session cookies cross the network in clear and browsers refuse SameSite=None cookies"),
                )
                .fix("serve it behind TLS and set base_url to the https:// URL"),
            ),
            Err(e) => out.push(
                Finding::error("urls", format!("base URL {u:?} is not a URL: {e}"))
                    .fix("base_url = \"https://auth.example.com\""),
            ),
        },
    }
    for origin in &cfg.trusted_origins {
        if origin.contains('*') {
            out.push(Finding::info(
                "urls",
                format!("trusted origin pattern {origin} (wildcards match any host they cover)"),
            ));
            continue;
        }
        match url::Url::parse(origin) {
            Ok(u) if u.host_str().is_some() && matches!(u.path(), "" | "/") => {}
            Ok(u) if u.host_str().is_some() => out.push(
                Finding::warning(
                    "urls",
                    format!("trusted origin {origin} has a path: origins are compared without one, so it is read as {}", u.origin().ascii_serialization()),
                )
                .fix(format!("trusted_origins = [\"{}\"]", u.origin().ascii_serialization())),
            ),
            _ => out.push(
                Finding::error(
                    "urls",
                    format!("trusted origin {origin:?} is not an origin (scheme://host[:port]): requests from the frontend are refused"),
                )
                .fix("trusted_origins = [\"https://app.example.com\"]"),
            ),
        }
    }
    out
}

pub(super) fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// For each frontend: same site or not, and whether the cookies as configured will reach the
/// server from its `fetch(…, { credentials: "include" })`.
fn cookies(cfg: &Config, origins: &[String]) -> Vec<Finding> {
    let Ok(base) = url::Url::parse(&cfg.base_origin()) else {
        return Vec::new();
    };
    let frontends: Vec<&String> = if origins.is_empty() {
        cfg.trusted_origins
            .iter()
            .filter(|o| !o.contains('*'))
            .collect()
    } else {
        origins.iter().collect()
    };
    let attributes = crate::serve::cookie_attributes(cfg);
    let trusted = TrustedOrigins::new(&cfg.base_origin(), &cfg.trusted_origins);
    let mut out = Vec::new();
    for origin in frontends {
        let Ok(front) = url::Url::parse(origin) else {
            continue;
        };
        out.extend(super::cookies::judge(
            &base,
            &front,
            &attributes,
            trusted.is_trusted_origin(origin),
        ));
    }
    out
}

async fn database(cfg: &Config) -> Vec<Finding> {
    let shown = redact_url(
        cfg.database
            .direct_url
            .as_ref()
            .map(|u| u.expose())
            .unwrap_or(&cfg.database_url),
    );
    let (plan, schema) = match crate::serve::diagnose(cfg).await {
        Ok(found) => found,
        Err(e) => {
            return vec![Finding::error("database", format!("{shown}: {e:#}")).fix(
                "check database_url (DATABASE_URL), that the server runs and accepts this user",
            )];
        }
    };
    let mut out = vec![Finding::ok("database", format!("reachable: {shown}"))];
    if !plan.changes.is_empty() {
        let what: Vec<String> = plan.changes.iter().map(|c| c.to_string()).collect();
        let sql: Vec<String> = plan.sql().iter().map(|s| format!("{s};")).collect();
        let f = if cfg.database.migrate_on_start {
            Finding::warning(
                "database",
                format!(
                    "pending migration ({}); serve applies it at start",
                    what.join("; ")
                ),
            )
        } else {
            Finding::error(
                "database",
                format!(
                    "pending migration ({}), and migrate_on_start is off",
                    what.join("; ")
                ),
            )
        };
        out.push(f.fix(format!("authkeep migrate   # runs:\n{}", sql.join("\n"))));
    }
    out.extend(
        plan.problems
            .iter()
            .map(|p| Finding::error("database", p.clone())),
    );
    for s in schema {
        let level = match s.severity {
            Severity::Error => super::Level::Error,
            Severity::Warning => super::Level::Warning,
        };
        let mut f = Finding::new(level, "database", s.message).about(s.subject);
        if !s.fix.is_empty() {
            let sql: Vec<String> = s.fix.iter().map(|q| format!("{q};")).collect();
            let sql = if sql.len() > 1 {
                format!("begin;\n{}\ncommit;", sql.join("\n"))
            } else {
                sql.join("\n")
            };
            f = f.fix(sql);
        }
        out.push(f);
    }
    out
}

async fn email(cfg: &Config, skip_smtp: bool) -> Vec<Finding> {
    let mut uses = Vec::new();
    if cfg.email_verification.required {
        uses.push("email verification (required to sign in)");
    } else if cfg.email_verification.send_on_sign_up == Some(true) {
        uses.push("verification emails");
    }
    if cfg.password_reset.enabled && cfg.email_and_password.enabled {
        uses.push("password reset");
    }
    if cfg.magic_link.enabled {
        uses.push("magic links");
    }
    if cfg.email_otp.enabled {
        uses.push("email OTP");
    }
    let configured = !cfg.email.smtp_url.expose().trim().is_empty();
    if !configured {
        if uses.is_empty() {
            return vec![Finding::info(
                "email",
                "no SMTP server, and nothing sends mail",
            )];
        }
        let level = if cfg.email_verification.required || cfg.is_production() {
            super::Level::Error
        } else {
            super::Level::Warning
        };
        return vec![
            Finding::new(
                level,
                "email",
                format!(
                    "mail is needed for {}, but no SMTP server is configured: messages only go to the log{}",
                    uses.join(", "),
                    if cfg.email_verification.required {
                        ", so new users can never verify and sign in"
                    } else {
                        ""
                    }
                ),
            )
            .fix("[email] smtp_url = \"smtp://user:pass@smtp.example.com:587\" and from = \"App <no-reply@example.com>\""),
        ];
    }
    if skip_smtp {
        return vec![Finding::info("email", "SMTP connection test skipped")];
    }
    let mailer =
        match crate::email::Mailer::new(&crate::serve::mail_settings(cfg)) {
            Ok(m) => m,
            Err(e) => {
                return vec![Finding::error("email", format!("{}", Report(&e))).fix(
                    "[email] smtp_url = \"smtp://user:pass@host:587\" (smtps:// for port 465)",
                )];
            }
        };
    let target = mailer.describe();
    match mailer.probe().await {
        Ok(_) => vec![Finding::ok(
            "email",
            format!("{target} answers (connected and greeted; nothing sent)"),
        )],
        Err(e) => vec![
            Finding::error("email", format!("{target}: {}", Report(&e)))
                .fix("check the host, port, TLS mode (smtp:// with ?tls=required, or smtps://) and credentials in [email] smtp_url"),
        ],
    }
}
