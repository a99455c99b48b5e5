//! Configuration, layered: built-in defaults, then `authkeep.toml` (or `--config PATH`), then
//! better-auth's own environment (`BETTER_AUTH_SECRET`, `BETTER_AUTH_URL`, `DATABASE_URL`,
//! `BETTER_AUTH_TRUSTED_ORIGINS`), then `AUTHKEEP_*` variables (`__` nests: `AUTHKEEP_SESSION__EXPIRES_IN`),
//! then command-line flags. Loading is pure: it reads, it never writes.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

mod env;
mod sections;
mod social;
mod two_factor;

pub use crate::crypto::Secret;
pub use sections::*;
pub use social::*;
pub use two_factor::TwoFactorConfig;

/// The embedded default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://authkeep.sqlite";
pub const DEFAULT_CONFIG_FILE: &str = "authkeep.toml";
/// better-auth refuses weaker secrets in production; so do we.
pub const MIN_SECRET_LEN: usize = 32;

#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `development` or `production`. Production requires a secret and logs JSON.
    pub env: String,
    pub listen: SocketAddr,
    /// The public URL of this server (`BETTER_AUTH_URL`). Defaults to `http://<listen>`.
    pub base_url: Option<String>,
    pub base_path: String,
    /// Serve a small status page at `/` (turn off when `/` on this host belongs to an app).
    pub home_page: bool,
    pub database_url: String,
    /// Cookie-signing secret (`BETTER_AUTH_SECRET`); shared with a better-auth server on the same data.
    pub secret: Option<Secret>,
    #[serde(deserialize_with = "string_list")]
    pub trusted_origins: Vec<String>,
    pub database: DatabaseConfig,
    pub session: SessionConfig,
    pub email_and_password: EmailAndPasswordConfig,
    pub user: UserConfig,
    /// The account table's names and how provider tokens are kept (better-auth's `account`).
    pub account: AccountConfig,
    /// When provider accounts join existing users (`account.accountLinking`).
    pub account_linking: AccountLinkingConfig,
    /// Google and GitHub sign-in (`socialProviders`).
    pub social_providers: SocialProvidersConfig,
    /// Any other OAuth 2.0 / OpenID Connect provider (the generic-oauth plugin).
    pub generic_oauth: Vec<GenericOAuthConfig>,
    pub bearer: BearerConfig,
    pub jwt: JwtConfig,
    /// better-auth's admin plugin.
    pub admin: AdminConfig,
    pub email: EmailConfig,
    pub email_verification: EmailVerificationConfig,
    pub password_reset: PasswordResetConfig,
    pub magic_link: MagicLinkConfig,
    pub email_otp: EmailOtpConfig,
    /// better-auth's two-factor plugin.
    pub two_factor: TwoFactorConfig,
    pub verification: VerificationConfig,
    /// Redis for sessions and verification values (better-auth's `secondaryStorage`).
    pub secondary_storage: SecondaryStorageConfig,
    pub advanced: AdvancedConfig,
    /// better-auth's rate limiter and authkeep's per-account sign-in limit.
    pub rate_limit: RateLimitConfig,
    pub limits: LimitsConfig,
    pub log: LogConfig,
    /// Prometheus metrics on their own listener (off by default).
    pub metrics: MetricsConfig,
    /// better-auth's openAPI plugin (off by default).
    pub open_api: OpenApiConfig,
    /// Problems found while loading that are not errors (unknown `AUTHKEEP_*` variables), to
    /// log once logging is set up.
    #[serde(skip)]
    pub warnings: Vec<String>,
    /// The configuration file that was read, if any.
    #[serde(skip)]
    pub source_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: "development".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            base_url: None,
            base_path: "/api/auth".into(),
            home_page: true,
            database_url: DEFAULT_DATABASE_URL.into(),
            secret: None,
            trusted_origins: Vec::new(),
            database: DatabaseConfig::default(),
            session: SessionConfig::default(),
            email_and_password: EmailAndPasswordConfig::default(),
            user: UserConfig::default(),
            account: AccountConfig::default(),
            account_linking: AccountLinkingConfig::default(),
            social_providers: SocialProvidersConfig::default(),
            generic_oauth: Vec::new(),
            bearer: BearerConfig::default(),
            jwt: JwtConfig::default(),
            admin: AdminConfig::default(),
            email: EmailConfig::default(),
            email_verification: EmailVerificationConfig::default(),
            password_reset: PasswordResetConfig::default(),
            magic_link: MagicLinkConfig::default(),
            email_otp: EmailOtpConfig::default(),
            two_factor: TwoFactorConfig::default(),
            verification: VerificationConfig::default(),
            secondary_storage: SecondaryStorageConfig::default(),
            advanced: AdvancedConfig::default(),
            rate_limit: RateLimitConfig::default(),
            limits: LimitsConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            open_api: OpenApiConfig::default(),
            warnings: Vec::new(),
            source_file: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("env", &self.env)
            .field("listen", &self.listen)
            .field("base_url", &self.base_url)
            .field("database_url", &redact_url(&self.database_url))
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// A database URL with any password replaced, for logs: the user-info password and any query
/// parameter that names a secret (`password`, `sslpassword`, `…token`). A URL that does not parse is shown as its scheme only, since
/// where its password is cannot be known.
pub fn redact_url(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        let scheme = url
            .split("://")
            .next()
            .filter(|s| s.len() < url.len())
            .unwrap_or("?");
        return format!("{scheme}://*** (not a valid URL)");
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    // `password`, `sslpassword`, an API token…: any key that names a secret.
    let sensitive = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["pass", "secret", "token"].iter().any(|s| k.contains(s))
    };
    if u.query_pairs().any(|(k, _)| sensitive(&k)) {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if sensitive(&k) {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    u.to_string()
}

/// The names under `[user.additional_fields]` in the order the file declares them (figment's
/// merged tables are sorted; better-auth keeps declaration order for columns and JSON keys).
fn additional_field_order(file: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    doc.get("user")
        .and_then(|u| u.get("additional_fields"))
        .and_then(toml::Value::as_table)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// figment's errors in the user's terms: the file and the dotted key, or the variable's own
/// name, and "did you mean" for a misspelt key.
fn describe(errors: figment::Error) -> String {
    use figment::Source;
    use figment::error::Kind;
    errors
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let env_var = || format!("{}{}", env::PREFIX, e.path.join("__").to_ascii_uppercase());
            let place = match e.metadata.as_ref() {
                Some(m) => match &m.source {
                    Some(Source::File(file)) if key.is_empty() => file.display().to_string(),
                    Some(Source::File(file)) => format!("{}: `{key}`", file.display()),
                    _ if m.name.contains("environment") => env_var(),
                    _ => format!("`{key}`"),
                },
                None => format!("`{key}`"),
            };
            let what = match &e.kind {
                Kind::UnknownField(field, expected) => {
                    let near = expected
                        .iter()
                        .map(|k| (env::distance(field, k), *k))
                        .filter(|(d, _)| *d <= 3)
                        .min();
                    match near {
                        Some((_, k)) => format!("unknown key `{field}`; did you mean `{k}`?"),
                        None => format!(
                            "unknown key `{field}`; the keys here are {}",
                            expected.join(", ")
                        ),
                    }
                }
                // A string's value is not repeated: a misplaced URL or secret would be
                // printed (and pasted into bug reports) along with the error.
                Kind::InvalidType(figment::error::Actual::Str(_), expected) => {
                    format!("expected {expected}, found a string")
                }
                Kind::InvalidType(actual, expected) => {
                    format!("expected {expected}, found {actual}")
                }
                // The parser quotes the offending line, which may be the secret's: keep where
                // and what, not the text.
                Kind::Message(m) if m.starts_with("TOML parse error") => {
                    let mut lines = m.lines().map(str::trim).filter(|l| !l.is_empty());
                    let at = lines.next().unwrap_or_default().to_owned();
                    match lines.next_back() {
                        Some(why) => format!("{at}: {why}"),
                        None => at,
                    }
                }
                other => other.to_string(),
            };
            format!("{place}: {what}")
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Accepts a TOML array or a comma-separated string (as environment variables give it).
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    Ok(match List::deserialize(d)? {
        List::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        List::Many(v) => v,
    })
}

/// Flags given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error(
        "a secret of at least {MIN_SECRET_LEN} characters is required in production (https base URL or AUTHKEEP_ENV=production).\n  \
         Set BETTER_AUTH_SECRET (or AUTHKEEP_SECRET, or `secret` in authkeep.toml), for example:\n    \
         export BETTER_AUTH_SECRET=\"$(authkeep generate-secret)\"   # or: openssl rand -base64 32"
    )]
    SecretRequired,
}

