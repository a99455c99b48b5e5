//! Configuration → the policies and settings each layer takes. Kept in one place so that no
//! layer below the process reads the configuration, and a new option is wired in one file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::auth::jwt::JwtPolicy;
use crate::auth::policy::{
    ChangeEmailPolicy, DeleteUserPolicy, EmailPasswordPolicy, MagicLinkPolicy, OtpPolicy,
    PasswordPolicy, Policy, Refresh, ResetPolicy, SessionPolicy, VerificationPolicy,
};
use crate::auth::rate_limit::account::{AccountLimiter, AccountPolicy};
use crate::auth::rate_limit::{Counters, Rule};
use crate::config::{Config, redact_url};
use crate::config::{CookieCacheConfig, CookieCacheStrategy};
use crate::config::{CustomRuleConfig, RateLimitStorage, SameSiteConfig};
use crate::crypto::HmacKey;
use crate::crypto::Keys;
use crate::email::{LogBodies, Settings};
use crate::http::body::Limits;
use crate::http::client_ip::IpPolicy;
use crate::http::cookie_cache::{CookieCache, Strategy};
use crate::http::cookies::{CookieAttributes, CookieSettings, SameSite};
use crate::http::open_api::OpenApiPolicy;
use crate::http::rate_limit::{CustomRule, RateLimiter};
use crate::http::{App, BearerPolicy, CsrfCheck, HttpPolicy};
use crate::model::Cidr;
use crate::store::Store;
use crate::store::schema::{
    AdditionalFieldSpec, Casing as NameCasing, ModelNaming, Naming, Schema, SchemaError,
};
use crate::store::{PoolSettings, Pooler, SecondarySettings};
use std::collections::BTreeMap;

/// The table and column names, checked (better-auth's `modelName`, `fields`,
/// `additionalFields`, and authkeep's `[database] casing`).
pub(super) fn schema(cfg: &Config) -> Result<Schema, SchemaError> {
    let names = |n: &Option<String>, f: &std::collections::BTreeMap<String, String>| ModelNaming {
        model_name: n.clone(),
        fields: f.clone(),
    };
    let mut models = BTreeMap::new();
    let (user_fields, two_factor_column) = two_factor_user_column(cfg);
    models.insert("user", names(&cfg.user.model_name, &user_fields));
    models.insert(
        "twoFactor",
        names(&cfg.two_factor.model_name, &cfg.two_factor.fields),
    );
    models.insert(
        "session",
        names(&cfg.session.model_name, &cfg.session.fields),
    );
    models.insert(
        "account",
        names(&cfg.account.model_name, &cfg.account.fields),
    );
    models.insert(
        "verification",
        names(&cfg.verification.model_name, &cfg.verification.fields),
    );
    models.insert(
        "rateLimit",
        names(&cfg.rate_limit.model_name, &cfg.rate_limit.fields),
    );
    // Declaration order from the file first, then any the file did not list (variables).
    let declared = &cfg.user.additional_field_order;
    let mut order: Vec<&String> = declared
        .iter()
        .filter(|n| cfg.user.additional_fields.contains_key(*n))
        .collect();
    order.extend(
        cfg.user
            .additional_fields
            .keys()
            .filter(|n| !declared.contains(n)),
    );
    let additional_user_fields = order
        .into_iter()
        .filter_map(|name| {
            let f = cfg.user.additional_fields.get(name)?;
            Some(AdditionalFieldSpec {
                name: name.clone(),
                column: f.field_name.clone(),
                ty: f.ty,
                required: f.required,
                default: f.default_value.clone(),
                input: f.input,
                returned: f.returned,
            })
        })
        .collect::<Vec<_>>();
    let mut additional_user_fields = additional_user_fields;
    if cfg.two_factor.enabled {
        // The plugin's own definition wins over a declared one: a client-settable
        // `twoFactorEnabled` (`input = true`) would let anyone switch their 2FA off.
        let name = crate::auth::two_factor::ENABLED_FIELD;
        let declared = additional_user_fields
            .iter()
            .position(|f: &AdditionalFieldSpec| f.name == name)
            .map(|i| additional_user_fields.remove(i));
        let column = two_factor_column.or_else(|| declared.and_then(|f| f.column));
        additional_user_fields.push(crate::auth::two_factor::enabled_field(column));
    }
    Schema::resolve(&Naming {
        casing: match cfg.database.casing {
            crate::config::Casing::CamelCase => NameCasing::Camel,
            crate::config::Casing::SnakeCase => NameCasing::Snake,
        },
        models,
        additional_user_fields,
        rate_limit_table: cfg.rate_limit_storage() == RateLimitStorage::Database,
        two_factor_table: cfg.two_factor.enabled,
        admin: cfg.admin.enabled,
    })
}

