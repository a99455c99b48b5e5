//! The sections of `authkeep.toml`, each with better-auth's defaults. Every key is
//! documented in `authkeep.example.toml`, which a test keeps in step with these structs.

use serde::{Deserialize, Serialize};

use crate::crypto::Secret;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Largest number of connections the pool opens.
    pub max_connections: u32,
    /// Connections kept open even when idle (0: none; serverless databases can sleep).
    pub min_connections: u32,
    /// Seconds a request waits for a connection before it is answered 503.
    pub acquire_timeout: u64,
    /// Seconds an idle connection is kept (0: forever).
    pub idle_timeout: u64,
    /// Seconds a connection is used before it is replaced (0: forever).
    pub max_lifetime: u64,
    /// A transaction-mode connection pooler between authkeep and PostgreSQL: "auto" (detect it
    /// from `?pgbouncer=true` or the provider's pooler host), "transaction" or "none".
    pub pooler: String,
    /// A direct connection for migrations when `database_url` goes through a pooler
    /// (Prisma's `directUrl`; Neon's unpooled URL, Supabase's port 5432).
    pub direct_url: Option<Secret>,
    /// Seconds `serve` keeps retrying a database that does not answer at start-up (a
    /// serverless database waking up) before it gives up.
    pub startup_timeout: u64,
    /// Apply pending migrations when `serve` starts (the embedded default relies on it).
    pub migrate_on_start: bool,
    /// Column names of fields not named in `fields`: `camelCase` (better-auth's own) or
    /// `snake_case` (`email_verified`, as Drizzle's `casing: "snake_case"` or Kysely's
    /// `CamelCasePlugin` give). Table names are not changed; set `model_name` for those.
    pub casing: Casing,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Casing {
    #[default]
    #[serde(rename = "camelCase")]
    CamelCase,
    #[serde(rename = "snake_case")]
    SnakeCase,
}

/// A model's table and column names (better-auth's `<model>.modelName` and `<model>.fields`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ModelNames {
    /// The table's name; better-auth's `modelName`.
    pub model_name: Option<String>,
    /// better-auth's logical field name → your column name, e.g. `emailVerified = "email_verified"`.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// A field added to the user model (better-auth's `user.additionalFields.<name>`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdditionalFieldConfig {
    /// `string`, `number`, `boolean`, `date`, `string[]` or `number[]`.
    #[serde(rename = "type")]
    pub ty: crate::model::FieldType,
    /// NOT NULL, and needed on sign-up unless there is a default (better-auth's default: true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Written on sign-up when the client sends no value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<serde_json::Value>,
    /// Whether clients may set it on sign-up and `update-user` (better-auth's default: true).
    #[serde(default = "yes")]
    pub input: bool,
    /// Whether it appears in `get-session`, sign-in/up answers and JWTs (default: true).
    #[serde(default = "yes")]
    pub returned: bool,
    /// The column, when it differs from the field's name (better-auth's `fieldName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_name: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// The table's name (`session.modelName`).
    pub model_name: Option<String>,
    /// Logical field → column (`session.fields`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// Seconds a session lives (better-auth `session.expiresIn`).
    pub expires_in: i64,
    /// Seconds after which `get-session` extends a session (`session.updateAge`).
    pub update_age: i64,
    /// Seconds a session counts as fresh for sensitive operations; 0 disables (`session.freshAge`).
    pub fresh_age: i64,
    /// Never extend sessions (`session.disableSessionRefresh`).
    pub disable_refresh: bool,
    /// With `[secondary_storage]`: also write sessions to the database and read it when Redis
    /// has no entry (`session.storeSessionInDatabase`). Without secondary storage sessions are
    /// always in the database.
    pub store_session_in_database: bool,
    /// The session cookie cache (`session.cookieCache`).
    pub cookie_cache: CookieCacheConfig,
}

/// `session.cookieCache`: `get-session` answered from a signed or encrypted cookie, without
/// the database, for up to `max_age` seconds (so a revoked session can live that long).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieCacheConfig {
    pub enabled: bool,
    /// Seconds an entry lives (better-auth's default: 300).
    pub max_age: i64,
    pub strategy: CookieCacheStrategy,
    /// Entries written with another version are ignored: change it to invalidate every cache.
    pub version: String,
}

impl Default for CookieCacheConfig {
    fn default() -> Self {
        CookieCacheConfig {
            enabled: false,
            max_age: 300,
            strategy: CookieCacheStrategy::Compact,
            version: "1".into(),
        }
    }
}

