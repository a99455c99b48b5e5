//! better-auth's email-otp plugin: numeric codes mailed for sign-in, email verification and
//! password reset. Stored as the verification row `<type>-otp-<email>` → `<otp>:<attempts>`,
//! as better-auth stores them; a wrong guess counts, and too many burn the code.

use std::time::Duration;

use subtle::ConstantTimeEq;

use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime, password_reset, session};
use crate::crypto;
use crate::email::{Kind, Values};
use crate::model::{Email, Session, User, Verification, now_ms};

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

/// Whether a correct code is used up by the check (`check-verification-otp` keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Consume,
    Keep,
}

fn identifier(kind: OtpType, address: &Email) -> String {
    format!("{}-otp-{address}", kind.as_str())
}

/// Every send takes at least this long, so its timing does not say whether the address has an
/// account (the mail itself goes out in the background).
const RESPONSE_FLOOR: Duration = Duration::from_millis(250);

/// Mails a fresh code. Nothing is stored or sent for an unknown address, except a sign-in code
/// when sign-up by code is allowed; the answer, and the time it takes, are the same either way.
pub async fn send(auth: &Auth, address: &Email, kind: OtpType) -> Result<(), AuthError> {
    super::at_least(RESPONSE_FLOOR, async {
        let p = &auth.policy.otp;
        let user = auth.store.find_user_by_email(address.as_str()).await?;
        let may_sign_up = kind == OtpType::SignIn && !p.disable_sign_up;
        let otp = crypto::random_string(p.length, b"0123456789");
        // A new code replaces the old one. An unknown address gets a code too, which is never
        // mailed: guesses against it are counted and burnt exactly like guesses against a
        // real one, so the answers to guesses cannot tell whether the address has an account.
        let row = Verification::new(
            identifier(kind, address),
            format!("{otp}:0"),
            now_ms(),
            p.expires_in,
        );
        auth.store.replace_verification(&row).await?;
        if user.is_none() && !may_sign_up {
            return Ok(());
        }
        let name = user.as_ref().map_or("", |u| u.name.as_str());
        auth.mailer.send(
            Kind::Otp,
            address.as_str(),
            Values {
                url: "",
                name,
                email: address.as_str(),
                token: &otp,
                ..Default::default()
            },
        );
        Ok(())
    })
    .await
}

/// A code guess changes the stored row (`<otp>:<attempts>`) only by compare-and-swap; a guess
/// that loses a race re-reads the row and is judged again. Each lost race means another request
/// changed the row (counted a wrong guess, or used or burnt the code), so with an attempt limit
/// below the number of rounds every guess is counted as a sequential one would be; a guess that
/// loses every round is refused uncounted, and a right guess only succeeds by winning a swap, so
/// no more than `allowed_attempts + 1` guesses are ever judged against the code.
const MAX_ROUNDS: usize = 16;

/// Checks a code. Wrong codes are counted, and once `allowed_attempts` of them have been
/// counted the code is burnt.
async fn check(
    auth: &Auth,
    address: &Email,
    kind: OtpType,
    otp: &str,
    usage: Use,
) -> Result<(), AuthError> {
    let id = identifier(kind, address);
    let store = &auth.store;
    for _ in 0..MAX_ROUNDS {
        let Some(row) = store.find_verification(&id).await? else {
            return Err(ErrorCode::InvalidOtp.into());
        };
        let now = now_ms();
        if row.is_expired(now) {
            store.delete_verification(&row).await?;
            return Err(ErrorCode::OtpExpired.into());
        }
        let (stored, attempts) = row
            .value
            .rsplit_once(':')
            .unwrap_or((row.value.as_str(), "0"));
        let attempts: u32 = attempts.parse().unwrap_or(u32::MAX);
        if attempts >= auth.policy.otp.allowed_attempts {
            store.delete_verification(&row).await?;
            return Err(ErrorCode::TooManyAttempts.into());
        }
        let right = bool::from(stored.as_bytes().ct_eq(otp.as_bytes()));
        let settled = match (right, usage) {
            (false, _) => {
                let counted = format!("{stored}:{}", attempts + 1);
                if store
                    .swap_verification_value(&row, &row.value, &counted, now)
                    .await?
                {
                    return Err(ErrorCode::InvalidOtp.into());
                }
                false
            }
            (true, Use::Consume) => store.delete_verification_if(&row, &row.value).await?,
            // Unchanged at this instant: no wrong guess was counted in between.
            (true, Use::Keep) => {
                store
                    .swap_verification_value(&row, &row.value, &row.value, now)
                    .await?
            }
        };
        if settled {
            return Ok(());
        }
    }
    Err(ErrorCode::InvalidOtp.into())
}

async fn existing_user(auth: &Auth, address: &Email) -> Result<User, AuthError> {
    auth.store
        .find_user_by_email(address.as_str())
        .await?
        .ok_or_else(|| ErrorCode::UserNotFound.into())
}

/// `check-verification-otp`: the code is right and the user exists; the code stays usable.
pub async fn check_only(
    auth: &Auth,
    address: &Email,
    kind: OtpType,
    otp: &str,
) -> Result<(), AuthError> {
    check(auth, address, kind, otp, Use::Keep).await?;
    existing_user(auth, address).await.map(|_| ())
}

/// `email-otp/verify-email`: marks the address verified; signs in with auto sign-in.
pub async fn verify_email(
    auth: &Auth,
    address: &Email,
    otp: &str,
    client: &ClientInfo,
) -> Result<(User, Option<Session>), AuthError> {
    check(auth, address, OtpType::EmailVerification, otp, Use::Consume).await?;
    let mut user = existing_user(auth, address).await?;
    let now = now_ms();
    auth.store.mark_email_verified(&user.id, now).await?;
    user.email_verified = true;
    user.updated_at = now;
    let session = if auth.policy.verification.auto_sign_in {
        Some(session::create(auth, &user.id, client, Lifetime::Remembered).await?)
    } else {
        None
    };
    Ok((user, session))
}

/// `sign-in/email-otp`: signs in, creating a verified user on first use (unless sign-up by code
/// is off); an unverified account loses its unproven ways in, as with magic links.
pub async fn sign_in(
    auth: &Auth,
    address: &Email,
    otp: &str,
    name: Option<&str>,
    image: Option<&str>,
    client: &ClientInfo,
) -> Result<(User, Session), AuthError> {
    check(auth, address, OtpType::SignIn, otp, Use::Consume).await?;
    let now = now_ms();
    let user = match auth.store.find_user_by_email(address.as_str()).await? {
        Some(u) if u.email_verified => u,
        Some(mut u) => {
            auth.store.revoke_unproven_access(&u.id, now).await?;
            u.email_verified = true;
            u.updated_at = now;
            u
        }
        None if auth.policy.otp.disable_sign_up => return Err(ErrorCode::InvalidOtp.into()),
        None => {
            super::sign_up::create_passwordless(auth, name.unwrap_or(""), address, image)
                .await?
                .0
        }
    };
    let session = session::create(auth, &user.id, client, Lifetime::Remembered).await?;
    Ok((user, session))
}

/// `email-otp/reset-password`: sets a new password with a forget-password code.
pub async fn reset_password(
    auth: &Auth,
    address: &Email,
    otp: &str,
    password: &str,
) -> Result<(), AuthError> {
    auth.policy.password.check(password)?;
    check(auth, address, OtpType::ForgetPassword, otp, Use::Consume).await?;
    let user = existing_user(auth, address).await?;
    password_reset::set_new_password(auth, &user, password).await
}