impl Config {
    /// Loads every layer. `file` is the `--config` path; without it `./authkeep.toml` is read if present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_from(file, overrides, |k| std::env::var(k).ok())
    }

    fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Self::load_with(file, overrides, env, || {
            std::env::vars().map(|(k, _)| k).collect()
        })
    }

    /// `vars` lists the environment's variable names (to warn about unknown `AUTHKEEP_*` ones).
    fn load_with(
        file: Option<&Path>,
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
        vars: impl Fn() -> Vec<String>,
    ) -> Result<Config, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let file = match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::Invalid(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => path,
            None => Path::new(DEFAULT_CONFIG_FILE),
        };
        fig = fig.merge(Toml::file(file));
        // better-auth's own variables, so an existing deployment's environment keeps working.
        let legacy = [
            ("BETTER_AUTH_SECRET", "secret"),
            ("AUTH_SECRET", "secret"),
            ("BETTER_AUTH_URL", "base_url"),
            ("DATABASE_URL", "database_url"),
            ("BETTER_AUTH_TRUSTED_ORIGINS", "trusted_origins"),
        ];
        for (var, key) in legacy.iter().rev() {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                fig = fig.merge(Serialized::default(key, v));
            }
        }
        let mut defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        // A provider's section is absent by default; its keys are keys all the same
        // (`AUTHKEEP_SOCIAL_PROVIDERS__GOOGLE__CLIENT_SECRET`).
        let provider = serde_json::to_value(ProviderConfig::default()).unwrap_or_default();
        defaults["social_providers"] =
            serde_json::json!({ "google": provider.clone(), "github": provider });
        let known = env::known_keys(&defaults);
        let names: Vec<String> = vars();
        let warnings = env::unknown_variables(names.into_iter(), &known);
        let only_known = known.clone();
        fig = fig.merge(
            Env::prefixed(env::PREFIX)
                .split("__")
                .filter(move |k| env::is_key(&k.as_str().to_ascii_lowercase(), &only_known)),
        );
        fig = fig.merge(Serialized::defaults(overrides));
        let mut cfg: Config = fig
            .extract()
            .map_err(|e| ConfigError::Invalid(describe(e)))?;
        cfg.warnings = warnings;
        cfg.user.additional_field_order = additional_field_order(file);
        cfg.source_file = file.exists().then(|| file.to_path_buf());
        cfg.normalize()?;
        Ok(cfg)
    }

    fn normalize(&mut self) -> Result<(), ConfigError> {
        if !matches!(
            self.database.pooler.as_str(),
            "auto" | "transaction" | "none"
        ) {
            return Err(ConfigError::Invalid(format!(
                "database.pooler must be \"auto\", \"transaction\" or \"none\", not {:?}",
                self.database.pooler
            )));
        }
        if !matches!(self.log.format.as_str(), "" | "pretty" | "text" | "json") {
            return Err(ConfigError::Invalid(format!(
                "log.format must be \"pretty\" or \"json\" (or empty: JSON in production), not {:?}",
                self.log.format
            )));
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::Invalid(format!(
                "log.level {:?} is not a log filter (such as \"info\", \"debug\" or \"authkeep=debug,sqlx=warn\"): {e}",
                self.log.level
            )));
        }
        // better-auth refuses admin roles its access control does not define.
        if let Some(bad) = self
            .admin
            .admin_roles
            .iter()
            .find(|r| !matches!(r.to_ascii_lowercase().as_str(), "admin" | "user"))
        {
            return Err(ConfigError::Invalid(format!(
                "admin.admin_roles: {bad:?} is not one of better-auth's default roles (\"admin\", \"user\")"
            )));
        }
        if !matches!(self.env.as_str(), "development" | "production" | "test") {
            return Err(ConfigError::Invalid(format!(
                "env must be development, production or test, not {:?}",
                self.env
            )));
        }
        if self.metrics.enabled && self.metrics.listen == self.listen && self.listen.port() != 0 {
            return Err(ConfigError::Invalid(format!(
                "metrics.listen must differ from listen ({}): metrics are never served on the public listener",
                self.listen
            )));
        }
        let reference = &self.open_api.path;
        if !reference.starts_with('/') || reference.len() < 2 || reference.ends_with('/') {
            return Err(ConfigError::Invalid(format!(
                "open_api.path must start with / and not end with / (got {reference:?})"
            )));
        }
        if !self.base_path.starts_with('/') || self.base_path.ends_with('/') {
            return Err(ConfigError::Invalid(
                "base_path must start with / and not end with /".into(),
            ));
        }
        if let Some(url) = &self.base_url {
            let parsed = url::Url::parse(url)
                .map_err(|e| ConfigError::Invalid(format!("base_url {url:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(ConfigError::Invalid(format!(
                    "base_url {url:?} must be http or https"
                )));
            }
        }
        if crate::store::Backend::of_url(&self.database_url).is_none() {
            return Err(ConfigError::Invalid(format!(
                "database_url must start with postgres://, postgresql:// or sqlite: (got {})",
                redact_url(&self.database_url)
            )));
        }
        if self.session.expires_in <= 0 || self.session.update_age < 0 || self.session.fresh_age < 0
        {
            return Err(ConfigError::Invalid(
                "session durations must not be negative".into(),
            ));
        }
        if let Some(url) = &self.secondary_storage.url {
            let scheme = url.expose().split("://").next().unwrap_or("");
            if !matches!(scheme, "redis" | "rediss") || !url.expose().contains("://") {
                return Err(ConfigError::Invalid(format!(
                    "secondary_storage.url must start with redis:// or rediss:// (got {})",
                    redact_url(url.expose())
                )));
            }
        }
        self.normalize_rate_limit()?;
        if self.email_and_password.min_password_length > self.email_and_password.max_password_length
        {
            return Err(ConfigError::Invalid(
                "min_password_length exceeds max_password_length".into(),
            ));
        }
        Ok(())
    }

    /// The public origin + nothing else, e.g. `http://localhost:3000`.
    pub fn base_origin(&self) -> String {
        match &self.base_url {
            Some(u) => url::Url::parse(u)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| u.clone()),
            None => {
                let host = if self.listen.ip().is_unspecified() {
                    "localhost".to_string()
                } else {
                    self.listen.ip().to_string()
                };
                let host = if self.listen.is_ipv6() && host != "localhost" {
                    format!("[{host}]")
                } else {
                    host
                };
                format!("http://{host}:{}", self.listen.port())
            }
        }
    }

    /// The old `advanced.ip_address_headers` still works; both set and different is an error.
    fn normalize_rate_limit(&mut self) -> Result<(), ConfigError> {
        let ip = &mut self.advanced.ip_address;
        if let Some(old) = self.advanced.ip_address_headers.take() {
            if ip.ip_address_headers != IpAddressConfig::default().ip_address_headers
                && ip.ip_address_headers != old
            {
                return Err(ConfigError::Invalid(
                    "advanced.ip_address_headers and advanced.ip_address.ip_address_headers are both set; keep the second".into(),
                ));
            }
            ip.ip_address_headers = old;
        }
        if ip.ipv6_subnet == 0 || ip.ipv6_subnet > 128 {
            return Err(ConfigError::Invalid(
                "advanced.ip_address.ipv6_subnet must be between 1 and 128".into(),
            ));
        }
        if let Some(bad) = ip
            .trusted_proxies
            .iter()
            .find(|p| crate::model::Cidr::parse(p).is_none())
        {
            return Err(ConfigError::Invalid(format!(
                "advanced.ip_address.trusted_proxies: {bad:?} is not an IP address or CIDR range"
            )));
        }
        let r = &self.rate_limit;
        if r.storage == Some(RateLimitStorage::SecondaryStorage)
            && self.secondary_storage.url.is_none()
        {
            return Err(ConfigError::Invalid(
                "rate_limit.storage = \"secondary-storage\" needs [secondary_storage] url = \"redis://...\"; or use \"memory\" or \"database\"".into(),
            ));
        }
        if r.window == 0 || r.max == 0 {
            return Err(ConfigError::Invalid(
                "rate_limit.window and rate_limit.max must be at least 1".into(),
            ));
        }
        for (path, rule) in &r.custom_rules {
            if !path.starts_with('/') {
                return Err(ConfigError::Invalid(format!(
                    "rate_limit.custom_rules.{path:?}: a rule is for a path below the base path, starting with /"
                )));
            }
            let complete = matches!((rule.window, rule.max), (Some(w), Some(m)) if w > 0 && m > 0);
            if rule.disabled == complete {
                return Err(ConfigError::Invalid(format!(
                    "rate_limit.custom_rules.{path:?}: give window and max (both at least 1), or disabled = true, not both"
                )));
            }
        }
        let a = &r.account;
        if a.max_failures > 0 && (a.window == 0 || a.lockout == 0 || a.max_lockout < a.lockout) {
            return Err(ConfigError::Invalid(
                "rate_limit.account: window and lockout must be at least 1, and max_lockout at least lockout".into(),
            ));
        }
        Ok(())
    }

    /// Whether the rate limiter runs: as configured, else only in production (as better-auth
    /// with `NODE_ENV`).
    /// Where rate-limit counters live: as configured, else Redis when there is secondary
    /// storage and this process's memory otherwise (better-auth's defaults).
    pub fn rate_limit_storage(&self) -> RateLimitStorage {
        self.rate_limit
            .storage
            .unwrap_or(if self.secondary_storage.url.is_some() {
                RateLimitStorage::SecondaryStorage
            } else {
                RateLimitStorage::Memory
            })
    }

    pub fn rate_limit_enabled(&self) -> bool {
        self.rate_limit
            .enabled
            .unwrap_or_else(|| self.is_production())
    }

    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    /// Secure cookies and a mandatory strong secret: an https base URL or production.
    pub fn needs_strong_secret(&self) -> bool {
        self.is_production() || self.base_origin().starts_with("https://")
    }

    pub fn secure_cookies(&self) -> bool {
        self.advanced
            .use_secure_cookies
            .unwrap_or_else(|| self.base_origin().starts_with("https://"))
    }

    /// The SQLite file this config points at, if any (`sqlite::memory:` has none).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)], overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Config::load_from(Some(Path::new("/dev/null")), overrides, move |k| {
            env.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone())
        })
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let c = load(&[], &Overrides::default()).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.base_origin(), "http://127.0.0.1:3000");
        assert_eq!(c.session.expires_in, 604_800);
        assert!(!c.secure_cookies());
    }

    #[test]
    fn better_auth_env_is_read_and_flags_win() {
        let c = load(
            &[
                ("BETTER_AUTH_URL", "https://auth.example.com"),
                ("DATABASE_URL", "postgres://u:p@h/db"),
            ],
            &Overrides {
                database_url: Some("sqlite::memory:".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.base_origin(), "https://auth.example.com");
        assert_eq!(c.database_url, "sqlite::memory:");
        assert!(c.secure_cookies());
        assert!(c.needs_strong_secret());
    }

    #[test]
    fn secrets_never_print() {
        let c = load(
            &[(
                "BETTER_AUTH_SECRET",
                "super-secret-value-that-is-long-enough",
            )],
            &Overrides::default(),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(redact_url("postgres://u:hunter2@h/db").contains("***"));
        assert!(!redact_url("postgres://u@h/db?sslpassword=hunter2").contains("hunter2"));
        let q = redact_url("postgres://u@h/db?sslmode=require&password=hunter2");
        assert!(
            !q.contains("hunter2") && q.contains("sslmode=require"),
            "{q}"
        );
        let broken = redact_url("postgres://u:hunter2#x@h:99999/db");
        assert!(!broken.contains("hunter2"), "{broken}");
    }

    #[test]
    fn file_errors_name_the_file_the_key_and_a_suggestion() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("authkeep.toml");
        std::fs::write(&file, "[session]\nexpire_in = 60\n").unwrap();
        let e = Config::load_from(Some(&file), &Overrides::default(), |_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("authkeep.toml") && e.contains("did you mean `expires_in`?"),
            "{e}"
        );
        assert!(!e.contains("default."), "no figment profile names: {e}");
        std::fs::write(&file, "[log]\nlevel = \"verbose=loud=x\"\n").unwrap();
        let e = Config::load_from(Some(&file), &Overrides::default(), |_| None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("log.level"), "{e}");
        std::fs::write(&file, "[log]\nformat = \"yaml\"\n").unwrap();
        assert!(Config::load_from(Some(&file), &Overrides::default(), |_| None).is_err());
    }

    #[test]
    fn bad_values_are_reported() {
        assert!(load(&[("DATABASE_URL", "mysql://x")], &Overrides::default()).is_err());
        assert!(load(&[("BETTER_AUTH_URL", "ftp://x")], &Overrides::default()).is_err());
    }

    #[test]
    fn metrics_never_share_the_public_listener_and_the_reference_path_is_checked() {
        let mut c = Config::default();
        c.metrics.enabled = true;
        c.metrics.listen = c.listen;
        let e = c.normalize().unwrap_err().to_string();
        assert!(e.contains("metrics.listen"), "{e}");
        c.metrics.listen = "127.0.0.1:9464".parse().unwrap();
        c.normalize().unwrap();
        for bad in ["reference", "/", "/docs/"] {
            c.open_api.path = bad.into();
            assert!(c.normalize().is_err(), "{bad}");
        }
    }

    #[test]
    fn secondary_storage_url_is_checked_and_never_printed() {
        let mut c = Config::default();
        c.secondary_storage.url = Some(Secret::new("http://:hunter2@redis:6379"));
        let e = c.normalize().unwrap_err().to_string();
        assert!(e.contains("redis://") && !e.contains("hunter2"), "{e}");
        c.secondary_storage.url = Some(Secret::new("rediss://:hunter2@redis:6380/2"));
        c.normalize().unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn trusted_origins_from_a_comma_list() {
        let c = load(
            &[(
                "BETTER_AUTH_TRUSTED_ORIGINS",
                "http://a.test, https://*.b.test",
            )],
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.trusted_origins, vec!["http://a.test", "https://*.b.test"]);
    }
}

#[cfg(test)]
mod rate_limit_config {
    use super::*;

    fn load_file(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("authkeep.toml");
        std::fs::write(&file, text).unwrap();
        Config::load_from(Some(&file), &Overrides::default(), |_| None)
    }

    #[test]
    fn errors_do_not_repeat_the_values_they_refuse() {
        let e = load_file("database = \"postgres://u:DBPASSWORD@h/db\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("found a string") && !e.contains("DBPASSWORD"),
            "{e}"
        );
        let e = load_file("secret = \"SUPERSECRET0123456789abcdefghijklmnop\nenv = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && !e.contains("SUPERSECRET"), "{e}");
    }

    #[test]
    fn admin_lists_take_a_comma_string_and_roles_are_checked() {
        let c = load_file("[admin]\nenabled = true\nadmin_user_ids = \"u1, u2\"\n").unwrap();
        assert!(c.admin.enabled);
        assert_eq!(c.admin.admin_user_ids, ["u1", "u2"]);
        assert_eq!(c.admin.admin_roles, ["admin"]);
        let e = load_file("[admin]\nadmin_roles = [\"superuser\"]\n").unwrap_err();
        assert!(e.to_string().contains("admin.admin_roles"), "{e}");
    }

    #[test]
    fn on_in_production_only_unless_set() {
        let dev = load_file("").unwrap();
        assert!(!dev.rate_limit_enabled());
        let prod = load_file("env = \"production\"").unwrap();
        assert!(prod.rate_limit_enabled());
        let off = load_file("env = \"production\"\n[rate_limit]\nenabled = false").unwrap();
        assert!(!off.rate_limit_enabled());
    }

    #[test]
    fn ip_options_old_key_and_lists() {
        let c = load_file("[advanced]\nip_address_headers = [\"x-real-ip\"]").unwrap();
        assert_eq!(c.advanced.ip_address.ip_address_headers, ["x-real-ip"]);
        let c = load_file("[advanced.ip_address]\ntrusted_proxies = \"10.0.0.0/8, 127.0.0.1\"")
            .unwrap();
        assert_eq!(
            c.advanced.ip_address.trusted_proxies,
            ["10.0.0.0/8", "127.0.0.1"]
        );
        let e = load_file("[advanced.ip_address]\ntrusted_proxies = [\"10.0.0.0/99\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("10.0.0.0/99"), "{e}");
        let both = "[advanced]\nip_address_headers = [\"a\"]\n[advanced.ip_address]\nip_address_headers = [\"b\"]";
        assert!(load_file(both).is_err());
    }

    #[test]
    fn the_new_keys_are_environment_keys() {
        let defaults = serde_json::to_value(Config::default()).unwrap();
        let known = env::known_keys(&defaults);
        for var in [
            "AUTHKEEP_RATE_LIMIT__ENABLED",
            "AUTHKEEP_RATE_LIMIT__STORAGE",
            "AUTHKEEP_RATE_LIMIT__ACCOUNT__MAX_FAILURES",
            "AUTHKEEP_ADVANCED__IP_ADDRESS__TRUSTED_PROXIES",
            "AUTHKEEP_ADVANCED__IP_ADDRESS__IPV6_SUBNET",
            "AUTHKEEP_ADVANCED__IP_ADDRESS_HEADERS",
        ] {
            let key = env::key_of(var).unwrap();
            assert!(env::is_key(&key, &known), "{var}");
        }
    }

    #[test]
    fn custom_rules_are_checked() {
        let ok = "[rate_limit.custom_rules.\"/get-session\"]\nwindow = 5\nmax = 2\n\
                  [rate_limit.custom_rules.\"/ok\"]\ndisabled = true";
        let c = load_file(ok).unwrap();
        assert_eq!(c.rate_limit.custom_rules.len(), 2);
        for bad in [
            "[rate_limit.custom_rules.\"/x\"]\nwindow = 5",
            "[rate_limit.custom_rules.\"/x\"]\nwindow = 5\nmax = 1\ndisabled = true",
            "[rate_limit.custom_rules.\"x\"]\nwindow = 5\nmax = 1",
            "[rate_limit]\nstorage = \"secondary-storage\"",
            "[rate_limit]\nstorage = \"redis\"",
        ] {
            assert!(load_file(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    fn keys(prefix: &str, v: &toml::Value, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if v.is_table() {
                    keys(&path, v, out)
                } else {
                    out.push(path)
                }
            }
        }
    }

    /// `authkeep.example.toml` documents every key with its default value.
    #[test]
    fn example_file_lists_every_key_with_its_default() {
        let text = include_str!("../../../../authkeep.example.toml");
        let mut documented = Vec::new();
        keys(
            "",
            &toml::from_str::<toml::Value>(text).unwrap(),
            &mut documented,
        );
        // Optional keys without a default appear commented out.
        let optional = [
            "base_url",
            "secret",
            "advanced.use_secure_cookies",
            "jwt.issuer",
            "jwt.audience",
            "email_verification.send_on_sign_up",
            "database.direct_url",
            "user.model_name",
            "session.model_name",
            "account.model_name",
            "verification.model_name",
            "generic_oauth",
            "advanced.default_cookie_attributes.secure",
            "advanced.default_cookie_attributes.partitioned",
            "advanced.default_cookie_attributes.domain",
            "advanced.cross_subdomain_cookies.domain",
            "secondary_storage.url",
            "advanced.ip_address_headers",
            "rate_limit.enabled",
            "rate_limit.model_name",
        ];
        for optional in optional {
            assert!(
                text.contains(&format!("# {}", optional.rsplit('.').next().unwrap())),
                "{optional} is documented"
            );
            documented.push(optional.to_string());
        }
        let mut all = Vec::new();
        keys(
            "",
            &toml::Value::try_from(Config::default()).unwrap(),
            &mut all,
        );
        all.extend(optional.map(String::from));
        documented.sort();
        all.sort();
        all.dedup();
        assert_eq!(documented, all);
        let parsed: Config = toml::from_str(text).unwrap();
        assert_eq!(
            toml::to_string(&parsed).unwrap(),
            toml::to_string(&Config::default()).unwrap()
        );
    }
}
