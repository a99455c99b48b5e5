//! Password reset by email: a 24-character token stored as the verification row
//! `reset-password:<token>` → user id, as better-auth stores it; consumed once.

use crate::crypto;
use std::time::Duration as StdDuration;

use super::email_token::url_component;
use super::{Auth, AuthError, ErrorCode};
use crate::email::Kind;
use crate::model::{Email, User, Verification, now_ms};
use crate::store::{PasswordSet, ValueMatch};

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Every request takes at least this long, so the answer's timing does not say whether the
/// address has an account (the mail itself is sent in the background).
const RESPONSE_FLOOR: StdDuration = StdDuration::from_millis(250);

const PREFIX: &str = "reset-password:";

fn identifier(token: &str) -> String {
    format!("{PREFIX}{token}")
}

/// `request-password-reset`: mails a link to a known address; same answer and timing otherwise.
pub async fn request(
    auth: &Auth,
    email: &Email,
    redirect_to: Option<&str>,
) -> Result<(), AuthError> {
    if !auth.policy.reset.enabled {
        return Err(ErrorCode::ResetPasswordDisabled.into());
    }
    super::at_least(RESPONSE_FLOOR, async {
        let Some(user) = auth.store.find_user_by_email(email.as_str()).await? else {
            return Ok::<(), AuthError>(());
        };
        let token = crypto::random_string(24, ALNUM);
        let row = Verification::new(
            identifier(&token),
            user.id.clone(),
            now_ms(),
            auth.policy.reset.expires_in,
        );
        auth.store
            .insert_bounded_verification(
                &row,
                PREFIX,
                ValueMatch::Exact(&user.id),
                auth.policy.max_outstanding_per_address,
            )
            .await?;
        let callback = url_component(redirect_to.unwrap_or(""));
        let url = format!(
            "{}/reset-password/{token}?callbackURL={callback}",
            auth.policy.api_url
        );
        auth.mailer
            .send_to_user(Kind::ResetPassword, &user, &url, &token);
        Ok(())
    })
    .await
}

/// Whether a reset token is live (the `GET reset-password/:token` redirect; does not consume it).
pub async fn is_valid(auth: &Auth, token: &str) -> Result<bool, AuthError> {
    let Some(row) = auth.store.find_verification(&identifier(token)).await? else {
        return Ok(false);
    };
    if row.is_expired(now_ms()) {
        auth.store.delete_verification(&row).await?;
        return Ok(false);
    }
    Ok(true)
}

/// `reset-password`: consumes the token and sets the new password (creating the credential
/// account if the user had none); optionally signs the user out everywhere.
pub async fn reset(auth: &Auth, token: &str, new_password: &str) -> Result<(), AuthError> {
    if token.is_empty() {
        return Err(ErrorCode::InvalidToken.into());
    }
    auth.policy.password.check(new_password)?;
    let Some(row) = auth.store.consume_verification(&identifier(token)).await? else {
        return Err(ErrorCode::InvalidToken.into());
    };
    if row.is_expired(now_ms()) {
        return Err(ErrorCode::InvalidToken.into());
    }
    let user = auth
        .store
        .find_user_by_id(&row.value)
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    set_new_password(auth, &user, new_password).await
}

/// Hashes and stores a new password for a user proven by a reset token or code (creating the
/// credential account if missing), signing them out everywhere when so configured.
///
/// The token or code went to the user's address, so its holder owns the address. When that
/// address was never verified, whoever created the account or linked a provider to it may not
/// have owned it (a provider that lets its users claim any email): those ways in, and their
/// sessions, are removed, as magic-link sign-in removes them, and the address becomes verified.
/// better-auth leaves them in place.
pub async fn set_new_password(auth: &Auth, user: &User, password: &str) -> Result<(), AuthError> {
    let hash = auth.hasher.hash(password).await?;
    let effect = match (user.email_verified, auth.policy.reset.revoke_sessions) {
        (false, _) => PasswordSet::ProvesEmail,
        (true, true) => PasswordSet::RevokeSessions,
        (true, false) => PasswordSet::KeepSessions,
    };
    auth.store
        .set_password(&user.id, &crypto::generate_id(), &hash, now_ms(), effect)
        .await?;
    Ok(())
}
