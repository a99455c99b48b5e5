//! better-auth's email-otp plugin: six-digit codes mailed for sign-in, email verification and
//! password reset. Stored as the verification row `<type>-otp-<email>` → `<otp>:<attempts>`,
//! as better-auth stores them; a wrong guess counts, and too many burn the code.

use chrono::Duration;
use subtle::ConstantTimeEq;

use super::{Auth, AuthError, ClientInfo, ErrorCode, crypto, email, session};
use crate::email::{Kind, Values};
use crate::model::{Session, User, Verification, now_ms};

#[derive(Debug, Clone)]
pub struct OtpPolicy {
    pub enabled: bool,
    pub length: usize,
    pub expires_in: Duration,
    pub allowed_attempts: u32,
    pub disable_sign_up: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpType {
    EmailVerification,
    SignIn,
    ForgetPassword,
}

impl OtpType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email-verification" => Some(OtpType::EmailVerification),
            "sign-in" => Some(OtpType::SignIn),
            "forget-password" => Some(OtpType::ForgetPassword),
            _ => None,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            OtpType::EmailVerification => "email-verification",
            OtpType::SignIn => "sign-in",
            OtpType::ForgetPassword => "forget-password",
        }
    }
}

fn identifier(kind: OtpType, address: &str) -> String {
    format!("{}-otp-{address}", kind.as_str())
}

/// Mails a fresh code. Nothing is stored or sent for an unknown address, except a sign-in code
/// when sign-up by code is allowed; the answer, and the time it takes, are the same either way.
pub async fn send(auth: &Auth, address: &str, kind: OtpType) -> Result<(), AuthError> {
    super::at_least(RESPONSE_FLOOR, async {
        let address = email::normalize(address);
        let user = auth.store.find_user_by_email(&address).await?;
        let may_sign_up = kind == OtpType::SignIn && !auth.otp.disable_sign_up;
        if user.is_none() && !may_sign_up {
            return Ok(());
        }
        let otp = crypto::random_string(auth.otp.length, b"0123456789");
        let id = identifier(kind, &address);
        auth.store.consume_verification(&id).await?; // a new code replaces the old one
        let row = Verification::new(id, format!("{otp}:0"), now_ms(), auth.otp.expires_in);
        auth.store.insert_verification(&row).await?;
        let name = user.as_ref().map_or("", |u| u.name.as_str());
        auth.mailer.send(
            Kind::Otp,
            &address,
            Values {
                url: "",
                name,
                email: &address,
                token: &otp,
                ..Default::default()
            },
        );
        Ok(())
    })
    .await
}

/// Every send takes at least this long, so its timing does not say whether the address has an
/// account (the mail itself goes out in the background).
const RESPONSE_FLOOR: std::time::Duration = std::time::Duration::from_millis(250);

/// A code guess changes the stored row (`<otp>:<attempts>`) only by compare-and-swap; a guess
/// that loses a race re-reads the row and is judged again, so concurrent guesses count exactly
/// as sequential ones would. Each lost race means another request changed the row, and there
/// are only so many changes before the code is used or burnt, so a few rounds always suffice.
const MAX_ROUNDS: usize = 16;