/// `session.cookieCache.strategy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CookieCacheStrategy {
    /// Signed base64url JSON (HMAC-SHA256), the smallest; better-auth's default.
    #[default]
    Compact,
    /// An HS256 JWT, readable by anything that has the secret.
    Jwt,
    /// Encrypted (`dir` + `A256CBC-HS512`): the browser cannot read the user's fields.
    Jwe,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailAndPasswordConfig {
    pub enabled: bool,
    pub disable_sign_up: bool,
    pub min_password_length: usize,
    pub max_password_length: usize,
    /// Sign the user in right after sign-up (`emailAndPassword.autoSignIn`).
    pub auto_sign_in: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserConfig {
    /// The table's name (`user.modelName`).
    pub model_name: Option<String>,
    /// Logical field → column (`user.fields`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// Fields your users have beyond better-auth's (`user.additionalFields`), by name.
    pub additional_fields: std::collections::BTreeMap<String, AdditionalFieldConfig>,
    /// The order `additional_fields` were written in the file (their column and JSON order).
    #[serde(skip)]
    pub additional_field_order: Vec<String>,
    /// Serve `POST /delete-user` (`user.deleteUser.enabled`; off by default, as in better-auth).
    pub delete_user: bool,
    /// Deletion waits for the user to follow a link mailed to them (`sendDeleteAccountVerification`).
    pub delete_user_verification: bool,
    /// Serve `POST /change-email` (`user.changeEmail.enabled`).
    pub change_email: bool,
    /// Ask the old address to confirm a change first (`sendChangeEmailConfirmation`).
    pub change_email_confirmation: bool,
    /// An unverified account changes its email at once (`updateEmailWithoutVerification`).
    pub update_email_without_verification: bool,
}

/// better-auth's bearer plugin: `Authorization: Bearer` wherever a session cookie is accepted.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BearerConfig {
    pub enabled: bool,
    /// Accept only the signed `token.signature` form, not a bare session token.
    pub require_signature: bool,
}

impl Default for BearerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            require_signature: false,
        }
    }
}

/// Outgoing mail. With no `smtp_url`, messages are printed to the log (development).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://…:465` (implicit TLS),
    /// `smtp://host:25` (no TLS). Empty: the log transport.
    pub smtp_url: Secret,
    /// The sender, e.g. `Acme <no-reply@acme.test>`.
    pub from: String,
    /// The name used in the templates.
    pub app_name: String,
    /// A directory of template overrides (`verify-email.subject`, `.txt`, `.html`, …).
    pub templates_dir: String,
    /// Seconds a send may take before it is abandoned (and logged).
    pub timeout: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            smtp_url: Secret::new(""),
            from: "authkeep <no-reply@localhost>".into(),
            app_name: "authkeep".into(),
            templates_dir: String::new(),
            timeout: 10,
        }
    }
}

/// better-auth's `emailVerification` options plus `emailAndPassword.requireEmailVerification`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailVerificationConfig {
    /// Unverified users cannot sign in (403 `EMAIL_NOT_VERIFIED`), and sign-up creates no session.
    pub required: bool,
    /// Send the verification email on sign-up (default: when `required`).
    pub send_on_sign_up: Option<bool>,
    /// Re-send it when an unverified user tries to sign in (with `required`).
    pub send_on_sign_in: bool,
    /// Sign the user in when they follow the link.
    pub auto_sign_in_after_verification: bool,
    /// Seconds the link is valid.
    pub expires_in: i64,
}

impl Default for EmailVerificationConfig {
    fn default() -> Self {
        Self {
            required: false,
            send_on_sign_up: None,
            send_on_sign_in: false,
            auto_sign_in_after_verification: false,
            expires_in: 3600,
        }
    }
}

/// Password reset by email (`emailAndPassword.sendResetPassword` and friends).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordResetConfig {
    pub enabled: bool,
    /// Seconds a reset link is valid (`resetPasswordTokenExpiresIn`).
    pub token_expires_in: i64,
    /// Sign the user out everywhere after a reset (`revokeSessionsOnPasswordReset`).
    pub revoke_sessions_on_reset: bool,
}

impl Default for PasswordResetConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            token_expires_in: 3600,
            revoke_sessions_on_reset: false,
        }
    }
}

/// better-auth's magic-link plugin (off by default, as a plugin is).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MagicLinkConfig {
    pub enabled: bool,
    /// Seconds a link is valid.
    pub expires_in: i64,
    /// Links only sign in existing users.
    pub disable_sign_up: bool,
}

impl Default for MagicLinkConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            expires_in: 300,
            disable_sign_up: false,
        }
    }
}

