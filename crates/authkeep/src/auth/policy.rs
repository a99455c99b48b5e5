//! The rules the flows follow: better-auth's options, as plain data. The process layer builds
//! them from the configuration (`serve::wiring`); nothing in `auth` reads the configuration.

use chrono::Duration;

use super::{AuthError, ErrorCode};
use crate::model::AdditionalField;

/// Everything configurable about the flows.
#[derive(Debug, Clone)]
pub struct Policy {
    pub session: SessionPolicy,
    pub email_password: EmailPasswordPolicy,
    pub password: PasswordPolicy,
    pub verification: VerificationPolicy,
    pub reset: ResetPolicy,
    pub magic_link: MagicLinkPolicy,
    pub otp: OtpPolicy,
    pub change_email: ChangeEmailPolicy,
    pub delete_user: DeleteUserPolicy,
    /// Links or codes of one kind that may be outstanding for one address (at least 1).
    pub max_outstanding_per_address: usize,
    /// `<base URL><base path>`: where links in emails point.
    pub api_url: String,
    /// The deployment's additional user fields (`user.additionalFields`), in declaration order.
    pub user_fields: Vec<AdditionalField>,
    /// better-auth's admin plugin, when it is on.
    pub admin: Option<super::admin_plugin::AdminPolicy>,
}

/// better-auth's `session.*` options.
#[derive(Debug, Clone)]
pub struct SessionPolicy {
    /// The admin plugin is on: sessions carry `impersonatedBy`.
    pub admin_plugin: bool,
    pub expires_in: Duration,
    pub update_age: Duration,
    /// `None` when freshness checks are disabled (`freshAge: 0`).
    pub fresh_age: Option<Duration>,
    pub refresh: Refresh,
}

/// Whether sessions slide forward when used (`session.disableSessionRefresh` off) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    Allowed,
    Never,
}

/// `emailAndPassword.*`: whether the flows are on.
#[derive(Debug, Clone)]
pub struct EmailPasswordPolicy {
    pub enabled: bool,
    pub sign_up_enabled: bool,
    /// Sign the user in right after sign-up.
    pub auto_sign_in: bool,
}

/// The password rules (`emailAndPassword.minPasswordLength` and `maxPasswordLength`).
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
}

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> Result<(), AuthError> {
        let len = super::password::js_length(password);
        if len < self.min_length {
            return Err(ErrorCode::PasswordTooShort.into());
        }
        if len > self.max_length {
            return Err(ErrorCode::PasswordTooLong.into());
        }
        Ok(())
    }
}

/// better-auth's email-verification options.
#[derive(Debug, Clone)]
pub struct VerificationPolicy {
    pub required: bool,
    pub send_on_sign_up: bool,
    /// `sendOnSignUp` as configured (unset: each flow decides; social sign-up follows the
    /// provider's `requireEmailVerification`).
    pub send_on_sign_up_configured: Option<bool>,
    pub send_on_sign_in: bool,
    pub auto_sign_in: bool,
    pub expires_in: Duration,
}

/// Password reset by email (`emailAndPassword.*ResetPassword*`).
#[derive(Debug, Clone)]
pub struct ResetPolicy {
    pub enabled: bool,
    pub expires_in: Duration,
    pub revoke_sessions: bool,
}

/// better-auth's magic-link plugin.
#[derive(Debug, Clone)]
pub struct MagicLinkPolicy {
    pub enabled: bool,
    pub expires_in: Duration,
    pub disable_sign_up: bool,
}

/// better-auth's email-otp plugin.
#[derive(Debug, Clone)]
pub struct OtpPolicy {
    pub enabled: bool,
    pub length: usize,
    pub expires_in: Duration,
    pub allowed_attempts: u32,
    pub disable_sign_up: bool,
}

/// `user.changeEmail.*`.
#[derive(Debug, Clone, Default)]
pub struct ChangeEmailPolicy {
    pub enabled: bool,
    /// Ask the old address to confirm before mailing the new one (`sendChangeEmailConfirmation`).
    pub confirm_with_old_email: bool,
    /// An unverified account changes at once (`updateEmailWithoutVerification`).
    pub update_without_verification: bool,
}

/// `user.deleteUser.*`.
#[derive(Debug, Clone, Default)]
pub struct DeleteUserPolicy {
    pub enabled: bool,
    /// Deletion waits for a link mailed to the user (`sendDeleteAccountVerification`).
    pub confirm_by_email: bool,
}
