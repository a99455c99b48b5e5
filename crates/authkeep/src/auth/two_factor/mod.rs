//! better-auth's two-factor plugin: TOTP (authenticator apps), codes by email, backup codes,
//! the sign-in challenge and trusted devices. Secrets and backup codes are stored exactly as
//! better-auth stores them (`symmetricEncrypt` with the shared secret), so a factor enrolled
//! on either server verifies on the other.
//!
//! This file: the policy, enrolment (`enable`, `disable`, `get-totp-uri`,
//! `generate-backup-codes`). `challenge.rs`: the sign-in challenge and trusted devices;
//! `verify.rs`: checking a code (TOTP, email, backup) with attempt limits and lockout.

pub mod backup_codes;
pub mod challenge;
mod error;
pub mod totp;
pub mod verify;

use std::sync::Arc;

use chrono::Duration;

pub use error::TwoFactorCode;

use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime, session, sign_in};
use crate::crypto::{self, HmacKey, SealingKey};
use crate::model::{Session, TwoFactor as Row, User, now_ms};
use crate::store::schema::AdditionalFieldSpec;
use crate::store::{ProfileChange, UserFields};

/// The user field better-auth's plugin adds.
pub const ENABLED_FIELD: &str = "twoFactorEnabled";

/// `user.twoFactorEnabled` as an additional user field: boolean, default false, not settable
/// by clients, returned (better-auth's plugin schema).
pub fn enabled_field(column: Option<String>) -> AdditionalFieldSpec {
    AdditionalFieldSpec {
        name: ENABLED_FIELD.to_owned(),
        column,
        ty: crate::model::FieldType::Boolean,
        required: false,
        default: Some(serde_json::Value::Bool(false)),
        input: false,
        returned: true,
    }
}

/// Whether `user` has two-factor authentication on.
pub fn is_enabled(user: &User) -> bool {
    user.additional.get(ENABLED_FIELD) == Some(&serde_json::Value::Bool(true))
}

/// The plugin's options (better-auth's `twoFactor({...})`).
#[derive(Debug, Clone)]
pub struct TwoFactorPolicy {
    /// Issuer in the TOTP URI when the request names none.
    pub issuer: String,
    pub skip_verification_on_enable: bool,
    pub trust_device_max_age: Duration,
    /// How long a sign-in has to pass its second factor (the `two_factor` cookie).
    pub challenge_max_age: Duration,
    /// Codes by email (better-auth's `otpOptions.sendOTP`).
    pub otp_by_email: bool,
    pub otp_expires_in: Duration,
    pub otp_allowed_attempts: u32,
    pub backup_code_amount: usize,
    pub backup_code_length: usize,
    /// `None`: no account lockout.
    pub lockout: Option<Lockout>,
    /// Refuse a TOTP code already used (authkeep's addition).
    pub reject_reused_totp: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Lockout {
    pub max_failed_attempts: u32,
    pub duration: Duration,
}

/// The plugin: its policy and the keys its formats use.
#[derive(Debug, Clone)]
pub struct TwoFactor {
    pub policy: TwoFactorPolicy,
    /// better-auth's `symmetricEncrypt` key (the secret): TOTP secrets and backup codes.
    pub sealing: SealingKey,
    /// HMAC with the secret: the trusted-device token.
    pub hmac: HmacKey,
}

impl TwoFactor {
    pub fn new(policy: TwoFactorPolicy, sealing: SealingKey, hmac: HmacKey) -> Arc<TwoFactor> {
        Arc::new(TwoFactor {
            policy,
            sealing,
            hmac,
        })
    }

    /// The HMAC key of a stored secret: the decrypted text's bytes, or for `base32:<s>` (a
    /// secret imported from another provider) the decoded bytes.
    pub(super) fn totp_key(&self, row: &Row) -> Result<Vec<u8>, AuthError> {
        let plain = self
            .sealing
            .open(&row.secret)
            .map_err(|_| AuthError::Message("Failed to decrypt the two-factor secret"))?;
        match plain.strip_prefix("base32:") {
            Some(b32) => totp::base32_decode(b32).ok_or(AuthError::Message(
                "The two-factor secret is not valid base32",
            )),
            None => Ok(plain.into_bytes()),
        }
    }
}

/// The plugin, or a 404-worthy error when it is off (routes are not mounted then).
pub(super) fn plugin(auth: &Auth) -> Result<&TwoFactor, AuthError> {
    auth.two_factor
        .as_deref()
        .ok_or(AuthError::Rule(ErrorCode::NotFound))
}

/// The password check of `enable`, `disable`, `get-totp-uri` and `generate-backup-codes`.
async fn require_password(auth: &Auth, user: &User, password: &str) -> Result<(), AuthError> {
    if sign_in::check_password(auth, Some(&user.id), password).await? {
        Ok(())
    } else {
        Err(ErrorCode::InvalidPassword.into())
    }
}

/// Sets `twoFactorEnabled`; returns the updated user.
pub(super) async fn set_enabled(auth: &Auth, user: &User, on: bool) -> Result<User, AuthError> {
    let mut fields = UserFields::new();
    fields.insert(ENABLED_FIELD.to_owned(), serde_json::Value::Bool(on));
    let change = ProfileChange {
        name: None,
        image: None,
        fields: &fields,
    };
    auth.store
        .update_user_profile(&user.id, &change, now_ms())
        .await?
        .ok_or_else(|| ErrorCode::UserNotFound.into())
}

/// A new session in place of `old` (better-auth re-issues the session when the user's
/// two-factor state changes, so the cookie cache carries the new user).
pub(super) async fn replace_session(
    auth: &Auth,
    old: &Session,
    client: &ClientInfo,
    lifetime: Lifetime,
) -> Result<Session, AuthError> {
    let new = session::create(auth, &old.user_id, client, lifetime).await?;
    auth.store.delete_session(&old.token).await?;
    Ok(new)
}

/// What `enable` did.
pub enum Enabled {
    Totp {
        totp_uri: String,
        backup_codes: Vec<String>,
        /// 2FA went on at once (`skip_verification_on_enable`): the new session and user.
        activated: Option<(Session, User)>,
    },
    /// Codes by email are on for the user: the new session and user.
    Otp { session: Session, user: User },
}

pub struct EnableInput<'a> {
    pub password: &'a str,
    pub otp: bool,
    pub issuer: Option<&'a str>,
    pub lifetime: Lifetime,
}