/// better-auth's email-otp plugin (off by default, as a plugin is).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailOtpConfig {
    pub enabled: bool,
    /// Digits per code (4 to 12).
    pub otp_length: usize,
    /// Seconds a code is valid.
    pub expires_in: i64,
    /// Wrong guesses allowed before the code is burnt.
    pub allowed_attempts: u32,
    /// Codes only sign in existing users.
    pub disable_sign_up: bool,
}

impl Default for EmailOtpConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            otp_length: 6,
            expires_in: 300,
            allowed_attempts: 3,
            disable_sign_up: false,
        }
    }
}

/// The `verification` table: links and codes waiting to be used.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VerificationConfig {
    /// The table's name (`verification.modelName`).
    pub model_name: Option<String>,
    /// Logical field → column (`verification.fields`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// Seconds between sweeps that delete expired verification rows; 0 turns the sweep off.
    pub purge_interval: u64,
    /// Links or codes of one kind that may be outstanding for one address; older ones are
    /// withdrawn when a new one is sent.
    pub max_outstanding_per_address: u32,
    /// With `[secondary_storage]`: keep links and codes in the database (mirrored to Redis)
    /// instead of only in Redis (`verification.storeInDatabase`).
    pub store_in_database: bool,
}

impl Default for VerificationConfig {
    fn default() -> Self {
        Self {
            model_name: None,
            fields: Default::default(),
            purge_interval: 300,
            max_outstanding_per_address: 5,
            store_in_database: false,
        }
    }
}

/// better-auth's jwt plugin: `GET /token`, `GET /jwks` and the `set-auth-jwt` header.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    pub enabled: bool,
    /// `EdDSA` (Ed25519), `ES256` or `RS256`.
    pub algorithm: crate::model::JwtAlgorithm,
    /// Seconds a JWT is valid.
    pub expiration: i64,
    /// `iss`; defaults to the base URL's origin.
    pub issuer: Option<String>,
    /// `aud`; defaults to the base URL's origin.
    pub audience: Option<String>,
    /// Seconds after which a new signing key replaces the current one; 0 never rotates.
    pub rotation_interval: i64,
    /// Seconds an expired key stays in the JWKS so tokens it signed still verify.
    pub grace_period: i64,
    /// Send a fresh JWT in `set-auth-jwt` on every `get-session` with a session.
    pub set_jwt_header: bool,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            algorithm: crate::model::JwtAlgorithm::EdDSA,
            expiration: 900,
            issuer: None,
            audience: None,
            rotation_interval: 0,
            grace_period: 2_592_000,
            set_jwt_header: true,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdvancedConfig {
    /// Cookie name prefix (`advanced.cookiePrefix`).
    pub cookie_prefix: String,
    /// Force `Secure` cookies and the `__Secure-` prefix on or off; by default on for https base URLs.
    pub use_secure_cookies: Option<bool>,
    /// Skip the Origin/CSRF checks (`advanced.disableCSRFCheck`). For tests only.
    pub disable_csrf_check: bool,
    /// Older spelling of `[advanced.ip_address] ip_address_headers`, still read when set.
    pub ip_address_headers: Option<Vec<String>>,
    /// How the client IP is found (`advanced.ipAddress`).
    pub ip_address: IpAddressConfig,
    /// Attributes of every cookie (`advanced.defaultCookieAttributes`).
    pub default_cookie_attributes: CookieAttributesConfig,
    /// One session across subdomains (`advanced.crossSubDomainCookies`).
    pub cross_subdomain_cookies: CrossSubdomainConfig,
}

