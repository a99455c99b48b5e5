use axum::http::HeaderName;
use axum::http::header::{ACCESS_CONTROL_EXPOSE_HEADERS, CACHE_CONTROL, PRAGMA};
use serde_json::{Value, json};

use crate::auth::policy::Refresh;
use crate::auth::{AuthError, ErrorCode, Lifetime, session as sessions};
use crate::http::body::{self, Body, Fields, NoFields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::session::Cached;
use crate::http::{App, session};
use crate::model::User;

/// `GET /get-session`: `{session, user}` or `null`. Never cached by the browser or a proxy.
pub async fn get_session(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    ex.add_header(CACHE_CONTROL, "no-store");
    ex.add_header(PRAGMA, "no-cache");
    if ex.method == axum::http::Method::POST {
        // Only valid with better-auth's `deferSessionRefresh`, which authkeep does not offer.
        return Err(ErrorCode::MethodNotAllowedDeferSessionRequired.into());
    }
    let disable_refresh = ex.query_flag("disableRefresh");
    let refresh = if disable_refresh {
        Refresh::Never
    } else {
        Refresh::Allowed
    };
    match session::cached(app, ex, ex.query_flag("disableCookieCache")) {
        Cached::NoSession => return Ok(Reply::json(Value::Null)),
        Cached::Hit(entry) => {
            // Served from the cookie, as better-auth does: no database read, so a session
            // revoked elsewhere lives on here until the entry expires (`max_age`).
            // A JWT minted from a cached entry lives no longer than the entry: the session may
            // have been revoked meanwhile, and the cache only vouches for it until then.
            let until = entry.expires_at_ms().div_euclid(1000);
            set_jwt_header(app, ex, &entry.user, Some(until)).await?;
            return Ok(Reply::json(
                json!({ "session": entry.session, "user": entry.user_json }),
            ));
        }
        Cached::Miss => {}
    }
    let Some(c) = session::current(app, ex, refresh).await? else {
        return Ok(Reply::json(Value::Null));
    };
    // As better-auth: a read that may not refresh (don't-remember, `disableRefresh`) leaves
    // the cache alone; a refresh has re-set it with the session cookie.
    let may_refresh = !disable_refresh && !app.cookies.dont_remember(&ex.headers);
    if may_refresh && !c.refreshed {
        session::cache(app, ex, &c.session, &c.user, Lifetime::Remembered);
    }
    set_jwt_header(app, ex, &c.user, None).await?;
    Ok(Reply::json(json!({ "session": c.session, "user": c.user })))
}

/// better-auth's jwt plugin: a fresh JWT with every session read.
async fn set_jwt_header(
    app: &App,
    ex: &mut Exchange,
    user: &User,
    not_after: Option<i64>,
) -> Result<(), ApiError> {
    if let Some(jwt) = app.auth.jwt.as_ref().filter(|_| app.policy.set_jwt_header) {
        let token = jwt.token_until(user, not_after).await?;
        ex.add_header(HeaderName::from_static("set-auth-jwt"), &token);
        ex.add_header(ACCESS_CONTROL_EXPOSE_HEADERS, "set-auth-jwt");
    }
    Ok(())
}

/// `GET /list-sessions`: the user's live sessions; needs a fresh session.
pub async fn list_sessions(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let c = session::require_fresh(app, ex).await?;
    let mut list = sessions::list_active(&app.auth, &c.user.id).await?;
    // The admin plugin hides impersonation sessions from the user's own list.
    list.retain(|s| s.impersonated_by.admin().is_none());
    Ok(Reply::json(json!(list)))
}

fn status_true() -> Reply {
    Reply::json(json!({ "status": true }))
}

struct RevokeSessionBody {
    token: String,
}

impl Body for RevokeSessionBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        Some(RevokeSessionBody {
            token: f.token("token")?,
        })
    }
}

/// `POST /revoke-session` `{token}`: revokes one of the caller's sessions.
pub async fn revoke_session(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: RevokeSessionBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    sessions::revoke(&app.auth, &c.user.id, &b.token).await?;
    if crate::crypto::ct_eq_str(&b.token, &c.session.token) {
        session::clear_cookies(app, ex);
    }
    Ok(status_true())
}

/// `POST /revoke-sessions`: revokes every session of the caller, this one included.
pub async fn revoke_sessions(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let NoFields = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    sessions::revoke_all(&app.auth, &c.user.id).await?;
    session::clear_cookies(app, ex);
    Ok(status_true())
}

/// `POST /revoke-other-sessions`: revokes every session of the caller but this one.
pub async fn revoke_other_sessions(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let NoFields = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    sessions::revoke_others(&app.auth, &c.user.id, &c.session.token).await?;
    Ok(status_true())
}

/// Any key/value record: better-auth only lets *additional* session fields be updated.
struct AnyRecord;

impl Body for AnyRecord {
    const SHAPE: Shape = Shape::Record;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        f.is_map().then_some(AnyRecord)
    }
}

/// `POST /update-session`: authkeep declares no additional session fields, so every request
/// has nothing to update, as in a default better-auth.
pub async fn update_session(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let AnyRecord = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    session::require(app, ex).await?;
    Err(AuthError::Message("No fields to update").into())
}
