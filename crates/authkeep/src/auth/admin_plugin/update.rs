//! `admin/update-user`: an admin changes any of a user's fields, each kind of change behind its
//! own permission (role, ban, email), as better-auth checks them.

use serde_json::{Map, Value};

use super::users::{BAN, CHANGE_ROLE, already_exists, existing, invalid_role_type, require};
use super::{AdminError, AdminPolicy};
use crate::auth::{Admin, AuthError};
use crate::model::{Email, User, now_ms};
use crate::store::ProfileChange;

fn has(data: &Map<String, Value>, key: &str) -> bool {
    data.contains_key(key)
}

/// A role value as sent (a string or an array of strings), joined as stored.
fn role_value(v: &Value) -> Result<String, AuthError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned).ok_or_else(invalid_role_type))
            .collect::<Result<Vec<_>, _>>()
            .map(|r| r.join(",")),
        _ => Err(invalid_role_type()),
    }
}

/// Applies `data` to the user and returns the user as stored. Setting `banned: true` ends the
/// user's sessions, as a ban does.
pub async fn update_user(
    admin: Admin<'_>,
    p: &AdminPolicy,
    caller: &User,
    user_id: &str,
    mut data: Map<String, Value>,
) -> Result<User, AuthError> {
    require(
        p,
        caller,
        "user",
        "update",
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS",
        "You are not allowed to update users",
    )?;
    if data.is_empty() {
        return Err(AdminError::bad_request(
            "NO_DATA_TO_UPDATE",
            "No data to update",
        ));
    }
    if has(&data, "password") {
        return Err(AdminError::bad_request(
            "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
            "Password cannot be updated through update-user. Use the set-user-password endpoint instead",
        ));
    }
    if let Some(role) = data.get("role") {
        require(p, caller, "user", "set-role", CHANGE_ROLE.0, CHANGE_ROLE.1)?;
        let joined = role_value(role)?;
        data.insert("role".into(), Value::String(joined));
    }
    let banning = data.get("banned") == Some(&Value::Bool(true));
    if ["banned", "banReason", "banExpires"]
        .iter()
        .any(|k| has(&data, k))
    {
        require(p, caller, "user", "ban", BAN.0, BAN.1)?;
        if banning && user_id == caller.id {
            return Err(AdminError::bad_request(
                "YOU_CANNOT_BAN_YOURSELF",
                "You cannot ban yourself",
            ));
        }
    }
    let mut email = None;
    if has(&data, "email") || has(&data, "emailVerified") {
        require(
            p,
            caller,
            "user",
            "set-email",
            "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL",
            "You are not allowed to update users email",
        )?;
        if let Some(v) = data.get("email") {
            let raw = match v {
                Value::String(s) => s.to_lowercase(),
                other => other.to_string().to_lowercase(),
            };
            let parsed = Email::parse(&raw)
                .map_err(|_| AdminError::bad_request("INVALID_EMAIL", "Invalid email"))?;
            if let Some(other) = admin.store.find_user_by_email(parsed.as_str()).await?
                && other.id != user_id
            {
                return Err(already_exists());
            }
            email = Some(parsed);
        }
    }
    let current = existing(admin, user_id).await?;
    let fields = &admin.policy.user_fields;
    for (name, value) in &data {
        if let Some(f) = fields.iter().find(|f| &f.name == name)
            && !value.is_null()
            && !f.ty.accepts(value)
        {
            return Err(AdminError::bad_request(
                "VALIDATION_ERROR",
                &format!("{name} must be a {}", f.ty.name()),
            ));
        }
    }
    let additional: Map<String, Value> = data
        .iter()
        .filter(|(k, _)| fields.iter().any(|f| &f.name == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let name = data.get("name").and_then(Value::as_str);
    let image = data
        .get("image")
        .map(|v| v.as_str().filter(|s| !s.is_empty()));
    let now = now_ms();
    let change = ProfileChange {
        name,
        image,
        fields: &additional,
    };
    let mut user = admin
        .store
        .update_user_profile(user_id, &change, now)
        .await?
        .ok_or_else(AdminError::user_not_found)?;
    let verified = data.get("emailVerified").and_then(Value::as_bool);
    if email.is_some() || verified.is_some_and(|v| v != current.email_verified) {
        let address = email.as_ref().map_or(current.email.as_str(), Email::as_str);
        let verified = verified.unwrap_or(current.email_verified);
        user = match admin
            .store
            .update_email(user_id, address, verified, now)
            .await
        {
            Ok(u) => u.ok_or_else(AdminError::user_not_found)?,
            Err(e) if e.is_unique_violation() => return Err(already_exists()),
            Err(e) => return Err(e.into()),
        };
    }
    if banning {
        admin.store.delete_user_sessions(user_id).await?;
    }
    Ok(user)
}
