//! The operations behind better-auth's `/admin/*` routes. Each checks the caller's permission
//! first (better-auth's codes and messages), then does the work through [`crate::auth::admin`],
//! the functions the `authkeep user` commands share.

use serde_json::{Map, Value};

use super::access::may;
use super::{AdminError, AdminPolicy, ban, role_of};
use crate::auth::admin::{self as ops, NewUser, Sessions};
use crate::auth::user_fields::UserFields;
use crate::auth::{Admin, AuthError, ErrorCode, Policy};
use crate::model::{Email, Session, User};
use crate::store::UserQuery;

/// better-auth's create hook: a new user without a role gets the default role.
pub fn default_role(policy: &Policy, values: &mut UserFields) {
    if let Some(a) = &policy.admin
        && values.get("role").is_none_or(|r| r.is_null())
    {
        values.insert("role".into(), Value::String(a.default_role.clone()));
    }
}

/// 403 with `code` unless the caller may do `action` on `resource`.
pub(super) fn require(
    policy: &AdminPolicy,
    caller: &User,
    resource: &str,
    action: &str,
    code: &'static str,
    message: &str,
) -> Result<(), AuthError> {
    if may(policy, &caller.id, role_of(caller), resource, action) {
        Ok(())
    } else {
        Err(AdminError::forbidden(code, message))
    }
}

pub(super) const CHANGE_ROLE: (&str, &str) = (
    "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
    "You are not allowed to change users role",
);
pub(super) const BAN: (&str, &str) = (
    "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS",
    "You are not allowed to ban users",
);

pub(super) async fn existing(admin: Admin<'_>, user_id: &str) -> Result<User, AuthError> {
    admin
        .store
        .find_user_by_id(user_id)
        .await?
        .ok_or_else(AdminError::user_not_found)
}

/// `set-role`: the roles joined with commas, as better-auth stores several.
pub async fn set_role(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
    roles: &[String],
) -> Result<User, AuthError> {
    require(p, caller, "user", "set-role", CHANGE_ROLE.0, CHANGE_ROLE.1)?;
    existing(admin, user_id).await?;
    let mut fields = Map::new();
    fields.insert("role".into(), Value::String(roles.join(",")));
    ban::write(admin, user_id, fields).await
}

pub async fn get_user(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
) -> Result<User, AuthError> {
    require(
        p,
        caller,
        "user",
        "get",
        "YOU_ARE_NOT_ALLOWED_TO_GET_USER",
        "You are not allowed to get user",
    )?;
    existing(admin, user_id).await
}

/// What `create-user` was sent. Holds a password: not `Debug`.
pub struct CreateUser {
    pub email: String,
    pub password: Option<String>,
    pub name: String,
    pub role: Option<Vec<String>>,
    pub data: Map<String, Value>,
}

pub async fn create_user(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    input: CreateUser,
) -> Result<User, AuthError> {
    require(
        p,
        caller,
        "user",
        "create",
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS",
        "You are not allowed to create users",
    )?;
    let mut data = input.data;
    let data_role = data.remove("role");
    let role = match (input.role, data_role) {
        (Some(r), _) => Some(r),
        (None, Some(Value::String(r))) => Some(vec![r]),
        (None, Some(Value::Array(items))) => Some(
            items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(invalid_role_type()),
                })
                .collect::<Result<_, _>>()?,
        ),
        (None, Some(Value::Null) | None) => None,
        (None, Some(_)) => return Err(invalid_role_type()),
    };
    if role.is_some() {
        require(p, caller, "user", "set-role", CHANGE_ROLE.0, CHANGE_ROLE.1)?;
    }
    if ["banned", "banReason", "banExpires"]
        .iter()
        .any(|k| data.contains_key(*k))
    {
        require(p, caller, "user", "ban", BAN.0, BAN.1)?;
    }
    let email = Email::parse(&input.email.to_lowercase())
        .map_err(|_| AdminError::bad_request("INVALID_EMAIL", "Invalid email"))?;
    if admin
        .store
        .find_user_by_email(email.as_str())
        .await?
        .is_some()
    {
        return Err(already_exists());
    }
    if let Some(role) = role {
        data.insert("role".into(), Value::String(role.join(",")));
    }
    let new = NewUser {
        name: input.name,
        email,
        password: input.password.filter(|p| !p.is_empty()),
        email_verified: data.get("emailVerified") == Some(&Value::Bool(true)),
        fields: data,
    };
    match ops::create_user(admin, new).await {
        Err(AuthError::Rule(ErrorCode::UserAlreadyExistsUseAnotherEmail)) => Err(already_exists()),
        other => other,
    }
}

