//! The sign-in challenge and trusted devices, with better-auth's rows and values:
//! - a password sign-in of a user with 2FA on (from an untrusted device) gets no session; it
//!   gets the challenge `2fa-<20 chars>` (the `two_factor` cookie's value), a verification row
//!   `2fa-…` → user id and a row `2fa-attempts-2fa-…` → `"0"`, both for the cookie's lifetime;
//! - a device is trusted by the signed `trust_device` cookie
//!   `<b64url(HMAC(secret, "<userId>!trust-device-<32>"))>!trust-device-<32>` and the row
//!   `trust-device-<32>` → user id; each sign-in through it replaces both (rotation).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::{TwoFactor, TwoFactorCode, is_enabled, plugin};
use crate::auth::{Auth, AuthError, ClientInfo, Lifetime, session};
use crate::crypto::{self, ct_eq_str};
use crate::model::{Session, User, Verification, now_ms};

const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const TRUST_PREFIX: &str = "trust-device-";

/// What a password sign-in leads to once the password is right.
#[derive(Debug)]
pub enum AfterSignIn {
    /// No second factor is asked (2FA is off, or the device is trusted). `trust`: the new
    /// value of the rotated `trust_device` cookie.
    Proceed { trust: Option<String> },
    /// The session was withdrawn; the client must pass a second factor.
    Challenge {
        /// The `two_factor` cookie's value.
        key: String,
        /// better-auth's `twoFactorMethods`: `totp` with a verified secret, `otp` with codes
        /// by email.
        methods: Vec<&'static str>,
        /// The request carried a `trust_device` cookie that no longer holds: expire it.
        expire_trust: bool,
    },
}

/// better-auth's after-hook on `/sign-in/email`. `session` is the one the password sign-in
/// created; `trust_cookie` the verified value of a `trust_device` cookie, if sent.
pub async fn after_sign_in(
    auth: &Auth,
    user: &User,
    session: &Session,
    trust_cookie: Option<&str>,
) -> Result<AfterSignIn, AuthError> {
    let Some(tf) = auth.two_factor.as_deref() else {
        return Ok(AfterSignIn::Proceed { trust: None });
    };
    if !is_enabled(user) {
        return Ok(AfterSignIn::Proceed { trust: None });
    }
    if let Some(value) = trust_cookie
        && let Some(identifier) = trusted(auth, tf, user, value).await?
    {
        revoke_trust(auth, &identifier).await?;
        let trust = trust_device(auth, &user.id).await?;
        return Ok(AfterSignIn::Proceed { trust: Some(trust) });
    }
    auth.store.delete_session(&session.token).await?;
    let key = format!("2fa-{}", crypto::random_string(20, ALPHANUMERIC));
    let now = now_ms();
    let lifetime = tf.policy.challenge_max_age;
    auth.store
        .replace_verification(&Verification::new(
            key.clone(),
            user.id.clone(),
            now,
            lifetime,
        ))
        .await?;
    auth.store
        .replace_verification(&Verification::new(
            attempts_identifier(&key),
            "0".to_owned(),
            now,
            lifetime,
        ))
        .await?;
    let mut methods = Vec::new();
    if auth
        .store
        .find_two_factor(&user.id)
        .await?
        .is_some_and(|r| r.is_verified())
    {
        methods.push("totp");
    }
    if tf.policy.otp_by_email {
        methods.push("otp");
    }
    Ok(AfterSignIn::Challenge {
        key,
        methods,
        expire_trust: trust_cookie.is_some(),
    })
}

pub(super) fn attempts_identifier(key: &str) -> String {
    format!("2fa-attempts-{key}")
}

fn trust_token(tf: &TwoFactor, user_id: &str, identifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(tf.hmac.mac(format!("{user_id}!{identifier}").as_bytes()))
}

/// The trust identifier of `value` when it is a live trust of `user`'s.
async fn trusted(
    auth: &Auth,
    tf: &TwoFactor,
    user: &User,
    value: &str,
) -> Result<Option<String>, AuthError> {
    let Some((token, identifier)) = value.split_once('!') else {
        return Ok(None);
    };
    if token.is_empty() || identifier.is_empty() {
        return Ok(None);
    }
    if !ct_eq_str(token, &trust_token(tf, &user.id, identifier)) {
        return Ok(None);
    }
    let row = auth.store.find_verification(identifier).await?;
    let live = row.is_some_and(|r| r.value == user.id && !r.is_expired(now_ms()));
    Ok(live.then(|| identifier.to_owned()))
}

/// The identifier inside a `trust_device` cookie value (to revoke it).
pub fn trust_identifier(value: &str) -> Option<&str> {
    value
        .split_once('!')
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty())
}

/// Trusts this device for `user_id`: a new row, and the cookie value to set.
pub async fn trust_device(auth: &Auth, user_id: &str) -> Result<String, AuthError> {
    let tf = plugin(auth)?;
    let identifier = format!("{TRUST_PREFIX}{}", crypto::random_string(32, ALPHANUMERIC));
    auth.store
        .replace_verification(&Verification::new(
            identifier.clone(),
            user_id.to_owned(),
            now_ms(),
            tf.policy.trust_device_max_age,
        ))
        .await?;
    Ok(format!(
        "{}!{identifier}",
        trust_token(tf, user_id, &identifier)
    ))
}

/// Forgets a trusted device (its row); unknown identifiers are ignored.
pub async fn revoke_trust(auth: &Auth, identifier: &str) -> Result<(), AuthError> {
    if let Some(row) = auth.store.find_verification(identifier).await? {
        auth.store.delete_verification(&row).await?;
    }
    Ok(())
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The `two_factor` cookie's value (`2fa-…`).
    pub key: String,
    pub user: User,
    pub expires_at: DateTime<Utc>,
}

/// The sign-in behind a `two_factor` cookie value; `INVALID_TWO_FACTOR_COOKIE` when there is
/// none (no cookie, a used or expired challenge, a deleted user).
pub async fn pending(auth: &Auth, key: Option<&str>) -> Result<Pending, AuthError> {
    let invalid = || AuthError::from(TwoFactorCode::InvalidTwoFactorCookie);
    let key = key.ok_or_else(invalid)?;
    let row = auth
        .store
        .find_verification(key)
        .await?
        .filter(|r| !r.is_expired(now_ms()))
        .ok_or_else(invalid)?;
    let user = auth
        .store
        .find_user_by_id(&row.value)
        .await?
        .ok_or_else(invalid)?;
    Ok(Pending {
        key: key.to_owned(),
        user,
        expires_at: row.expires_at,
    })
}

/// A passed challenge: the session, and the trust cookie value when asked for.
pub struct Completed {
    pub session: Session,
    pub user: User,
    pub trust: Option<String>,
}

/// Ends a challenge whose factor was right: uses the challenge up (only once, whoever races),
/// creates the session and, with `trust_device`, trusts the device.
pub async fn complete(
    auth: &Auth,
    pending: Pending,
    client: &ClientInfo,
    lifetime: Lifetime,
    trust_device_too: bool,
) -> Result<Completed, AuthError> {
    let consumed = auth.store.consume_verification(&pending.key).await?;
    if consumed.is_none_or(|r| r.value != pending.user.id) {
        return Err(TwoFactorCode::InvalidTwoFactorCookie.into());
    }
    let session = session::create(auth, &pending.user.id, client, lifetime).await?;
    let trust = if trust_device_too {
        Some(trust_device(auth, &pending.user.id).await?)
    } else {
        None
    };
    Ok(Completed {
        session,
        user: pending.user,
        trust,
    })
}
