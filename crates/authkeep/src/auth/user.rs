//! Profile updates, password changes and account deletion for the signed-in user.

use super::email_token::url_component;
use super::sign_in::check_password;
use super::user_fields::{self, UserFields};
use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime, session};
use crate::crypto;
use crate::model::{AccountInfo, Session, User, Verification, now_ms};
use crate::store::{ProfileChange, ValueMatch};

/// What `update-user` may change.
#[derive(Debug, Default)]
pub struct ProfileUpdate {
    pub name: Option<String>,
    /// `Some(None)` clears the image.
    pub image: Option<Option<String>>,
    /// Values sent for the deployment's additional user fields.
    pub fields: UserFields,
}

pub async fn update_user(
    auth: &Auth,
    user_id: &str,
    update: &ProfileUpdate,
) -> Result<User, AuthError> {
    let fields = user_fields::for_update(&auth.policy.user_fields, &update.fields)?;
    if update.name.is_none() && update.image.is_none() && fields.is_empty() {
        return Err(AuthError::Message("No fields to update"));
    }
    let change = ProfileChange {
        name: update.name.as_deref(),
        image: update.image.as_ref().map(Option::as_deref),
        fields: &fields,
    };
    auth.store
        .update_user_profile(user_id, &change, now_ms())
        .await?
        .ok_or_else(|| ErrorCode::FailedToUpdateUser.into())
}

/// What happens to the user's other sessions when the password changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherSessions {
    Keep,
    /// All sessions end; the caller gets a new one with this lifetime.
    Revoke(Lifetime),
}

/// Holds a password: deliberately not `Debug`, so it cannot end up in a log line.
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
    pub other_sessions: OtherSessions,
}

/// Returns the new session when the other sessions were revoked (all were replaced by it).
pub async fn change_password(
    auth: &Auth,
    user: &User,
    input: ChangePassword,
    client: &ClientInfo,
) -> Result<Option<Session>, AuthError> {
    auth.policy.password.check(&input.new_password)?;
    let account = auth
        .store
        .find_credential_account(&user.id)
        .await?
        .filter(|a| a.password.is_some())
        .ok_or(ErrorCode::CredentialAccountNotFound)?;
    if !check_password(auth, Some(&user.id), &input.current_password).await? {
        return Err(ErrorCode::InvalidPassword.into());
    }
    let hash = auth.hasher.hash(&input.new_password).await?;
    let now = now_ms();
    let replacement = match input.other_sessions {
        OtherSessions::Keep => None,
        OtherSessions::Revoke(lifetime) => Some(session::new_session(
            &auth.policy.session,
            &user.id,
            client,
            lifetime,
            now,
        )),
    };
    auth.store
        .update_password(&account.id, &hash, now, replacement.as_ref())
        .await?;
    Ok(replacement)
}

/// The user's linked accounts (credential and providers), without secrets.
pub async fn list_accounts(auth: &Auth, user_id: &str) -> Result<Vec<AccountInfo>, AuthError> {
    Ok(auth
        .store
        .list_accounts(user_id)
        .await?
        .into_iter()
        .map(AccountInfo::from)
        .collect())
}

/// `verify-password`: whether `password` is the user's current one.
pub async fn verify_password(auth: &Auth, user_id: &str, password: &str) -> Result<(), AuthError> {
    if check_password(auth, Some(user_id), password).await? {
        Ok(())
    } else {
        Err(ErrorCode::InvalidPassword.into())
    }
}

const DELETE_PREFIX: &str = "delete-account-";
const LOWER_ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Mails a deletion link (`/delete-user/callback?token=…`) instead of deleting at once.
pub async fn request_deletion(
    auth: &Auth,
    user: &User,
    callback: Option<&str>,
) -> Result<(), AuthError> {
    let token = crypto::random_string(32, LOWER_ALNUM);
    let row = Verification::new(
        format!("{DELETE_PREFIX}{token}"),
        user.id.clone(),
        now_ms(),
        chrono::Duration::days(1),
    );
    auth.store
        .insert_bounded_verification(
            &row,
            DELETE_PREFIX,
            ValueMatch::Exact(&user.id),
            auth.policy.max_outstanding_per_address,
        )
        .await?;
    let callback = url_component(callback.filter(|c| !c.is_empty()).unwrap_or("/"));
    let url = format!(
        "{}/delete-user/callback?token={token}&callbackURL={callback}",
        auth.policy.api_url
    );
    auth.mailer
        .send_to_user(crate::email::Kind::DeleteAccount, user, &url, &token);
    Ok(())
}

/// `delete-user/callback`: the token must be live and the signed-in user's; it is used up.
pub async fn confirm_deletion(auth: &Auth, user: &User, token: &str) -> Result<(), AuthError> {
    let consumed = auth
        .store
        .consume_verification(&format!("{DELETE_PREFIX}{token}"))
        .await?;
    match consumed {
        Some(row) if row.value == user.id && !row.is_expired(now_ms()) => {
            Ok(auth.store.delete_user(&user.id).await?)
        }
        _ => Err(ErrorCode::InvalidToken.into()),
    }
}

/// Deletes the user: with a correct password, or without one from a fresh session.
pub async fn delete_user(
    auth: &Auth,
    user: &User,
    session: &Session,
    password: Option<&str>,
) -> Result<(), AuthError> {
    match password {
        Some(password) => {
            let has_password = auth
                .store
                .find_credential_account(&user.id)
                .await?
                .is_some_and(|a| a.password.is_some());
            if !has_password {
                return Err(ErrorCode::CredentialAccountNotFound.into());
            }
            if !check_password(auth, Some(&user.id), password).await? {
                return Err(ErrorCode::InvalidPassword.into());
            }
        }
        None if !session::is_fresh(&auth.policy.session, session) => {
            return Err(ErrorCode::SessionExpired.into());
        }
        None => {}
    }
    Ok(auth.store.delete_user(&user.id).await?)
}
