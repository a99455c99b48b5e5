//! Checking a second factor (TOTP, a code by email, a backup code), either inside a session
//! (enrolment, re-verification) or to finish a sign-in challenge. At sign-in, as better-auth:
//! - each challenge allows 5 attempts; an attempt takes the `2fa-attempts-…` row (atomic), so
//!   concurrent guesses on one challenge are judged one at a time and the others refused;
//! - consecutive failures count on the `twoFactor` row (one atomic increment); at the limit the
//!   account is locked (`ACCOUNT_TEMPORARILY_LOCKED`) until `lockedUntil`.

use chrono::DateTime;

use super::challenge::{self, Completed, Pending};
use super::{TwoFactor, TwoFactorCode, backup_codes, is_enabled, plugin, totp};
use crate::auth::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime};
use crate::crypto::{self, ct_eq_str};
use crate::email::{Kind, Values};
use crate::model::{Session, TwoFactor as Row, User, Verification, now_ms};

/// better-auth's attempts per challenge.
const CHALLENGE_ATTEMPTS: u32 = 5;

/// Who is presenting a factor.
pub enum Caller {
    /// A signed-in user (enrolment or a check inside the session).
    Session { session: Session, user: User },
    /// A sign-in waiting for its second factor (the `two_factor` cookie).
    SignIn(Pending),
}

impl Caller {
    fn user(&self) -> &User {
        match self {
            Caller::Session { user, .. } => user,
            Caller::SignIn(p) => &p.user,
        }
    }

    /// better-auth's key for this caller's emailed code.
    fn otp_key(&self) -> String {
        match self {
            Caller::Session { session, user } => format!("{}!{}", user.id, session.id),
            Caller::SignIn(p) => p.key.clone(),
        }
    }
}

/// A factor that was right.
pub enum Verified {
    /// Inside a session: the session (re-issued when 2FA just went on) and the user.
    Session {
        session: Session,
        user: User,
        reissued: bool,
    },
    /// A sign-in finished.
    SignIn(Completed),
    /// A backup code checked with `disableSession`: no session is made.
    NoSession { token: Option<String>, user: User },
}

/// What the verify endpoints take besides the code.
#[derive(Debug, Clone, Copy)]
pub struct Finish<'a> {
    pub trust_device: bool,
    pub client: &'a ClientInfo,
    /// The lifetime of a session made here (a "don't remember" sign-in keeps it short).
    pub lifetime: Lifetime,
}

async fn finish(auth: &Auth, caller: Caller, how: Finish<'_>) -> Result<Verified, AuthError> {
    match caller {
        Caller::Session { session, user } => Ok(Verified::Session {
            session,
            user,
            reissued: false,
        }),
        Caller::SignIn(p) => Ok(Verified::SignIn(
            challenge::complete(auth, p, how.client, how.lifetime, how.trust_device).await?,
        )),
    }
}

/// One attempt on a challenge, taken from its counter row until it is put back.
struct Attempt {
    identifier: String,
    attempts: u32,
    expires_at: DateTime<chrono::Utc>,
}

impl Attempt {
    async fn begin(auth: &Auth, p: &Pending) -> Result<Attempt, AuthError> {
        let identifier = challenge::attempts_identifier(&p.key);
        let taken = auth
            .store
            .consume_verification(&identifier)
            .await?
            .ok_or(TwoFactorCode::InvalidTwoFactorCookie)?;
        let attempts = taken.value.parse::<u32>().unwrap_or(CHALLENGE_ATTEMPTS);
        if attempts >= CHALLENGE_ATTEMPTS {
            auth.store.consume_verification(&p.key).await?;
            return Err(TwoFactorCode::TooManyAttemptsRequestNewCode.into());
        }
        Ok(Attempt {
            identifier,
            attempts,
            expires_at: p.expires_at,
        })
    }

    async fn put_back(self, auth: &Auth, failed: bool) -> Result<(), AuthError> {
        let count = self.attempts + u32::from(failed);
        let mut row = Verification::new(
            self.identifier,
            count.to_string(),
            now_ms(),
            Default::default(),
        );
        row.expires_at = self.expires_at;
        auth.store.replace_verification(&row).await?;
        Ok(())
    }
}

