//! Impersonation: an admin opens a short, "don't remember" session as another user, marked
//! with the admin's id, and later returns to their own session. Admins are not impersonated
//! unless the caller holds `impersonate-admins` (the default `admin` role does not).

use super::access::may;
use super::users::{existing, require};
use super::{AdminError, AdminPolicy, is_admin};
use crate::auth::session::new_session;
use crate::auth::{Auth, AuthError, ClientInfo, Lifetime};
use crate::model::{ImpersonatedBy, Session, User, now_ms};

/// Opens a session as `target_id` for `caller`; returns it with the target user.
pub async fn impersonate(
    auth: &Auth,
    p: &AdminPolicy,
    caller: &User,
    target_id: &str,
    client: &ClientInfo,
) -> Result<(Session, User), AuthError> {
    require(
        p,
        caller,
        "user",
        "impersonate",
        "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS",
        "You are not allowed to impersonate users",
    )?;
    let target = existing(auth.admin(), target_id).await?;
    if is_admin(p, &target)
        && !may(
            p,
            &caller.id,
            super::role_of(caller),
            "user",
            "impersonate-admins",
        )
    {
        return Err(AdminError::forbidden(
            "YOU_CANNOT_IMPERSONATE_ADMINS",
            "You cannot impersonate admins",
        ));
    }
    let now = now_ms();
    let mut session = new_session(
        &auth.policy.session,
        &target.id,
        client,
        Lifetime::BrowserSession,
        now,
    );
    session.expires_at = now + p.impersonation_session_duration;
    session.impersonated_by = ImpersonatedBy::Admin(caller.id.clone());
    auth.store.create_impersonation_session(&session).await?;
    Ok((session, target))
}

/// Why returning from an impersonation failed (better-auth answers each with its message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopError {
    NotImpersonating,
    AdminGone,
    AdminSessionGone,
}

/// Ends the impersonation session `current` and returns the admin's own session (by the token
/// kept in the admin cookie) with the admin, when it is still theirs.
pub async fn stop(
    auth: &Auth,
    current: &Session,
    admin_token: Option<&str>,
) -> Result<Result<(Session, User), StopError>, AuthError> {
    let Some(admin_id) = current.impersonated_by.admin() else {
        return Ok(Err(StopError::NotImpersonating));
    };
    if auth.store.find_user_by_id(admin_id).await?.is_none() {
        return Ok(Err(StopError::AdminGone));
    }
    let Some(token) = admin_token else {
        return Ok(Err(StopError::AdminSessionGone));
    };
    let found = auth.store.find_session_with_user(token).await?;
    let Some((session, user)) = found.filter(|(s, _)| s.user_id == admin_id) else {
        return Ok(Err(StopError::AdminSessionGone));
    };
    auth.store.delete_session(&current.token).await?;
    Ok(Ok((session, user)))
}