/// `SameSite` of every cookie.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSiteConfig {
    #[default]
    Lax,
    Strict,
    /// For a frontend on another site: implies `Secure` and, unless `partitioned = false`,
    /// `Partitioned` (browsers that block third-party cookies keep partitioned ones).
    None,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieAttributesConfig {
    pub same_site: SameSiteConfig,
    /// `Secure`; unset: as the `__Secure-` prefix (https base URL or `use_secure_cookies`).
    pub secure: Option<bool>,
    /// `Partitioned` (CHIPS); unset: on exactly when `same_site = "none"`.
    pub partitioned: Option<bool>,
    /// `Domain`; unset: host-only cookies (or the cross-subdomain domain).
    pub domain: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrossSubdomainConfig {
    pub enabled: bool,
    /// The parent domain the cookies are set for; unset: the base URL's host.
    pub domain: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Longest `name` accepted, in characters.
    pub max_name_length: usize,
    /// Longest `email` accepted (RFC 5321 allows 254).
    pub max_email_length: usize,
    /// Longest `image` URL and `callbackURL` accepted.
    pub max_url_length: usize,
    /// Seconds a client has to send a request's headers; slower ones are disconnected.
    pub header_timeout: u64,
    /// Seconds a client has to send a request's body (408 beyond).
    pub body_timeout: u64,
    /// Client connections open at once; more wait until one closes.
    pub max_connections: usize,
    /// Seconds each request to a social provider (token exchange, user info, discovery, key
    /// set) may take before the sign-in fails with a clear error.
    pub provider_timeout: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `pretty` or `json`; empty picks JSON in production and pretty otherwise.
    pub format: String,
    /// A `tracing` filter, e.g. `info` or `authkeep=debug,sqlx=warn`. `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
            min_connections: 0,
            acquire_timeout: 3,
            idle_timeout: 600,
            max_lifetime: 1800,
            pooler: "auto".into(),
            direct_url: None,
            startup_timeout: 30,
            migrate_on_start: true,
            casing: Casing::CamelCase,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            model_name: None,
            fields: Default::default(),
            expires_in: 604_800,
            update_age: 86_400,
            fresh_age: 86_400,
            disable_refresh: false,
            store_session_in_database: false,
            cookie_cache: CookieCacheConfig::default(),
        }
    }
}

impl Default for EmailAndPasswordConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            disable_sign_up: false,
            min_password_length: 8,
            max_password_length: 128,
            auto_sign_in: true,
        }
    }
}

impl Default for AdvancedConfig {
    fn default() -> Self {
        Self {
            cookie_prefix: "better-auth".into(),
            use_secure_cookies: None,
            disable_csrf_check: false,
            ip_address_headers: None,
            ip_address: IpAddressConfig::default(),
            default_cookie_attributes: CookieAttributesConfig::default(),
            cross_subdomain_cookies: CrossSubdomainConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            max_name_length: 256,
            max_email_length: 254,
            max_url_length: 2048,
            header_timeout: 10,
            body_timeout: 30,
            max_connections: 1024,
            provider_timeout: 10,
        }
    }
}

/// `GET /metrics` (Prometheus text format) on a listener of its own, never the public one:
/// the numbers are operational data for the operator's scraper, not for clients.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// Where the metrics listener binds; keep it private (loopback or an internal network).
    pub listen: std::net::SocketAddr,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

/// better-auth's openAPI plugin: the OpenAPI document at `/open-api/generate-schema` and an
/// HTML reference page, both under the base path.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenApiConfig {
    pub enabled: bool,
    /// The reference page's path under the base path (the plugin's `path`).
    pub path: String,
    /// Serve no reference page, only the document (`disableDefaultReference`).
    pub disable_default_reference: bool,
}

impl Default for OpenApiConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            path: "/reference".into(),
            disable_default_reference: false,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: String::new(),
            level: "info".into(),
        }
    }
}

/// Redis as better-auth's `secondaryStorage` (with `@better-auth/redis-storage`'s key layout):
/// sessions and verification values live there, shared with every replica and with a
/// better-auth server using the same Redis, prefix and secret.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecondaryStorageConfig {
    /// `redis://[:password@]host:port[/db]` or `rediss://...` (TLS). Unset: no secondary storage.
    pub url: Option<Secret>,
    /// Prepended to every key (`keyPrefix` of `@better-auth/redis-storage`).
    pub key_prefix: String,
    /// Milliseconds to connect or to wait for an answer before a request gets 503.
    pub timeout_ms: u64,
}

impl Default for SecondaryStorageConfig {
    fn default() -> Self {
        Self {
            url: None,
            key_prefix: "better-auth:".into(),
            timeout_ms: 1000,
        }
    }
}

/// How the client IP is found (better-auth's `advanced.ipAddress`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IpAddressConfig {
    /// Headers that carry the client IP, tried in order (`ipAddressHeaders`).
    #[serde(deserialize_with = "super::string_list")]
    pub ip_address_headers: Vec<String>,
    /// Proxies (IPs or CIDRs) whose hops are skipped when `X-Forwarded-For` is read from the
    /// right (`trustedProxies`). When set, the header counts only from a connection that
    /// comes from one of them.
    #[serde(deserialize_with = "super::string_list")]
    pub trusted_proxies: Vec<String>,
    /// IPv6 clients are grouped by this prefix length for rate limiting (`ipv6Subnet`).
    pub ipv6_subnet: u8,
    /// Record no IP on sessions and skip rate limiting (`disableIpTracking`).
    pub disable_ip_tracking: bool,
}

