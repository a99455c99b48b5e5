//! `sign-in/email`. Every failure costs one scrypt verification, so timing does not reveal
//! whether an email is registered.

use super::rate_limit::Decision;
use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime, email_verification, session};
use crate::model::{Email, Session, User, now_ms};

/// Holds a password: deliberately not `Debug`, so it cannot end up in a log line.
pub struct SignIn {
    /// As sent: better-auth checks that email/password sign-in is enabled before it looks at
    /// the address, so it is parsed here, not at the edge.
    pub email: String,
    pub password: String,
    pub lifetime: Lifetime,
    pub callback: Option<String>,
}

/// Checks the password of the credential account of `user_id`. `Ok(false)` for a wrong
/// password or no credential account; the work done is the same either way.
pub async fn check_password(
    auth: &Auth,
    user_id: Option<&str>,
    password: &str,
) -> Result<bool, AuthError> {
    let stored = match user_id {
        Some(id) => auth
            .store
            .find_credential_account(id)
            .await?
            .and_then(|a| a.password),
        None => None,
    };
    let Some(stored) = stored else {
        return Ok(auth.hasher.verify_dummy(password).await?);
    };
    match auth.hasher.verify(password, &stored).await {
        Ok(ok) => Ok(ok),
        Err(super::password::PasswordError::MalformedHash) => {
            tracing::warn!(
                "credential account holds a password hash that is not in better-auth's scrypt format"
            );
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_in_email(
    auth: &Auth,
    input: SignIn,
    client: &ClientInfo,
) -> Result<(User, Session), AuthError> {
    if !auth.policy.email_password.enabled {
        return Err(ErrorCode::EmailPasswordDisabled.into());
    }
    let email = Email::parse(&input.email).map_err(|_| ErrorCode::InvalidEmail)?;
    // Counted before anything is looked up, so registered and unknown addresses cost the same.
    let now = now_ms().timestamp_millis();
    if let Some(limit) = &auth.account_limit
        && let Decision::Refused { retry_after } = limit.attempt(&email, now).await?
    {
        return Err(AuthError::TooManyRequests { retry_after });
    }
    let user = auth.store.find_user_by_email(email.as_str()).await?;
    let verified =
        check_password(auth, user.as_ref().map(|u| u.id.as_str()), &input.password).await?;
    let user = match user {
        Some(user) if verified => user,
        _ => return Err(ErrorCode::InvalidEmailOrPassword.into()),
    };
    if let Some(limit) = &auth.account_limit {
        limit.succeeded(&email, now).await?;
    }
    let v = &auth.policy.verification;
    if v.required && !user.email_verified {
        if v.send_on_sign_in {
            email_verification::send(auth, &user, input.callback.as_deref());
        }
        return Err(ErrorCode::EmailNotVerified.into());
    }
    let session = session::create(auth, &user.id, client, input.lifetime).await?;
    Ok((user, session))
}