async fn assert_not_locked(auth: &Auth, tf: &TwoFactor, row: &Row) -> Result<(), AuthError> {
    let (Some(_), Some(until)) = (tf.policy.lockout, row.locked_until) else {
        return Ok(());
    };
    let now = now_ms();
    if until > now {
        return Err(TwoFactorCode::AccountTemporarilyLocked.into());
    }
    auth.store
        .clear_expired_two_factor_lock(&row.id, now)
        .await?;
    Ok(())
}

async fn record_failure(auth: &Auth, tf: &TwoFactor, row: &Row) -> Result<(), AuthError> {
    if let Some(l) = tf.policy.lockout {
        let threshold = i32::try_from(l.max_failed_attempts).unwrap_or(i32::MAX);
        auth.store
            .record_two_factor_failure(&row.id, threshold, now_ms() + l.duration)
            .await?;
    }
    Ok(())
}

async fn reset_failures(auth: &Auth, tf: &TwoFactor, row: &Row) -> Result<(), AuthError> {
    if tf.policy.lockout.is_some() {
        auth.store.reset_two_factor_failures(&row.id).await?;
    }
    Ok(())
}

/// The row that records the last TOTP step used (authkeep's reuse check).
fn used_identifier(user_id: &str) -> String {
    format!("2fa-totp-used-{user_id}")
}

/// Forgets the last used step (a new secret starts afresh).
pub(super) async fn forget_used_totp(auth: &Auth, user_id: &str) -> Result<(), AuthError> {
    Ok(auth
        .store
        .forget_totp_step(&used_identifier(user_id))
        .await?)
}

/// `verify-totp`.
pub async fn verify_totp(
    auth: &Auth,
    caller: Caller,
    code: &str,
    how: Finish<'_>,
) -> Result<Verified, AuthError> {
    let tf = plugin(auth)?;
    let sign_in = matches!(caller, Caller::SignIn(_));
    let row = auth
        .store
        .find_two_factor(&caller.user().id)
        .await?
        .ok_or(TwoFactorCode::TotpNotEnabled)?;
    if sign_in && !row.is_verified() {
        return Err(TwoFactorCode::TotpNotEnabled.into());
    }
    let attempt = match &caller {
        Caller::SignIn(p) => {
            assert_not_locked(auth, tf, &row).await?;
            Some(Attempt::begin(auth, p).await?)
        }
        Caller::Session { .. } => None,
    };
    let key = match tf.totp_key(&row) {
        Ok(k) => k,
        Err(e) => {
            if let Some(a) = attempt {
                a.put_back(auth, false).await?;
            }
            return Err(e);
        }
    };
    let now = now_ms();
    let right = match totp::matching_step(&key, code, now.timestamp_millis()) {
        Some(step) if tf.policy.reject_reused_totp => {
            let keep = tf
                .policy
                .challenge_max_age
                .max(chrono::Duration::seconds(120));
            auth.store
                .claim_totp_step(&used_identifier(&row.user_id), step, now, keep)
                .await?
        }
        Some(_) => true,
        None => false,
    };
    if !right {
        if let Some(a) = attempt {
            a.put_back(auth, true).await?;
            record_failure(auth, tf, &row).await?;
        }
        return Err(TwoFactorCode::InvalidCode.into());
    }
    if sign_in {
        reset_failures(auth, tf, &row).await?;
    }
    if !row.is_verified() {
        auth.store.mark_two_factor_verified(&row.id).await?;
        if let Caller::Session { session, user } = &caller
            && !is_enabled(user)
        {
            let user = super::set_enabled(auth, user, true).await?;
            let session = super::replace_session(auth, session, how.client, how.lifetime).await?;
            return Ok(Verified::Session {
                session,
                user,
                reissued: true,
            });
        }
    }
    finish(auth, caller, how).await
}

/// `send-otp`: a 6-digit code by email, valid for `otp_expires_in`.
pub async fn send_otp(auth: &Auth, caller: &Caller) -> Result<(), AuthError> {
    let tf = plugin(auth)?;
    let code = crypto::random_string(6, b"0123456789");
    auth.store
        .replace_verification(&Verification::new(
            format!("2fa-otp-{}", caller.otp_key()),
            format!("{code}:0"),
            now_ms(),
            tf.policy.otp_expires_in,
        ))
        .await?;
    let user = caller.user();
    auth.mailer.send(
        Kind::Otp,
        &user.email,
        Values {
            name: &user.name,
            email: &user.email,
            token: &code,
            ..Default::default()
        },
    );
    Ok(())
}