/// Checks a code; with `consume`, a correct code is used up. Wrong codes are counted, and once
/// `allowed_attempts` of them have been counted the code is burnt.
async fn check(
    auth: &Auth,
    address: &str,
    kind: OtpType,
    otp: &str,
    consume: bool,
) -> Result<(), AuthError> {
    let id = identifier(kind, &email::normalize(address));
    for _ in 0..MAX_ROUNDS {
        let Some(row) = auth.store.find_verification(&id).await? else {
            return Err(ErrorCode::InvalidOtp.into());
        };
        let now = now_ms();
        if row.is_expired(now) {
            auth.store.delete_verification(&row.id).await?;
            return Err(ErrorCode::OtpExpired.into());
        }
        let (stored, attempts) = row
            .value
            .rsplit_once(':')
            .unwrap_or((row.value.as_str(), "0"));
        let attempts: u32 = attempts.parse().unwrap_or(u32::MAX);
        if attempts >= auth.otp.allowed_attempts {
            auth.store.delete_verification(&row.id).await?;
            return Err(ErrorCode::TooManyAttempts.into());
        }
        let store = &auth.store;
        if !bool::from(stored.as_bytes().ct_eq(otp.as_bytes())) {
            let counted = format!("{stored}:{}", attempts + 1);
            if store
                .swap_verification_value(&row.id, &row.value, &counted, now)
                .await?
            {
                return Err(ErrorCode::InvalidOtp.into());
            }
        } else if consume {
            if store.delete_verification_if(&row.id, &row.value).await? {
                return Ok(());
            }
        } else if store
            .swap_verification_value(&row.id, &row.value, &row.value, now)
            .await?
        {
            // Still unchanged at this instant: no wrong guess was counted in between.
            return Ok(());
        }
    }
    Err(ErrorCode::InvalidOtp.into())
}

/// `check-verification-otp`: the code is right and the user exists; the code stays usable.
pub async fn check_only(
    auth: &Auth,
    address: &str,
    kind: OtpType,
    otp: &str,
) -> Result<(), AuthError> {
    check(auth, address, kind, otp, false).await?;
    auth.store
        .find_user_by_email(&email::normalize(address))
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    Ok(())
}

/// `email-otp/verify-email`: marks the address verified; signs in with auto sign-in.
pub async fn verify_email(
    auth: &Auth,
    address: &str,
    otp: &str,
    client: &ClientInfo,
) -> Result<(User, Option<Session>), AuthError> {
    check(auth, address, OtpType::EmailVerification, otp, true).await?;
    let mut user = auth
        .store
        .find_user_by_email(&email::normalize(address))
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    let now = now_ms();
    auth.store.mark_email_verified(&user.id, now).await?;
    user.email_verified = true;
    user.updated_at = now;
    let session = if auth.verification.auto_sign_in {
        Some(session::create(auth, &user.id, client, true).await?)
    } else {
        None
    };
    Ok((user, session))
}

/// `sign-in/email-otp`: signs in, creating a verified user on first use (unless sign-up by code
/// is off); an unverified account loses its unproven ways in, as with magic links.
pub async fn sign_in(
    auth: &Auth,
    address: &str,
    otp: &str,
    name: Option<&str>,
    image: Option<&str>,
    client: &ClientInfo,
) -> Result<(User, Session), AuthError> {
    check(auth, address, OtpType::SignIn, otp, true).await?;
    let address = email::normalize(address);
    let now = now_ms();
    let user = match auth.store.find_user_by_email(&address).await? {
        Some(u) if u.email_verified => u,
        Some(mut u) => {
            auth.store.revoke_unproven_access(&u.id, now).await?;
            u.email_verified = true;
            u.updated_at = now;
            u
        }
        None if auth.otp.disable_sign_up => return Err(ErrorCode::InvalidOtp.into()),
        None => {
            let u = User::new(
                name.unwrap_or("").to_owned(),
                address,
                image.map(str::to_owned),
                true,
                now,
            );
            auth.store.create_user(&u).await?;
            u
        }
    };
    let session = session::create(auth, &user.id, client, true).await?;
    Ok((user, session))
}

/// `email-otp/reset-password`: sets a new password with a forget-password code.
pub async fn reset_password(
    auth: &Auth,
    address: &str,
    otp: &str,
    password: &str,
) -> Result<(), AuthError> {
    auth.password.check(password)?;
    check(auth, address, OtpType::ForgetPassword, otp, true).await?;
    let user = auth
        .store
        .find_user_by_email(&email::normalize(address))
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    super::password_reset::set_new_password(auth, &user.id, password).await
}