/// `[user.fields] twoFactorEnabled` names the two-factor plugin's user column, which is an
/// additional field here: the user's other renames, and that column.
fn two_factor_user_column(cfg: &Config) -> (BTreeMap<String, String>, Option<String>) {
    let mut fields = cfg.user.fields.clone();
    // With the plugin off the name stays, and is refused as an unknown field.
    let column = cfg
        .two_factor
        .enabled
        .then(|| fields.remove(crate::auth::two_factor::ENABLED_FIELD))
        .flatten();
    (fields, column)
}

/// The pool for `url` (the database URL or the direct URL for migrations).
/// Redis as secondary storage, when `[secondary_storage] url` is set.
pub(super) fn secondary_settings(cfg: &Config) -> Option<SecondarySettings> {
    let c = &cfg.secondary_storage;
    let url = c.url.as_ref()?.expose().to_owned();
    Some(SecondarySettings {
        url,
        key_prefix: c.key_prefix.clone(),
        timeout: StdDuration::from_millis(c.timeout_ms.max(50)),
        sessions_in_database: cfg.session.store_session_in_database,
        verifications_in_database: cfg.verification.store_in_database,
        // better-auth keeps the marker for max(session lifetime, one day).
        revoked_marker_ttl: u64::try_from(cfg.session.expires_in.max(86_400)).unwrap_or(86_400),
    })
}

pub(super) fn pool_settings(cfg: &Config, url: &str) -> PoolSettings {
    let d = &cfg.database;
    let seconds = |s: u64| (s > 0).then(|| StdDuration::from_secs(s));
    PoolSettings {
        max_connections: d.max_connections.max(1),
        min_connections: d.min_connections,
        acquire_timeout: StdDuration::from_secs(d.acquire_timeout.max(1)),
        idle_timeout: seconds(d.idle_timeout),
        max_lifetime: seconds(d.max_lifetime),
        pooler: match d.pooler.as_str() {
            "transaction" => Pooler::Transaction,
            "none" => Pooler::None,
            _ => Pooler::detect(url).unwrap_or(Pooler::None),
        },
    }
}

pub(super) fn auth_policy(cfg: &Config, schema: &Schema) -> Policy {
    let s = &cfg.session;
    let ep = &cfg.email_and_password;
    let v = &cfg.email_verification;
    Policy {
        session: SessionPolicy {
            admin_plugin: cfg.admin.enabled,
            expires_in: Duration::seconds(s.expires_in),
            update_age: Duration::seconds(s.update_age),
            fresh_age: (s.fresh_age > 0).then(|| Duration::seconds(s.fresh_age)),
            refresh: if s.disable_refresh {
                Refresh::Never
            } else {
                Refresh::Allowed
            },
        },
        email_password: EmailPasswordPolicy {
            enabled: ep.enabled,
            sign_up_enabled: ep.enabled && !ep.disable_sign_up,
            auto_sign_in: ep.auto_sign_in,
        },
        password: PasswordPolicy {
            min_length: ep.min_password_length,
            max_length: ep.max_password_length,
        },
        verification: VerificationPolicy {
            required: v.required,
            send_on_sign_up: v.send_on_sign_up.unwrap_or(v.required),
            send_on_sign_up_configured: v.send_on_sign_up,
            send_on_sign_in: v.send_on_sign_in,
            auto_sign_in: v.auto_sign_in_after_verification,
            expires_in: Duration::seconds(v.expires_in),
        },
        reset: ResetPolicy {
            enabled: cfg.password_reset.enabled,
            expires_in: Duration::seconds(cfg.password_reset.token_expires_in),
            revoke_sessions: cfg.password_reset.revoke_sessions_on_reset,
        },
        magic_link: MagicLinkPolicy {
            enabled: cfg.magic_link.enabled,
            expires_in: Duration::seconds(cfg.magic_link.expires_in),
            disable_sign_up: cfg.magic_link.disable_sign_up,
        },
        otp: OtpPolicy {
            enabled: cfg.email_otp.enabled,
            length: cfg.email_otp.otp_length.clamp(4, 12),
            expires_in: Duration::seconds(cfg.email_otp.expires_in),
            allowed_attempts: cfg.email_otp.allowed_attempts.max(1),
            disable_sign_up: cfg.email_otp.disable_sign_up,
        },
        change_email: ChangeEmailPolicy {
            enabled: cfg.user.change_email,
            confirm_with_old_email: cfg.user.change_email_confirmation,
            update_without_verification: cfg.user.update_email_without_verification,
        },
        delete_user: DeleteUserPolicy {
            enabled: cfg.user.delete_user,
            confirm_by_email: cfg.user.delete_user_verification,
        },
        max_outstanding_per_address: usize::try_from(cfg.verification.max_outstanding_per_address)
            .unwrap_or(usize::MAX)
            .max(1),
        api_url: format!("{}{}", cfg.base_origin(), cfg.base_path),
        user_fields: schema.additional_user_fields.clone(),
        admin: admin_policy(cfg),
    }
}