/// `verify-otp`: the emailed code, with better-auth's per-code attempt counter (`<otp>:<n>`).
pub async fn verify_otp(
    auth: &Auth,
    caller: Caller,
    code: &str,
    how: Finish<'_>,
) -> Result<Verified, AuthError> {
    let tf = plugin(auth)?;
    let row = match &caller {
        Caller::SignIn(p) => auth.store.find_two_factor(&p.user.id).await?,
        Caller::Session { .. } => None,
    };
    if let Some(row) = &row {
        assert_not_locked(auth, tf, row).await?;
    }
    let identifier = format!("2fa-otp-{}", caller.otp_key());
    let taken = auth
        .store
        .consume_verification(&identifier)
        .await?
        .filter(|v| !v.is_expired(now_ms()))
        .ok_or(TwoFactorCode::OtpHasExpired)?;
    let (otp, counter) = taken.value.split_once(':').unwrap_or((&taken.value, "0"));
    let attempts = counter.parse::<u32>().unwrap_or(0);
    if attempts >= tf.policy.otp_allowed_attempts {
        return Err(TwoFactorCode::TooManyAttemptsRequestNewCode.into());
    }
    if ct_eq_str(otp, code) {
        if let Some(row) = &row {
            reset_failures(auth, tf, row).await?;
        }
        if !is_enabled(caller.user()) {
            let Caller::Session { session, user } = &caller else {
                return Err(ErrorCode::FailedToCreateSession.into());
            };
            let user = super::set_enabled(auth, user, true).await?;
            let session = super::replace_session(auth, session, how.client, how.lifetime).await?;
            return Ok(Verified::Session {
                session,
                user,
                reissued: true,
            });
        }
        return finish(auth, caller, how).await;
    }
    let mut again = Verification::new(
        identifier,
        format!("{otp}:{}", attempts + 1),
        now_ms(),
        Default::default(),
    );
    again.expires_at = taken.expires_at;
    auth.store.replace_verification(&again).await?;
    if let Some(row) = &row {
        record_failure(auth, tf, row).await?;
    }
    Err(TwoFactorCode::InvalidCode.into())
}

/// `verify-backup-code`: uses one code up (a compare-and-swap on the stored list, so a code
/// raced twice succeeds once).
pub async fn verify_backup_code(
    auth: &Auth,
    caller: Caller,
    code: &str,
    disable_session: bool,
    how: Finish<'_>,
) -> Result<Verified, AuthError> {
    let tf = plugin(auth)?;
    let row = auth
        .store
        .find_two_factor(&caller.user().id)
        .await?
        .ok_or(TwoFactorCode::BackupCodesNotEnabled)?;
    let sign_in = matches!(caller, Caller::SignIn(_));
    let attempt = match &caller {
        Caller::SignIn(p) => {
            assert_not_locked(auth, tf, &row).await?;
            Some(Attempt::begin(auth, p).await?)
        }
        Caller::Session { .. } => None,
    };
    let left = backup_codes::open(tf, &row.backup_codes)
        .and_then(|codes| backup_codes::use_code(&codes, code));
    let Some(left) = left else {
        if let Some(a) = attempt {
            a.put_back(auth, true).await?;
            record_failure(auth, tf, &row).await?;
        }
        return Err(TwoFactorCode::InvalidBackupCode.into());
    };
    let sealed = backup_codes::seal(tf, &left)?;
    if !auth
        .store
        .swap_backup_codes(&row.id, &row.backup_codes, &sealed)
        .await?
    {
        if let Some(a) = attempt {
            a.put_back(auth, false).await?;
        }
        return Err(TwoFactorCode::BackupCodeConflict.into());
    }
    if sign_in {
        reset_failures(auth, tf, &row).await?;
    }
    if disable_session {
        let (token, user) = match caller {
            Caller::Session { session, user } => (Some(session.token), user),
            Caller::SignIn(p) => (None, p.user),
        };
        return Ok(Verified::NoSession { token, user });
    }
    finish(auth, caller, how).await
}