pub(super) fn invalid_role_type() -> AuthError {
    AdminError::bad_request("INVALID_ROLE_TYPE", "Invalid role type")
}

pub(super) fn already_exists() -> AuthError {
    AdminError::bad_request(
        "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
        "User already exists. Use another email.",
    )
}

/// `list-users`: a page of users matching the search and filter, and how many match.
pub async fn list_users(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    query: &UserQuery,
) -> Result<(Vec<User>, i64), AuthError> {
    require(
        p,
        caller,
        "user",
        "list",
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
        "You are not allowed to list users",
    )?;
    Ok(admin.store.search_users(query).await?)
}

pub async fn list_user_sessions(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
) -> Result<Vec<Session>, AuthError> {
    require(
        p,
        caller,
        "session",
        "list",
        "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS",
        "You are not allowed to list users sessions",
    )?;
    ops::list_sessions(admin, user_id).await
}

fn may_revoke(p: &AdminPolicy, caller: &User) -> Result<(), AuthError> {
    require(
        p,
        caller,
        "session",
        "revoke",
        "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS",
        "You are not allowed to revoke users sessions",
    )
}

pub async fn revoke_user_session(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    token: &str,
) -> Result<(), AuthError> {
    may_revoke(p, caller)?;
    ops::revoke_session(admin, token).await.map(|_| ())
}

pub async fn revoke_user_sessions(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
) -> Result<(), AuthError> {
    may_revoke(p, caller)?;
    ops::revoke_sessions(admin, user_id).await
}

pub async fn ban_user(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
    reason: Option<&str>,
    expires_in: Option<chrono::Duration>,
) -> Result<User, AuthError> {
    require(p, caller, "user", "ban", BAN.0, BAN.1)?;
    existing(admin, user_id).await?;
    if user_id == caller.id {
        return Err(AdminError::bad_request(
            "YOU_CANNOT_BAN_YOURSELF",
            "You cannot ban yourself",
        ));
    }
    ban::ban(admin, p, user_id, reason, expires_in).await
}

pub async fn unban_user(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
) -> Result<User, AuthError> {
    require(p, caller, "user", "ban", BAN.0, BAN.1)?;
    existing(admin, user_id).await?;
    ban::unban(admin, user_id).await
}

pub async fn remove_user(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
) -> Result<(), AuthError> {
    require(
        p,
        caller,
        "user",
        "delete",
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS",
        "You are not allowed to delete users",
    )?;
    if user_id == caller.id {
        return Err(AdminError::bad_request(
            "YOU_CANNOT_REMOVE_YOURSELF",
            "You cannot remove yourself",
        ));
    }
    existing(admin, user_id).await?;
    ops::delete_user(admin, user_id).await
}

/// `set-user-password`: signed-in devices stay signed in, as in better-auth.
pub async fn set_user_password(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
    password: &str,
) -> Result<(), AuthError> {
    require(
        p,
        caller,
        "user",
        "set-password",
        "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD",
        "You are not allowed to set users password",
    )?;
    admin.policy.password.check(password)?;
    existing(admin, user_id).await?;
    ops::set_password(admin, user_id, password, Sessions::Keep).await
}