/// The admin plugin's options, when it is on.
fn admin_policy(cfg: &Config) -> Option<crate::auth::admin_plugin::AdminPolicy> {
    let a = &cfg.admin;
    a.enabled.then(|| crate::auth::admin_plugin::AdminPolicy {
        default_role: a.default_role.clone(),
        admin_roles: a.admin_roles.clone(),
        admin_user_ids: a.admin_user_ids.clone(),
        impersonation_session_duration: Duration::seconds(a.impersonation_session_duration),
        default_ban_reason: a.default_ban_reason.clone(),
        default_ban_expires_in: (a.default_ban_expires_in > 0)
            .then(|| Duration::seconds(a.default_ban_expires_in)),
        banned_user_message: a.banned_user_message.clone(),
    })
}

/// The jwt plugin's options, when it is on.
pub(super) fn jwt_policy(cfg: &Config) -> Option<JwtPolicy> {
    let j = &cfg.jwt;
    let origin = cfg.base_origin();
    j.enabled.then(|| JwtPolicy {
        algorithm: j.algorithm,
        expiration: Duration::seconds(j.expiration),
        issuer: j.issuer.clone().unwrap_or_else(|| origin.clone()),
        audience: j.audience.clone().unwrap_or(origin),
        rotation_interval: (j.rotation_interval > 0)
            .then(|| Duration::seconds(j.rotation_interval)),
        grace_period: Duration::seconds(j.grace_period),
    })
}

pub(super) fn http_policy(cfg: &Config, auth: &Policy) -> HttpPolicy {
    let l = &cfg.limits;
    HttpPolicy {
        base_path: cfg.base_path.clone(),
        limits: Limits {
            max_body_bytes: l.max_body_bytes,
            body_timeout: StdDuration::from_secs(l.body_timeout.max(1)),
            max_name_length: l.max_name_length,
            max_email_length: l.max_email_length,
            max_url_length: l.max_url_length,
            max_password_input: auth.password.max_length.max(1024),
            user_fields: auth.user_fields.clone().into(),
        },
        csrf: if cfg.advanced.disable_csrf_check {
            CsrfCheck::Off
        } else {
            CsrfCheck::On
        },
        ip: ip_policy(cfg),
        bearer: if cfg.bearer.enabled {
            BearerPolicy::On {
                require_signature: cfg.bearer.require_signature,
            }
        } else {
            BearerPolicy::Off
        },
        set_jwt_header: cfg.jwt.set_jwt_header,
        home_page: cfg.home_page,
        open_api: OpenApiPolicy {
            enabled: cfg.open_api.enabled,
            reference: (cfg.open_api.enabled && !cfg.open_api.disable_default_reference)
                .then(|| cfg.open_api.path.clone()),
        },
    }
}

fn ip_policy(cfg: &Config) -> IpPolicy {
    let ip = &cfg.advanced.ip_address;
    IpPolicy {
        headers: ip
            .ip_address_headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        // Checked when the configuration was loaded.
        trusted_proxies: ip
            .trusted_proxies
            .iter()
            .filter_map(|p| Cidr::parse(p))
            .collect(),
        ipv6_subnet: ip.ipv6_subnet,
        disable_tracking: ip.disable_ip_tracking,
    }
}

/// The counters' home: the database or Redis when asked for (Redis by default when there is
/// secondary storage); memory otherwise.
fn counters(cfg: &Config, store: &Store, longest_window: u64) -> Counters {
    match (cfg.rate_limit_storage(), store.secondary()) {
        (RateLimitStorage::Database, _) => Counters::database(store.clone(), longest_window),
        (RateLimitStorage::SecondaryStorage, Some(redis)) => Counters::Secondary(redis.clone()),
        // Without a Redis the configuration is refused at load time.
        (RateLimitStorage::Memory | RateLimitStorage::SecondaryStorage, _) => Counters::memory(),
    }
}

