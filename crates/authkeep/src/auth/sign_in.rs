//! `sign-in/email`. Every failure costs one scrypt verification, so timing does not reveal
//! whether an email is registered.

use super::{Auth, AuthError, ClientInfo, ErrorCode, email, session};
use crate::model::{Session, User};

#[derive(Debug)]
pub struct SignIn {
    pub email: String,
    pub password: String,
    pub remember: bool,
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
    if !auth.email_password_enabled {
        return Err(ErrorCode::EmailPasswordDisabled.into());
    }
    if !email::is_valid(&input.email) {
        return Err(ErrorCode::InvalidEmail.into());
    }
    let user = auth
        .store
        .find_user_by_email(&email::normalize(&input.email))
        .await?;
    if !check_password(auth, user.as_ref().map(|u| u.id.as_str()), &input.password).await? {
        return Err(ErrorCode::InvalidEmailOrPassword.into());
    }
    let user = user.expect("a password only verifies for an existing user");
    if auth.verification.required && !user.email_verified {
        if auth.verification.send_on_sign_in {
            super::email_verification::send(auth, &user, input.callback.as_deref());
        }
        return Err(ErrorCode::EmailNotVerified.into());
    }
    let session = session::create(auth, &user.id, client, input.remember).await?;
    Ok((user, session))
}
