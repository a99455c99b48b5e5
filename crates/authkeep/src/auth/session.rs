//! Sessions: creation, lookup with better-auth's sliding refresh, freshness, listing, revocation.

use chrono::{DateTime, Duration, Utc};

use super::policy::{Refresh, SessionPolicy};
use super::{Auth, AuthError, ClientInfo, ErrorCode, Lifetime};
use crate::crypto;
use crate::model::{ImpersonatedBy, Session, User, now_ms};

/// A session created with `rememberMe: false` lives one day, whatever `expiresIn` says.
const BROWSER_SESSION_LIFETIME: Duration = Duration::days(1);

pub fn new_session(
    policy: &SessionPolicy,
    user_id: &str,
    client: &ClientInfo,
    lifetime: Lifetime,
    now: DateTime<Utc>,
) -> Session {
    let lifetime = match lifetime {
        Lifetime::Remembered => policy.expires_in,
        Lifetime::BrowserSession => BROWSER_SESSION_LIFETIME,
    };
    Session {
        id: crypto::generate_id(),
        token: crypto::generate_id(),
        user_id: user_id.to_owned(),
        expires_at: now + lifetime,
        ip_address: Some(client.ip_address.clone()),
        user_agent: Some(client.user_agent.clone()),
        impersonated_by: if policy.admin_plugin {
            ImpersonatedBy::Nobody
        } else {
            ImpersonatedBy::Off
        },
        created_at: now,
        updated_at: now,
    }
}

/// What a session token resolves to.
#[derive(Debug)]
pub enum Lookup {
    /// No such session, or it expired (and was deleted): the caller should clear its cookies.
    Gone,
    Valid {
        session: Box<Session>,
        user: Box<User>,
        refreshed: bool,
    },
}

/// Finds the session for `token`. An expired row is deleted. A live one is extended when it was
/// last extended `updateAge` or more ago, unless `refresh` says not to (or the policy does).
pub async fn lookup(auth: &Auth, token: &str, refresh: Refresh) -> Result<Lookup, AuthError> {
    let now = now_ms();
    let Some((mut session, user)) = auth.store.find_session_with_user(token).await? else {
        return Ok(Lookup::Gone);
    };
    if session.expires_at < now {
        auth.store.delete_session(token).await?;
        return Ok(Lookup::Gone);
    }
    let p = &auth.policy.session;
    let due = session.expires_at - p.expires_in + p.update_age <= now;
    let allowed = refresh == Refresh::Allowed && p.refresh == Refresh::Allowed;
    if !(allowed && due) {
        return Ok(Lookup::Valid {
            session: Box::new(session),
            user: Box::new(user),
            refreshed: false,
        });
    }
    let expires_at = now + p.expires_in;
    if !auth.store.refresh_session(token, expires_at, now).await? {
        return Err(ErrorCode::FailedToGetSession.into());
    }
    session.expires_at = expires_at;
    session.updated_at = now;
    Ok(Lookup::Valid {
        session: Box::new(session),
        user: Box::new(user),
        refreshed: true,
    })
}

/// better-auth's `freshSessionMiddleware`: the session was created within `freshAge`.
pub fn is_fresh(policy: &SessionPolicy, session: &Session) -> bool {
    policy
        .fresh_age
        .is_none_or(|age| now_ms() - session.created_at <= age)
}

pub async fn create(
    auth: &Auth,
    user_id: &str,
    client: &ClientInfo,
    lifetime: Lifetime,
) -> Result<Session, AuthError> {
    if let Some(p) = &auth.policy.admin {
        super::admin_plugin::ban::check_before_session(auth.admin(), p, user_id).await?;
    }
    let session = new_session(&auth.policy.session, user_id, client, lifetime, now_ms());
    auth.store.create_session(&session).await?;
    Ok(session)
}

pub async fn list_active(auth: &Auth, user_id: &str) -> Result<Vec<Session>, AuthError> {
    Ok(auth.store.list_active_sessions(user_id, now_ms()).await?)
}

/// Revokes one of the user's own sessions by token; someone else's token is silently ignored.
pub async fn revoke(auth: &Auth, user_id: &str, token: &str) -> Result<(), AuthError> {
    Ok(auth.store.delete_user_session(user_id, token).await?)
}

pub async fn revoke_all(auth: &Auth, user_id: &str) -> Result<(), AuthError> {
    Ok(auth.store.delete_user_sessions(user_id).await?)
}

pub async fn revoke_others(auth: &Auth, user_id: &str, keep_token: &str) -> Result<(), AuthError> {
    Ok(auth
        .store
        .delete_user_sessions_except(user_id, keep_token)
        .await?)
}

/// Ends the session behind `token`; returns whose it was, when it existed.
pub async fn sign_out(auth: &Auth, token: &str) -> Result<Option<String>, AuthError> {
    let owner = auth
        .store
        .find_session_with_user(token)
        .await?
        .map(|(s, _)| s.user_id);
    auth.store.delete_session(token).await?;
    Ok(owner)
}
