//! What an operator (or better-auth's admin plugin) does to any user: create one with a
//! password, list, look up, delete, set a password, mark an address verified, list and revoke
//! sessions. Plain functions over the store, the hashing pool and the rules; the `authkeep user`
//! and `authkeep session` commands call them, and so can admin HTTP endpoints.
//!
//! Every change goes through the store's routing, so sessions kept in Redis (secondary storage)
//! are revoked there too, and a running server sees the change at its next lookup.

use serde::Serialize;

use super::user_fields::{self, UserFields};
use super::{AuthError, ErrorCode, Hasher, Policy};
use crate::crypto;
use crate::model::{Account, AccountInfo, Email, Session, User, now_ms};
use crate::store::{PasswordSet, Store};

/// The services the operations use; a running server has them in its `Auth`.
#[derive(Debug, Clone, Copy)]
pub struct Admin<'a> {
    pub store: &'a Store,
    pub hasher: &'a Hasher,
    pub policy: &'a Policy,
}

impl super::Auth {
    pub fn admin(&self) -> Admin<'_> {
        Admin {
            store: &self.store,
            hasher: &self.hasher,
            policy: &self.policy,
        }
    }
}

/// A user to create. Holds a password: deliberately not `Debug`, so it cannot reach a log.
pub struct NewUser {
    pub name: String,
    pub email: Email,
    /// `None`: no credential account (the user signs in by link or provider).
    pub password: Option<String>,
    pub email_verified: bool,
    /// Additional-field values the operator sets (the admin plugin's `role` and `data`),
    /// whatever their `input` rule says; unknown names are ignored.
    pub fields: UserFields,
}

/// Creates a user, with a credential account when a password is given, as sign-up would
/// (better-auth's scrypt hash, the password length rules, the additional fields at their
/// defaults, the admin plugin's default role), but whatever `disable_sign_up` says, with no
/// session and no verification mail.
pub async fn create_user(admin: Admin<'_>, input: NewUser) -> Result<User, AuthError> {
    if let Some(password) = &input.password {
        admin.policy.password.check(password)?;
    }
    let fields = &admin.policy.user_fields;
    let mut values = user_fields::for_new_user(fields, &UserFields::new())?;
    for (name, value) in input.fields {
        if fields.iter().any(|f| f.name == name) {
            values.insert(name, value);
        }
    }
    super::admin_plugin::users::default_role(admin.policy, &mut values);
    if admin
        .store
        .find_user_by_email(input.email.as_str())
        .await?
        .is_some()
    {
        return Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into());
    }
    let hash = match &input.password {
        Some(p) => Some(admin.hasher.hash(p).await?),
        None => None,
    };
    let now = now_ms();
    let mut user = User::new(
        input.name,
        input.email.as_str().to_owned(),
        None,
        input.email_verified,
        now,
    );
    user.additional = user_fields::returned(fields, &values);
    let created = match hash {
        Some(hash) => {
            let account = Account::credential(crypto::generate_id(), &user.id, hash, now);
            admin
                .store
                .create_user_with_account(&user, &values, &account, None)
                .await
        }
        None => admin.store.create_user(&user, &values).await,
    };
    match created {
        Ok(()) => Ok(user),
        // Created concurrently (a sign-up, say) since the check above: nothing was written.
        Err(e) if e.is_unique_violation() => {
            Err(ErrorCode::UserAlreadyExistsUseAnotherEmail.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One page of users, oldest first, and how many there are in all (better-auth's
/// `list-users` answer).
#[derive(Debug, Clone, Serialize)]
pub struct UserPage {
    pub users: Vec<User>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// The most users one page holds, so a listing never loads a whole table.
pub const MAX_PAGE: i64 = 1000;

pub async fn list_users(admin: Admin<'_>, limit: i64, offset: i64) -> Result<UserPage, AuthError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let offset = offset.max(0);
    let users = admin.store.list_users(limit, offset).await?;
    let total = admin.store.count_users().await?;
    Ok(UserPage {
        users,
        total,
        limit,
        offset,
    })
}

/// Which user an operation is about.
#[derive(Debug, Clone)]
pub enum UserRef {
    Email(Email),
    Id(String),
}

/// The user, or `USER_NOT_FOUND`.
pub async fn find_user(admin: Admin<'_>, who: &UserRef) -> Result<User, AuthError> {
    let found = match who {
        UserRef::Email(e) => admin.store.find_user_by_email(e.as_str()).await?,
        UserRef::Id(id) => admin.store.find_user_by_id(id).await?,
    };
    found.ok_or_else(|| ErrorCode::UserNotFound.into())
}

/// A user with the ways to sign in and the live sessions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDetails {
    pub user: User,
    pub accounts: Vec<AccountInfo>,
    pub active_sessions: usize,
}

pub async fn user_details(admin: Admin<'_>, user: User) -> Result<UserDetails, AuthError> {
    let accounts = admin
        .store
        .list_accounts(&user.id)
        .await?
        .into_iter()
        .map(AccountInfo::from)
        .collect();
    let active_sessions = admin
        .store
        .list_active_sessions(&user.id, now_ms())
        .await?
        .len();
    Ok(UserDetails {
        user,
        accounts,
        active_sessions,
    })
}

/// Deletes the user with every account and session (better-auth's `remove-user`).
pub async fn delete_user(admin: Admin<'_>, user_id: &str) -> Result<(), AuthError> {
    Ok(admin.store.delete_user(user_id).await?)
}

/// What else a password set by an operator does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// better-auth's admin `set-user-password`: signed-in devices stay signed in.
    Keep,
    /// Every session of the user ends (a password set because the old one leaked).
    Revoke,
}

/// Sets the user's password (creating the credential account when the user signed up through
/// a provider or a link), after the configured length rules.
pub async fn set_password(
    admin: Admin<'_>,
    user_id: &str,
    password: &str,
    sessions: Sessions,
) -> Result<(), AuthError> {
    admin.policy.password.check(password)?;
    let hash = admin.hasher.hash(password).await?;
    let effect = match sessions {
        Sessions::Keep => PasswordSet::KeepSessions,
        Sessions::Revoke => PasswordSet::RevokeSessions,
    };
    admin
        .store
        .set_password(user_id, &crypto::generate_id(), &hash, now_ms(), effect)
        .await?;
    Ok(())
}

/// Marks the user's address verified; false when it already was.
pub async fn verify_email(admin: Admin<'_>, user: &User) -> Result<bool, AuthError> {
    if user.email_verified {
        return Ok(false);
    }
    admin.store.mark_email_verified(&user.id, now_ms()).await?;
    Ok(true)
}

/// The user's live sessions, oldest first.
pub async fn list_sessions(admin: Admin<'_>, user_id: &str) -> Result<Vec<Session>, AuthError> {
    Ok(admin.store.list_active_sessions(user_id, now_ms()).await?)
}

/// Ends every session of the user.
pub async fn revoke_sessions(admin: Admin<'_>, user_id: &str) -> Result<(), AuthError> {
    Ok(admin.store.delete_user_sessions(user_id).await?)
}

/// Ends the session behind `token`; returns it when it was live, `None` when there was none.
pub async fn revoke_session(admin: Admin<'_>, token: &str) -> Result<Option<Session>, AuthError> {
    let found = admin
        .store
        .find_session_with_user(token)
        .await?
        .map(|(s, _)| s);
    if found.is_some() {
        admin.store.delete_session(token).await?;
    }
    Ok(found)
}
