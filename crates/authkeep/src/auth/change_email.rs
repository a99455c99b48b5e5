//! Changing the account's email, confirmed by email as better-auth does it: a token for the
//! new address (or first a confirmation to the old one), applied when the link is followed.

use serde_json::json;

use super::email_token::{self, url_component};
use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime, email_verification, session};
use crate::email::{Kind, Values};
use crate::model::{Email, Session, User, now_ms};

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
    let claims =
        json!({ "email": user.email, "updateTo": new_email.as_str(), "requestType": step.claim() });
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

/// What following a change-of-email link did.
#[derive(Debug, Default)]
pub struct Applied {
    pub session: Option<Session>,
    pub user: Option<User>,
}

/// Applies a change-of-email token. `session_needed`: whoever followed the link has no session
/// and gets one when the change completes.
pub async fn apply(
    auth: &Auth,
    user: &User,
    new_email: &Email,
    step: Step,
    client: &ClientInfo,
    session_needed: bool,
) -> Result<Applied, AuthError> {
    if step == Step::Confirmation {
        mail(
            auth,
            new_email.as_str(),
            user,
            new_email,
            Step::Verification,
            None,
        );
        return Ok(Applied::default());
    }
    let verified = step == Step::Verification;
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
    if !verified {
        email_verification::send(auth, &updated, None);
    }
    let session = if session_needed {
        Some(session::create(auth, &user.id, client, Lifetime::Remembered).await?)
    } else {
        None
    };
    Ok(Applied {
        session,
        user: Some(updated),
    })
}