impl Default for IpAddressConfig {
    fn default() -> Self {
        Self {
            ip_address_headers: vec!["x-forwarded-for".into()],
            trusted_proxies: Vec::new(),
            ipv6_subnet: 64,
            disable_ip_tracking: false,
        }
    }
}

/// Where rate-limit counters live (`rateLimit.storage`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RateLimitStorage {
    /// In this process (bounded); replicas count separately.
    #[default]
    #[serde(rename = "memory")]
    Memory,
    /// better-auth's `rateLimit` table, shared by every replica.
    #[serde(rename = "database")]
    Database,
    /// Redis (`[secondary_storage]`), shared by every replica.
    #[serde(rename = "secondary-storage")]
    SecondaryStorage,
}

/// better-auth's rate limiter (`rateLimit`), plus a per-account limit on failed sign-ins.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Unset: on exactly when `env = "production"` (better-auth: `NODE_ENV`).
    pub enabled: Option<bool>,
    /// Seconds of the global rule.
    pub window: u64,
    /// Requests per window and client IP per path, for paths without a special rule.
    pub max: u64,
    /// `memory`, `database` or `secondary-storage`; unset: `secondary-storage` when
    /// `[secondary_storage]` is configured, else `memory` (better-auth's default).
    pub storage: Option<RateLimitStorage>,
    /// The table's name with `storage = "database"` (`rateLimit.modelName`).
    pub model_name: Option<String>,
    /// Logical field → column (`rateLimit.fields`: `key`, `count`, `lastRequest`).
    pub fields: std::collections::BTreeMap<String, String>,
    /// Rules per path (`rateLimit.customRules`): an exact path below the base path or a
    /// pattern with `*` (one segment) or `**` (any), e.g. `[rate_limit.custom_rules."/get-session"]`.
    pub custom_rules: std::collections::BTreeMap<String, CustomRuleConfig>,
    /// Failed password sign-ins per account, whatever the IP.
    pub account: AccountLimitConfig,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: None,
            window: 10,
            max: 100,
            storage: None,
            model_name: None,
            fields: Default::default(),
            custom_rules: Default::default(),
            account: AccountLimitConfig::default(),
        }
    }
}

/// One custom rule: `window` and `max`, or `disabled = true` for no limit on the path
/// (better-auth's `false`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CustomRuleConfig {
    pub window: Option<u64>,
    pub max: Option<u64>,
    pub disabled: bool,
}

/// After `max_failures` failed `/sign-in/email` for one address within `window` seconds,
/// sign-ins for it answer 429 for `lockout` seconds, doubling on each further lockout up to
/// `max_lockout`. On whenever rate limiting is on; `max_failures = 0` turns it off.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountLimitConfig {
    pub max_failures: u32,
    pub window: u64,
    pub lockout: u64,
    pub max_lockout: u64,
}

impl Default for AccountLimitConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: 900,
            lockout: 60,
            max_lockout: 900,
        }
    }
}

/// better-auth's admin plugin (`admin({...})`): the `/admin/*` routes, the ban check at
/// sign-in, and the `role`, `banned`, `banReason`, `banExpires` and `impersonatedBy` columns.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    pub enabled: bool,
    /// The role a new user gets (`defaultRole`).
    pub default_role: String,
    /// Roles that count as admin (`adminRoles`): `admin` or `user`, better-auth's default roles.
    #[serde(deserialize_with = "super::string_list")]
    pub admin_roles: Vec<String>,
    /// Users who are admins whatever their role (`adminUserIds`).
    #[serde(deserialize_with = "super::string_list")]
    pub admin_user_ids: Vec<String>,
    /// Seconds an impersonation session lasts (`impersonationSessionDuration`).
    pub impersonation_session_duration: i64,
    /// The reason a ban gets when none is given (`defaultBanReason`).
    pub default_ban_reason: String,
    /// Seconds a ban lasts when the request gives none; 0: until lifted (`defaultBanExpiresIn`).
    pub default_ban_expires_in: i64,
    /// The message a banned user gets at sign-in (`bannedUserMessage`).
    pub banned_user_message: String,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            default_role: "user".into(),
            admin_roles: vec!["admin".into()],
            admin_user_ids: Vec::new(),
            impersonation_session_duration: 3600,
            default_ban_reason: "No reason".into(),
            default_ban_expires_in: 0,
            banned_user_message: "You have been banned from this application. Please contact support if you believe this is an error.".into(),
        }
    }
}
