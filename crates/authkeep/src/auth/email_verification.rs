//! Email verification: mailing better-auth's verification link (`verify-email?token=…`, the
//! stateless token of [`super::email_token`]) and marking an address verified. What following
//! a link does is decided in [`super::verify_link`].

use super::email_token::{url_component, verification_token};
use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime, session};
use crate::email::Kind;
use crate::model::{Email, Session, User, now_ms};

/// Mails `user` a verification link: `<api>/verify-email?token=…&callbackURL=…`.
pub fn send(auth: &Auth, user: &User, callback: Option<&str>) {
    let expires_in = auth.policy.verification.expires_in.num_seconds();
    let token = verification_token(&auth.token_key, &user.email, &user.id, expires_in);
    let callback = callback.filter(|c| !c.is_empty()).unwrap_or("/");
    let url = format!(
        "{}/verify-email?token={token}&callbackURL={}",
        auth.policy.api_url,
        url_component(callback)
    );
    auth.mailer
        .send_to_user(Kind::VerifyEmail, user, &url, &token);
}

/// `send-verification-email`. With a session, the email must be the caller's and unverified;
/// without one, the answer (and its timing) is the same whether or not the address exists.
pub async fn request(
    auth: &Auth,
    email: &Email,
    callback: Option<&str>,
    caller: Option<&User>,
) -> Result<(), AuthError> {
    if let Some(user) = caller {
        if user.email != email.as_str() {
            return Err(ErrorCode::EmailMismatch.into());
        }
        if user.email_verified {
            return Err(ErrorCode::EmailAlreadyVerified.into());
        }
        send(auth, user, callback);
        return Ok(());
    }
    // Half a second whatever happens, as in better-auth.
    super::at_least(std::time::Duration::from_millis(500), async {
        if let Some(user) = auth.store.find_user_by_email(email.as_str()).await?
            && !user.email_verified
        {
            send(auth, &user, callback);
        }
        Ok(())
    })
    .await
}

/// Marks `user` verified (a no-op when already verified, which signs nobody in) and, with
/// auto sign-in after verification, starts a session, unless the caller is already signed in
/// as this user.
pub async fn mark_verified(
    auth: &Auth,
    user: &User,
    client: &ClientInfo,
    already_signed_in: bool,
) -> Result<Option<Session>, AuthError> {
    if user.email_verified {
        return Ok(None);
    }
    auth.store.mark_email_verified(&user.id, now_ms()).await?;
    if !auth.policy.verification.auto_sign_in || already_signed_in {
        return Ok(None);
    }
    Ok(Some(
        session::create(auth, &user.id, client, Lifetime::Remembered).await?,
    ))
}