/// better-auth's rate limiter, when it is on, and the per-account sign-in limit that comes
/// with it (sharing its storage, so replicas on one database share both).
pub(super) fn rate_limiting(
    cfg: &Config,
    store: &Store,
    hmac: &HmacKey,
) -> (Option<RateLimiter>, Option<AccountLimiter>) {
    if !cfg.rate_limit_enabled() {
        return (None, None);
    }
    let r = &cfg.rate_limit;
    let global = Rule {
        window: r.window,
        max: r.max,
    };
    let rule = |c: &CustomRuleConfig| match (c.disabled, c.window, c.max) {
        (false, Some(window), Some(max)) => Some(Rule { window, max }),
        _ => None,
    };
    let custom: Vec<CustomRule> = r
        .custom_rules
        .iter()
        .map(|(pattern, c)| CustomRule {
            pattern: pattern.clone(),
            rule: rule(c),
        })
        .collect();
    let a = &r.account;
    let longest = RateLimiter::longest_window(global, &custom).max(a.window + a.max_lockout);
    let counters = counters(cfg, store, longest);
    // In memory, the per-account counters get a store of their own: a flood of per-IP buckets
    // (one per random path) must not evict a lockout to make room.
    let account_counters = match &counters {
        Counters::Memory(_) => Counters::memory(),
        shared => shared.clone(),
    };
    let account = (a.max_failures > 0).then(|| {
        AccountLimiter::new(
            AccountPolicy {
                max_failures: a.max_failures,
                window: a.window,
                lockout: a.lockout,
                max_lockout: a.max_lockout,
            },
            account_counters,
            hmac.clone(),
        )
    });
    let limiter = RateLimiter {
        global,
        magic_link: cfg.magic_link.enabled,
        email_otp: cfg.email_otp.enabled,
        two_factor: cfg.two_factor.enabled,
        custom,
        counters,
    };
    (Some(limiter), account)
}

pub(super) fn cookie_settings(cfg: &Config, keys: &Keys) -> CookieSettings {
    CookieSettings {
        key: keys.hmac.clone(),
        prefix: cfg.advanced.cookie_prefix.clone(),
        secure: cfg.secure_cookies(),
        session_max_age: cfg.session.expires_in,
        attributes: cookie_attributes(cfg),
        cache: cookie_cache(&cfg.session.cookie_cache, keys),
    }
}

/// The attributes every cookie gets with this configuration (also what `doctor` judges).
pub fn cookie_attributes(cfg: &Config) -> CookieAttributes {
    let a = &cfg.advanced.default_cookie_attributes;
    let same_site = match a.same_site {
        SameSiteConfig::Lax => SameSite::Lax,
        SameSiteConfig::Strict => SameSite::Strict,
        SameSiteConfig::None => SameSite::None,
    };
    let sub = &cfg.advanced.cross_subdomain_cookies;
    // better-auth's order: the cross-subdomain domain, then the default attributes over it.
    let cross_domain = sub.enabled.then(|| {
        sub.domain.clone().unwrap_or_else(|| {
            url::Url::parse(&cfg.base_origin())
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        })
    });
    CookieAttributes {
        same_site,
        secure: a.secure.unwrap_or_else(|| cfg.secure_cookies()),
        partitioned: a.partitioned.unwrap_or(same_site == SameSite::None),
        domain: a.domain.clone().or(cross_domain).filter(|d| !d.is_empty()),
    }
}

fn cookie_cache(c: &CookieCacheConfig, keys: &Keys) -> Option<CookieCache> {
    let strategy = match c.strategy {
        CookieCacheStrategy::Compact => Strategy::Compact,
        CookieCacheStrategy::Jwt => Strategy::Jwt,
        CookieCacheStrategy::Jwe => Strategy::Jwe,
    };
    c.enabled.then(|| {
        CookieCache::new(
            keys.hmac.clone(),
            keys.cookie_cache.clone(),
            strategy,
            c.max_age,
            c.version.clone(),
        )
    })
}

pub fn mail_settings(cfg: &Config) -> Settings {
    let e = &cfg.email;
    Settings {
        smtp_url: e.smtp_url.clone(),
        from: e.from.clone(),
        app_name: e.app_name.clone(),
        templates_dir: (!e.templates_dir.is_empty()).then(|| PathBuf::from(&e.templates_dir)),
        timeout: StdDuration::from_secs(e.timeout),
        log_bodies: if cfg.is_production() {
            LogBodies::Hidden
        } else {
            LogBodies::Shown
        },
    }
}

