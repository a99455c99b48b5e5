//! `verify-email`: one link serves two flows. A plain verification token marks the address
//! verified; a change-of-email token (it carries `updateTo`) moves the account. Kept apart
//! from both flows so that neither needs the other.

use super::{
    Auth, AuthError, ClientInfo, ErrorCode, change_email, email_token, email_verification,
};
use crate::model::{Email, Session, User};

/// What following a verification link did.
#[derive(Debug, Default)]
pub struct Followed {
    /// A new session: auto sign-in after verification, or a change of email completed by
    /// someone without a session.
    pub session: Option<Session>,
    /// The updated user, when a change of email completed (better-auth returns it then).
    pub user: Option<User>,
}

pub async fn follow(
    auth: &Auth,
    token: &str,
    client: &ClientInfo,
    caller: Option<&User>,
) -> Result<Followed, AuthError> {
    let claims = email_token::verify(&auth.token_key, token)?;
    let email = claims["email"]
        .as_str()
        .and_then(|e| Email::parse(e).ok())
        .ok_or(ErrorCode::InvalidToken)?;
    let user = auth
        .store
        .find_user_by_email(email.as_str())
        .await?
        .ok_or(ErrorCode::UserNotFound)?;
    let Some(new_email) = claims["updateTo"].as_str() else {
        let session = email_verification::mark_verified(auth, &user, client).await?;
        return Ok(Followed {
            session,
            user: None,
        });
    };
    if caller.is_some_and(|c| c.id != user.id) {
        return Err(ErrorCode::InvalidUser.into());
    }
    let new_email = Email::parse(new_email).map_err(|_| ErrorCode::InvalidToken)?;
    let step = change_email::Step::from_claim(claims["requestType"].as_str());
    let session_needed = caller.is_none();
    let applied =
        change_email::apply(auth, &user, &new_email, step, client, session_needed).await?;
    Ok(Followed {
        session: applied.session,
        user: applied.user,
    })
}