/// `enable`: with TOTP, a new secret and backup codes (active after the first verified code,
/// unless `skip_verification_on_enable`); with `otp`, 2FA by email at once.
pub async fn enable(
    auth: &Auth,
    current: &Session,
    user: &User,
    input: EnableInput<'_>,
    client: &ClientInfo,
) -> Result<Enabled, AuthError> {
    let tf = plugin(auth)?;
    require_password(auth, user, input.password).await?;
    if input.otp {
        if !tf.policy.otp_by_email {
            return Err(TwoFactorCode::OtpNotConfigured.into());
        }
        let user = set_enabled(auth, user, true).await?;
        let session = replace_session(auth, current, client, input.lifetime).await?;
        return Ok(Enabled::Otp { session, user });
    }
    if auth
        .store
        .find_two_factor(&user.id)
        .await?
        .is_some_and(|r| r.is_verified())
    {
        return Err(TwoFactorCode::TotpAlreadyEnabled.into());
    }
    let codes = backup_codes::generate(&tf.policy);
    let sealed_codes = backup_codes::seal(tf, &codes)?;
    let secret = crypto::random_string(32, backup_codes::ALPHANUMERIC);
    let sealed_secret = tf
        .sealing
        .seal(&secret)
        .map_err(|_| AuthError::Message("Failed to encrypt the two-factor secret"))?;
    let skip = tf.policy.skip_verification_on_enable;
    let activated = if skip {
        let user = set_enabled(auth, user, true).await?;
        let session = replace_session(auth, current, client, input.lifetime).await?;
        Some((session, user))
    } else {
        None
    };
    auth.store
        .enrol_two_factor(&user.id, &sealed_secret, &sealed_codes, skip)
        .await?;
    verify::forget_used_totp(auth, &user.id).await?;
    let issuer = input.issuer.unwrap_or(&tf.policy.issuer);
    Ok(Enabled::Totp {
        totp_uri: totp::uri(secret.as_bytes(), issuer, &user.email),
        backup_codes: codes,
        activated,
    })
}

/// `disable`: 2FA off, the factor deleted, the session re-issued; returns the new session and
/// user. `trusted` is the identifier of this device's trust, which is revoked too.
pub async fn disable(
    auth: &Auth,
    current: &Session,
    user: &User,
    password: &str,
    trusted: Option<&str>,
    client: &ClientInfo,
    lifetime: Lifetime,
) -> Result<(Session, User), AuthError> {
    plugin(auth)?;
    require_password(auth, user, password).await?;
    let user = set_enabled(auth, user, false).await?;
    auth.store.delete_two_factor(&user.id).await?;
    verify::forget_used_totp(auth, &user.id).await?;
    let session = replace_session(auth, current, client, lifetime).await?;
    if let Some(id) = trusted {
        challenge::revoke_trust(auth, id).await?;
    }
    Ok((session, user))
}

/// `get-totp-uri`: the URI of the enrolled secret (issuer from the configuration).
pub async fn totp_uri(auth: &Auth, user: &User, password: &str) -> Result<String, AuthError> {
    let tf = plugin(auth)?;
    let row = auth
        .store
        .find_two_factor(&user.id)
        .await?
        .ok_or(TwoFactorCode::TotpNotEnabled)?;
    let key = tf.totp_key(&row)?;
    require_password(auth, user, password).await?;
    Ok(totp::uri(&key, &tf.policy.issuer, &user.email))
}

/// `generate-backup-codes`: a new set replacing the old one.
pub async fn regenerate_backup_codes(
    auth: &Auth,
    user: &User,
    password: &str,
) -> Result<Vec<String>, AuthError> {
    let tf = plugin(auth)?;
    if !is_enabled(user) {
        return Err(TwoFactorCode::TwoFactorNotEnabled.into());
    }
    require_password(auth, user, password).await?;
    let row = auth
        .store
        .find_two_factor(&user.id)
        .await?
        .ok_or(TwoFactorCode::TwoFactorNotEnabled)?;
    let codes = backup_codes::generate(&tf.policy);
    auth.store
        .set_backup_codes(&row.id, &backup_codes::seal(tf, &codes)?)
        .await?;
    Ok(codes)
}