/// What an operator wants to see once at start-up: where it listens, which database (the
/// absolute path of a SQLite file), which origins are trusted, which plugins are on, and
/// where mail goes.
pub(super) fn log_start(cfg: &Config, app: &App, addr: SocketAddr) {
    let database = match cfg.sqlite_path() {
        Some(path) => std::path::absolute(&path)
            .unwrap_or(path)
            .display()
            .to_string(),
        None => redact_url(&cfg.database_url),
    };
    let p = &app.auth.policy;
    let mut plugins = Vec::new();
    if matches!(app.policy.bearer, BearerPolicy::On { .. }) {
        plugins.push("bearer");
    }
    if app.auth.jwt.is_some() {
        plugins.push("jwt");
    }
    if p.magic_link.enabled {
        plugins.push("magic-link");
    }
    if p.otp.enabled {
        plugins.push("email-otp");
    }
    if app.auth.two_factor.is_some() {
        plugins.push("two-factor");
    }
    tracing::info!(transport = %app.auth.mailer.describe(), "email");
    let a = &app.cookies.attributes;
    if a.same_site == crate::http::cookies::SameSite::None {
        tracing::info!(
            partitioned = a.partitioned,
            "cookies: SameSite=None, so Secure{} (a frontend on another site keeps its session only with Partitioned where third-party cookies are blocked, and only over https)",
            if a.partitioned {
                " and Partitioned"
            } else {
                ""
            }
        );
    }
    if let Some(l) = &app.limiter {
        let ip = &app.policy.ip;
        tracing::info!(
            storage = match l.counters {
                Counters::Memory(_) => "memory (this process only)",
                Counters::Database { .. } => "database",
                Counters::Secondary(_) => "secondary storage (Redis)",
            },
            window = l.global.window,
            max = l.global.max,
            custom_rules = l.custom.len(),
            per_account = app.auth.account_limit.is_some(),
            ip_headers = %ip.headers.join(", "),
            trusted_proxies = ip.trusted_proxies.len(),
            "rate limiting is on{}",
            if ip.trusted_proxies.is_empty() {
                "; a single-address IP header is believed from any client, so make sure your proxy overwrites it (or set [advanced.ip_address] trusted_proxies)"
            } else {
                ""
            }
        );
    }
    let providers: Vec<&str> = app.auth.social.providers.iter().map(|p| p.id()).collect();
    if !providers.is_empty() {
        tracing::info!(
            providers = %providers.join(", "),
            callback = %format!("{}/callback/<provider>", app.auth.social.api_url),
            "social sign-in"
        );
    }
    tracing::info!(
        %addr,
        base_url = %cfg.base_origin(),
        base_path = %cfg.base_path,
        database = %database,
        config = %cfg.source_file.as_deref().map_or_else(|| "none".to_owned(), |p| std::path::absolute(p).unwrap_or(p.to_path_buf()).display().to_string()),
        trusted_origins = %app.origins.describe(),
        plugins = %plugins.join(", "),
        "authkeep is serving better-auth's API"
    );
}

/// `[two_factor]` → the plugin, when it is on. The issuer defaults to `[email] app_name`
/// (better-auth's `appName`).
pub(super) fn two_factor(
    cfg: &Config,
    keys: &Keys,
) -> Option<std::sync::Arc<crate::auth::two_factor::TwoFactor>> {
    use crate::auth::two_factor::{Lockout, TwoFactor, TwoFactorPolicy};
    let t = &cfg.two_factor;
    if !t.enabled {
        return None;
    }
    let policy = TwoFactorPolicy {
        issuer: t
            .issuer
            .clone()
            .unwrap_or_else(|| cfg.email.app_name.clone()),
        skip_verification_on_enable: t.skip_verification_on_enable,
        trust_device_max_age: Duration::seconds(t.trust_device_max_age.max(1)),
        challenge_max_age: Duration::seconds(t.two_factor_cookie_max_age.max(1)),
        otp_by_email: t.otp_by_email,
        otp_expires_in: Duration::seconds(t.otp_expires_in.max(1)),
        otp_allowed_attempts: t.otp_allowed_attempts.max(1),
        backup_code_amount: t.backup_code_amount.clamp(1, 100),
        backup_code_length: t.backup_code_length.clamp(6, 64),
        lockout: t.lockout_enabled.then(|| Lockout {
            max_failed_attempts: t.lockout_max_failed_attempts.max(1),
            duration: Duration::seconds(t.lockout_duration.max(1)),
        }),
        reject_reused_totp: t.reject_reused_totp,
    };
    Some(TwoFactor::new(
        policy,
        keys.sealing.clone(),
        keys.hmac.clone(),
    ))
}
