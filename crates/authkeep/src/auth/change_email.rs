//! Changing the account's email, confirmed by email as better-auth does it: a token for the
//! new address (or first a confirmation to the old one), applied by `verify-email`.

use serde_json::json;

use super::email_verification::{Verified, sign_claims, urlencoding};
use super::{Auth, AuthError, ClientInfo, ErrorCode, email, session};
use crate::email::{Kind, Values};
use crate::model::{User, now_ms};

const CONFIRMATION: &str = "change-email-confirmation";
const VERIFICATION: &str = "change-email-verification";

#[derive(Debug, Clone, Default)]
pub struct ChangeEmailPolicy {
    pub enabled: bool,
    /// Ask the old address to confirm before mailing the new one (`sendChangeEmailConfirmation`).
    pub confirm_with_old_email: bool,
    /// An unverified account changes at once (`updateEmailWithoutVerification`).
    pub update_without_verification: bool,
}

fn mail(
    auth: &Auth,
    to: &str,
    user: &User,
    new_email: &str,
    request_type: &str,
    callback: Option<&str>,
) {
    let claims = json!({ "email": user.email, "updateTo": new_email, "requestType": request_type });
    let token = sign_claims(&auth.secret, claims, auth.verification.expires_in);
    let url = format!(
        "{}/verify-email?token={token}&callbackURL={}",
        auth.api_url,
        urlencoding(callback.unwrap_or("/"))
    );
    auth.mailer.send(
        Kind::ChangeEmail,
        to,
        Values {
            url: &url,
            name: &user.name,
            email: new_email,
            token: &token,
            ..Default::default()
        },
    );
}

/// What `change-email` did: `Some(user)` when the email changed at once (the cookie is re-set).
pub async fn request(
    auth: &Auth,
    user: &User,
    new_email: &str,
    callback: Option<&str>,
) -> Result<Option<User>, AuthError> {
    let p = &auth.change_email;
    if !p.enabled {
        return Err(ErrorCode::ChangeEmailDisabled.into());
    }
    let new_email = email::normalize(new_email);
    if new_email == user.email {
        return Err(AuthError::Message("Email is the same"));
    }
    // A taken address gets the same answer as a free one, and nothing is sent.
    if auth.store.find_user_by_email(&new_email).await?.is_some() {
        return Ok(None);
    }
    if !user.email_verified && p.update_without_verification {
        let updated = auth
            .store
            .update_email(&user.id, &new_email, false, now_ms())
            .await?;
        if let Some(u) = &updated {
            super::email_verification::send(auth, u, callback);
        }
        return Ok(updated);
    }
    if user.email_verified && p.confirm_with_old_email {
        mail(auth, &user.email, user, &new_email, CONFIRMATION, callback);
    } else {
        mail(auth, &new_email, user, &new_email, VERIFICATION, callback);
    }
    Ok(None)
}

/// Applies a change-of-email token from `verify-email`.
pub async fn apply(
    auth: &Auth,
    user: &User,
    new_email: &str,
    request_type: Option<&str>,
    client: &ClientInfo,
    has_session: bool,
) -> Result<Verified, AuthError> {
    let new_email = email::normalize(new_email);
    if request_type == Some(CONFIRMATION) {
        // The old address agreed: now prove the new one.
        mail(auth, &new_email, user, &new_email, VERIFICATION, None);
        return Ok(Verified {
            session: None,
            user: None,
        });
    }
    let verified = request_type == Some(VERIFICATION);
    let updated = auth
        .store
        .update_email(&user.id, &new_email, verified, now_ms())
        .await
        .map_err(|e| match e {
            crate::store::StoreError::UniqueViolation => {
                AuthError::Rule(ErrorCode::UserAlreadyExistsUseAnotherEmail)
            }
            other => other.into(),
        })?;
    let updated = updated.ok_or(ErrorCode::UserNotFound)?;
    if !verified {
        super::email_verification::send(auth, &updated, None);
    }
    let session = if has_session {
        None
    } else {
        Some(session::create(auth, &user.id, client, true).await?)
    };
    Ok(Verified {
        session,
        user: Some(updated),
    })
}
