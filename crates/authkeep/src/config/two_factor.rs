//! `[two_factor]`: better-auth's two-factor plugin (off by default, as a plugin is).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwoFactorConfig {
    pub enabled: bool,
    /// The issuer shown by authenticator apps (`issuer`; default: `[email] app_name`).
    pub issuer: Option<String>,
    /// Turn 2FA on at `enable`, without a first verified code (`skipVerificationOnEnable`).
    pub skip_verification_on_enable: bool,
    /// Seconds a "trust this device" cookie lasts (`trustDeviceMaxAge`).
    pub trust_device_max_age: i64,
    /// Seconds a sign-in has to pass its second factor (`twoFactorCookieMaxAge`).
    pub two_factor_cookie_max_age: i64,
    /// Codes by email (`otpOptions.sendOTP` through the mailer): `send-otp`/`verify-otp`.
    pub otp_by_email: bool,
    /// Seconds an emailed code is valid (`otpOptions.period`, 3 minutes).
    pub otp_expires_in: i64,
    /// Wrong guesses allowed per emailed code (`otpOptions.allowedAttempts`).
    pub otp_allowed_attempts: u32,
    /// Backup codes per set (`backupCodeOptions.amount`) and characters per code (`length`).
    pub backup_code_amount: usize,
    pub backup_code_length: usize,
    /// Account lockout after consecutive failed verifications (`accountLockout`).
    pub lockout_enabled: bool,
    pub lockout_max_failed_attempts: u32,
    /// Seconds the account stays locked (`accountLockout.durationSeconds`).
    pub lockout_duration: i64,
    /// Refuse a TOTP code that was already used (beyond better-auth, which accepts a code
    /// again for as long as it is valid).
    pub reject_reused_totp: bool,
    /// The table's name (`twoFactorTable` / `schema.twoFactor.modelName`).
    pub model_name: Option<String>,
    /// Logical field → column (`schema.twoFactor.fields`).
    pub fields: std::collections::BTreeMap<String, String>,
}

impl Default for TwoFactorConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            issuer: None,
            skip_verification_on_enable: false,
            trust_device_max_age: 30 * 24 * 3600,
            two_factor_cookie_max_age: 600,
            otp_by_email: false,
            otp_expires_in: 180,
            otp_allowed_attempts: 5,
            backup_code_amount: 10,
            backup_code_length: 10,
            lockout_enabled: true,
            lockout_max_failed_attempts: 10,
            lockout_duration: 900,
            reject_reused_totp: true,
            model_name: None,
            fields: std::collections::BTreeMap::new(),
        }
    }
}
