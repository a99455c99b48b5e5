//! Changing the account's email, confirmed by email as better-auth does it: a token for the
//! new address (or first a confirmation to the old one), applied when the link is followed.

use serde_json::json;

use super::email_token::{self, url_component};
use super::{Auth, AuthError, ErrorCode, email_verification};
use crate::email::{Kind, Values};
use crate::model::{Email, User, now_ms};

/// Which link of the change a token belongs to (better-auth's `requestType` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The old address agrees; the new one must still be proven.
    Confirmation,
    /// The new address is proven.
    Verification,
    /// An older token without a request type: the change applies, unverified.
    Unverified,
}

impl Step {
    const CONFIRMATION: &str = "change-email-confirmation";
    const VERIFICATION: &str = "change-email-verification";

    pub fn from_claim(claim: Option<&str>) -> Step {
        match claim {
            Some(Self::CONFIRMATION) => Step::Confirmation,
            Some(Self::VERIFICATION) => Step::Verification,
            _ => Step::Unverified,
        }
    }

    fn claim(self) -> Option<&'static str> {
        match self {
            Step::Confirmation => Some(Self::CONFIRMATION),
            Step::Verification => Some(Self::VERIFICATION),
            Step::Unverified => None,
        }
    }
}

fn mail(auth: &Auth, to: &str, user: &User, new_email: &Email, step: Step, callback: Option<&str>) {
    // `userId` binds the link to this account: following it later acts only while the account
    // still has `email` (see `verify_link`).
    let claims = json!({
        "email": user.email,
        "updateTo": new_email.as_str(),
        "requestType": step.claim(),
        "userId": user.id,
    });
    let expires_in = auth.policy.verification.expires_in.num_seconds();
    let token = email_token::sign(&auth.token_key, claims, expires_in);
    let url = format!(
        "{}/verify-email?token={token}&callbackURL={}",
        auth.policy.api_url,
        url_component(callback.unwrap_or("/"))
    );
    auth.mailer.send(
        Kind::ChangeEmail,
        to,
        Values {
            url: &url,
            name: &user.name,
            email: new_email.as_str(),
            token: &token,
            ..Default::default()
        },
    );
}

/// `change-email`. `Some(user)` when the email changed at once (the caller re-sets the cookie).
pub async fn request(
    auth: &Auth,
    user: &User,
    new_email: &Email,
    callback: Option<&str>,
) -> Result<Option<User>, AuthError> {
    let p = &auth.policy.change_email;
    if !p.enabled {
        return Err(ErrorCode::ChangeEmailDisabled.into());
    }
    if new_email.as_str() == user.email {
        return Err(AuthError::Message("Email is the same"));
    }
    // A taken address gets the same answer as a free one, and nothing is sent.
    if auth
        .store
        .find_user_by_email(new_email.as_str())
        .await?
        .is_some()
    {
        return Ok(None);
    }
    if !user.email_verified && p.update_without_verification {
        let updated = auth
            .store
            .update_email(&user.id, new_email.as_str(), false, now_ms())
            .await?;
        if let Some(u) = &updated {
            email_verification::send(auth, u, callback);
        }
        return Ok(updated);
    }
    if user.email_verified && p.confirm_with_old_email {
        mail(
            auth,
            &user.email,
            user,
            new_email,
            Step::Confirmation,
            callback,
        );
    } else {
        mail(
            auth,
            new_email.as_str(),
            user,
            new_email,
            Step::Verification,
            callback,
        );
    }
    Ok(None)
}

/// Applies a change-of-email token for `user` (already checked to be the token's user, still
/// at the token's address). Returns the updated user when the address changed. Never signs
/// anyone in: whoever follows the link keeps the session they had, as in better-auth.
pub async fn apply(
    auth: &Auth,
    user: &User,
    new_email: &Email,
    step: Step,
    callback: Option<&str>,
) -> Result<Option<User>, AuthError> {
    if step == Step::Confirmation {
        mail(
            auth,
            new_email.as_str(),
            user,
            new_email,
            Step::Verification,
            callback,
        );
        return Ok(None);
    }
    // A completed change keeps the account's verified state (better-auth 1.7.25); the older
    // request-type-less flow marks it unverified and mails a verification to the new address.
    let verified = step == Step::Verification && user.email_verified;
    let updated = match auth
        .store
        .update_email(&user.id, new_email.as_str(), verified, now_ms())
        .await
    {
        Err(e) if e.is_unique_violation() => {
            return Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into());
        }
        other => other?.ok_or(ErrorCode::UserNotFound)?,
    };
    if step == Step::Unverified {
        email_verification::send(auth, &updated, callback);
    }
    Ok(Some(updated))
}
