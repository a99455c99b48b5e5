//! `verify-email`: one link serves two flows. A plain verification token marks the address
//! verified; a change-of-email token (it carries `updateTo`) moves the account. Kept apart
//! from both flows so that neither needs the other.
//!
//! Both kinds name the user they were issued for (`userId`), and a link only acts on that
//! user while the user still has the token's address, as better-auth checks: a link cannot be
//! replayed against whoever holds the address later.

use super::{
    Auth, AuthError, ClientInfo, ErrorCode, change_email, email_token, email_verification,
};
use crate::model::{Email, Session, User};

/// What the caller's cookie should become.
#[derive(Debug)]
pub enum Cookie {
    Unchanged,
    /// A new session (auto sign-in after verification), and its user as it now is.
    New(Session, Box<User>),
    /// The caller's own session, re-set because its user changed to this.
    Caller(Box<User>),
}

/// What following a verification link did.
#[derive(Debug)]
pub struct Followed {
    pub cookie: Cookie,
    /// The updated user, when a change of email completed (better-auth returns it then).
    pub user: Option<User>,
}

pub async fn follow(
    auth: &Auth,
    token: &str,
    client: &ClientInfo,
    caller: Option<&User>,
    callback: Option<&str>,
) -> Result<Followed, AuthError> {
    let claims = email_token::verify(&auth.token_key, token)?;
    let email = claims["email"]
        .as_str()
        .and_then(|e| Email::parse(e).ok())
        .ok_or(ErrorCode::InvalidToken)?;
    let user_id = claims["userId"].as_str();
    let Some(new_email) = claims["updateTo"].as_str() else {
        let user = auth
            .store
            .find_user_by_email(email.as_str())
            .await?
            .ok_or(ErrorCode::UserNotFound)?;
        if user_id.is_some_and(|id| id != user.id) {
            return Err(ErrorCode::InvalidToken.into());
        }
        let signed_in_as_them = caller.is_some_and(|c| c.email == email.as_str());
        let session =
            email_verification::mark_verified(auth, &user, client, signed_in_as_them).await?;
        let verified = Box::new(User {
            email_verified: true,
            ..user
        });
        let cookie = match session {
            Some(session) => Cookie::New(session, verified),
            None if signed_in_as_them && auth.policy.verification.auto_sign_in => {
                Cookie::Caller(verified)
            }
            None => Cookie::Unchanged,
        };
        return Ok(Followed { cookie, user: None });
    };
    let user_id = user_id.ok_or(ErrorCode::InvalidToken)?;
    let bound = auth
        .store
        .find_user_by_id(user_id)
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    if bound.email != email.as_str() {
        return Err(ErrorCode::InvalidToken.into());
    }
    if caller.is_some_and(|c| c.id != bound.id) {
        return Err(ErrorCode::InvalidUser.into());
    }
    let new_email = Email::parse(new_email).map_err(|_| ErrorCode::InvalidToken)?;
    let step = change_email::Step::from_claim(claims["requestType"].as_str());
    let user = change_email::apply(auth, &bound, &new_email, step, callback).await?;
    let cookie = match (&user, caller) {
        (Some(updated), Some(_)) => Cookie::Caller(Box::new(updated.clone())),
        _ => Cookie::Unchanged,
    };
    Ok(Followed { cookie, user })
}
