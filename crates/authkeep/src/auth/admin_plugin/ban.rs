//! Bans: an admin bans a user (with a reason and an expiry), the user's sessions end, and no
//! new session is created for them until the ban is lifted or runs out. An expired ban is
//! cleared by the next sign-in, as better-auth's session-create hook clears it.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{AdminError, AdminPolicy};
use crate::auth::{Admin, AuthError};
use crate::model::{User, now_ms, parse_date, to_js_iso};
use crate::store::ProfileChange;

/// When a stored ban ends; `None` for a ban without an end (or no ban).
fn expires(user: &User) -> Option<DateTime<Utc>> {
    user.additional
        .get("banExpires")
        .and_then(Value::as_str)
        .and_then(parse_date)
}

pub fn is_banned(user: &User) -> bool {
    user.additional.get("banned") == Some(&Value::Bool(true))
}

/// Writes the admin fields in `fields` (and `updatedAt`); returns the user as stored.
pub(super) async fn write(
    admin: Admin<'_>,
    user_id: &str,
    fields: Map<String, Value>,
) -> Result<User, AuthError> {
    let change = ProfileChange {
        name: None,
        image: None,
        fields: &fields,
    };
    admin
        .store
        .update_user_profile(user_id, &change, now_ms())
        .await?
        .ok_or_else(AdminError::user_not_found)
}

/// Bans the user and ends all of their sessions. `expires_in`: the request's `banExpiresIn`.
pub async fn ban(
    admin: Admin<'_>,
    policy: &AdminPolicy,
    user_id: &str,
    reason: Option<&str>,
    expires_in: Option<Duration>,
) -> Result<User, AuthError> {
    let reason = reason
        .filter(|r| !r.is_empty())
        .unwrap_or(&policy.default_ban_reason);
    let until = expires_in
        .or(policy.default_ban_expires_in)
        .map(|d| Value::String(to_js_iso(&(now_ms() + d))));
    let mut fields = Map::new();
    fields.insert("banned".into(), Value::Bool(true));
    fields.insert("banReason".into(), Value::String(reason.to_owned()));
    if let Some(until) = until {
        fields.insert("banExpires".into(), until);
    }
    let user = write(admin, user_id, fields).await?;
    admin.store.delete_user_sessions(user_id).await?;
    Ok(user)
}

/// Lifts the ban: `banned` false, reason and expiry cleared.
pub async fn unban(admin: Admin<'_>, user_id: &str) -> Result<User, AuthError> {
    let mut fields = Map::new();
    fields.insert("banned".into(), Value::Bool(false));
    fields.insert("banReason".into(), Value::Null);
    fields.insert("banExpires".into(), Value::Null);
    write(admin, user_id, fields).await
}

/// better-auth's session-create hook: a banned user gets no session (403 `BANNED_USER` with
/// the configured message); a ban that has run out is lifted instead.
pub async fn check_before_session(
    admin: Admin<'_>,
    policy: &AdminPolicy,
    user_id: &str,
) -> Result<(), AuthError> {
    let Some(user) = admin.store.find_user_by_id(user_id).await? else {
        return Ok(());
    };
    if !is_banned(&user) {
        return Ok(());
    }
    if expires(&user).is_some_and(|end| end < now_ms()) {
        unban(admin, user_id).await?;
        return Ok(());
    }
    Err(AdminError::forbidden(
        "BANNED_USER",
        &policy.banned_user_message,
    ))
}
