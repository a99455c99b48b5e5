//! The auth domain: better-auth's email/password and session rules as plain async functions
//! over the store. Nothing here knows about HTTP, cookies or JSON.

pub mod change_email;
pub mod crypto;
pub mod email;
pub mod email_otp;
pub mod email_verification;
pub mod error;
pub mod jwt;
pub mod magic_link;
pub mod password;
pub mod password_reset;
pub mod session;
pub mod sign_in;
pub mod sign_up;
pub mod user;

use chrono::Duration;

use crate::config::Config;
use crate::store::Store;
pub use error::{AuthError, ErrorCode};
pub use password::Hasher;

/// The session rules (better-auth's `session.*` options).
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    pub expires_in: Duration,
    pub update_age: Duration,
    /// `None` when freshness checks are disabled (`freshAge: 0`).
    pub fresh_age: Option<Duration>,
    pub disable_refresh: bool,
}

/// The password rules (`emailAndPassword.*`).
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> Result<(), AuthError> {
        let len = password::js_length(password);
        if len < self.min_length {
            return Err(ErrorCode::PasswordTooShort.into());
        }
        if len > self.max_length {
            return Err(ErrorCode::PasswordTooLong.into());
        }
        Ok(())
    }
}

/// Everything a flow needs: storage, the hashing pool and the rules.
#[derive(Debug, Clone)]
pub struct Auth {
    pub store: Store,
    pub hasher: Hasher,
    pub session: SessionPolicy,
    pub password: PasswordPolicy,
    pub sign_up_enabled: bool,
    pub email_password_enabled: bool,
    pub auto_sign_in: bool,
    pub delete_user_enabled: bool,
    /// better-auth's jwt plugin, when enabled.
    pub jwt: Option<std::sync::Arc<jwt::Jwt>>,
    pub mailer: crate::email::Mailer,
    pub verification: VerificationPolicy,
    pub reset: password_reset::ResetPolicy,
    pub magic_link: magic_link::MagicLinkPolicy,
    pub otp: email_otp::OtpPolicy,
    pub change_email: change_email::ChangeEmailPolicy,
    /// Deletion waits for a link mailed to the user (`sendDeleteAccountVerification`).
    pub delete_user_by_email: bool,
    /// Links or codes of one kind that may be outstanding for one address (at least 1).
    pub max_outstanding_per_address: usize,
    /// Signs email-verification tokens (better-auth's secret).
    pub secret: String,
    /// `<base URL><base path>`: where links in emails point.
    pub api_url: String,
}

/// better-auth's email-verification options.
#[derive(Debug, Clone)]
pub struct VerificationPolicy {
    pub required: bool,
    pub send_on_sign_up: bool,
    pub send_on_sign_in: bool,
    pub auto_sign_in: bool,
    pub expires_in: i64,
}

impl Auth {
    pub fn new(
        store: Store,
        hasher: Hasher,
        cfg: &Config,
        secret: &crate::config::Secret,
        mailer: crate::email::Mailer,
    ) -> Self {
        let s = &cfg.session;
        let origin = cfg.base_origin();
        let jwt = cfg.jwt.enabled.then(|| {
            let j = &cfg.jwt;
            let policy = jwt::JwtPolicy {
                algorithm: j.algorithm,
                expiration: Duration::seconds(j.expiration),
                issuer: j.issuer.clone().unwrap_or_else(|| origin.clone()),
                audience: j.audience.clone().unwrap_or_else(|| origin.clone()),
                rotation_interval: (j.rotation_interval > 0)
                    .then(|| Duration::seconds(j.rotation_interval)),
                grace_period: Duration::seconds(j.grace_period),
            };
            std::sync::Arc::new(jwt::Jwt::new(
                policy,
                store.clone(),
                secret.expose().to_owned(),
            ))
        });
        let v = &cfg.email_verification;
        Self {
            jwt,
            mailer,
            verification: VerificationPolicy {
                required: v.required,
                send_on_sign_up: v.send_on_sign_up.unwrap_or(v.required),
                send_on_sign_in: v.send_on_sign_in,
                auto_sign_in: v.auto_sign_in_after_verification,
                expires_in: v.expires_in,
            },
            reset: password_reset::ResetPolicy {
                enabled: cfg.password_reset.enabled,
                expires_in: Duration::seconds(cfg.password_reset.token_expires_in),
                revoke_sessions: cfg.password_reset.revoke_sessions_on_reset,
            },
            magic_link: magic_link::MagicLinkPolicy {
                enabled: cfg.magic_link.enabled,
                expires_in: Duration::seconds(cfg.magic_link.expires_in),
                disable_sign_up: cfg.magic_link.disable_sign_up,
            },
            otp: email_otp::OtpPolicy {
                enabled: cfg.email_otp.enabled,
                length: cfg.email_otp.otp_length.clamp(4, 12),
                expires_in: Duration::seconds(cfg.email_otp.expires_in),
                allowed_attempts: cfg.email_otp.allowed_attempts.max(1),
                disable_sign_up: cfg.email_otp.disable_sign_up,
            },
            change_email: change_email::ChangeEmailPolicy {
                enabled: cfg.user.change_email,
                confirm_with_old_email: cfg.user.change_email_confirmation,
                update_without_verification: cfg.user.update_email_without_verification,
            },
            delete_user_by_email: cfg.user.delete_user_verification,
            max_outstanding_per_address: (cfg.verification.max_outstanding_per_address as usize)
                .max(1),
            secret: secret.expose().to_owned(),
            api_url: format!("{}{}", cfg.base_origin(), cfg.base_path),
            store,
            hasher,
            session: SessionPolicy {
                expires_in: Duration::seconds(s.expires_in),
                update_age: Duration::seconds(s.update_age),
                fresh_age: (s.fresh_age > 0).then(|| Duration::seconds(s.fresh_age)),
                disable_refresh: s.disable_refresh,
            },
            password: PasswordPolicy {
                min_length: cfg.email_and_password.min_password_length,
                max_length: cfg.email_and_password.max_password_length,
            },
            email_password_enabled: cfg.email_and_password.enabled,
            sign_up_enabled: cfg.email_and_password.enabled
                && !cfg.email_and_password.disable_sign_up,
            auto_sign_in: cfg.email_and_password.auto_sign_in,
            delete_user_enabled: cfg.user.delete_user,
        }
    }
}

/// Runs `work` and answers no sooner than `floor` after it started, so an endpoint's timing
/// does not reveal which branch it took (whether an address has an account, say).
pub async fn at_least<T>(
    floor: std::time::Duration,
    work: impl std::future::Future<Output = T>,
) -> T {
    let started = tokio::time::Instant::now();
    let out = work.await;
    tokio::time::sleep_until(started + floor).await;
    out
}

/// Who is asking: stored on new sessions as better-auth does (`""` when unknown).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip_address: String,
    pub user_agent: String,
}
