//! better-auth's admin plugin as plain functions: who counts as an admin, what each role may
//! do (`access`), bans (`ban`) and the operations behind the `/admin/*` routes (`users`). The
//! user-level operations reuse [`super::admin`], the functions the `authkeep user` commands
//! run, so the CLI and the HTTP endpoints change users the same way.

pub mod access;
pub mod ban;
pub mod impersonate;
pub mod update;
pub mod users;

/// list-users' search and filter, as the store runs them (the HTTP layer builds them from the
/// query string).
pub use crate::store::{Condition, Operator, UserQuery};

use chrono::Duration;
use serde_json::Value;

use super::AuthError;
use crate::model::User;

/// The plugin's options (`admin({...})`), present in the policy only while it is on.
#[derive(Debug, Clone)]
pub struct AdminPolicy {
    pub default_role: String,
    pub admin_roles: Vec<String>,
    pub admin_user_ids: Vec<String>,
    pub impersonation_session_duration: Duration,
    pub default_ban_reason: String,
    /// `None`: a ban without `banExpiresIn` lasts until lifted.
    pub default_ban_expires_in: Option<Duration>,
    pub banned_user_message: String,
}

/// How a refusal is answered (the HTTP layer picks the status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Forbidden,
    BadRequest,
    NotFound,
}

/// A refusal with better-auth's admin code and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AdminError {
    pub refusal: Refusal,
    pub code: &'static str,
    pub message: String,
}

impl AdminError {
    fn refuse(refusal: Refusal, code: &'static str, message: &str) -> AuthError {
        AuthError::Admin(AdminError {
            refusal,
            code,
            message: message.to_owned(),
        })
    }

    pub(crate) fn forbidden(code: &'static str, message: &str) -> AuthError {
        Self::refuse(Refusal::Forbidden, code, message)
    }

    pub(crate) fn bad_request(code: &'static str, message: &str) -> AuthError {
        Self::refuse(Refusal::BadRequest, code, message)
    }

    /// The admin routes answer a missing user with 404 (the core routes say 400).
    pub(crate) fn user_not_found() -> AuthError {
        Self::refuse(Refusal::NotFound, "USER_NOT_FOUND", "User not found")
    }
}

/// The user's role as stored (comma-separated when several), if any.
pub fn role_of(user: &User) -> Option<&str> {
    user.additional.get("role").and_then(Value::as_str)
}

/// Whether the user counts as an admin: one of `admin_roles`, or listed in `admin_user_ids`.
pub fn is_admin(policy: &AdminPolicy, user: &User) -> bool {
    if policy.admin_user_ids.iter().any(|id| id == &user.id) {
        return true;
    }
    roles(policy, role_of(user)).any(|r| policy.admin_roles.iter().any(|a| a == r))
}

/// The roles in a stored role value; an unset (or empty) role is the default role.
pub fn roles<'a>(policy: &'a AdminPolicy, role: Option<&'a str>) -> impl Iterator<Item = &'a str> {
    role.filter(|r| !r.is_empty())
        .unwrap_or(&policy.default_role)
        .split(',')
        .map(str::trim)
}
