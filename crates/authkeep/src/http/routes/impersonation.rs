//! better-auth's admin plugin: `impersonate-user` and `stop-impersonating`. The admin's own
//! session is kept in the signed `admin_session` cookie while they act as another user.

use serde_json::{Value, json};

use super::admin::UserId;
use crate::auth::Lifetime;
use crate::auth::admin_plugin::impersonate::{self, StopError};
use crate::auth::policy::Refresh;
use crate::http::body;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};
use crate::model::User;

fn user_json(u: &User) -> Value {
    serde_json::to_value(u).unwrap_or(Value::Null)
}

/// `POST /admin/impersonate-user` `{userId}` → `{session, user}`. The admin's session is kept
/// in the `admin_session` cookie; the new one is a browser-session cookie.
pub async fn impersonate_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let UserId(id) = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let p = app.auth.policy.admin.as_ref().ok_or(ApiError::NotFound)?;
    let c = session::current(app, ex, Refresh::Allowed)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let (s, user) = impersonate::impersonate(&app.auth, p, &c.user, &id, &ex.client).await?;
    let remembered = if app.cookies.dont_remember(&ex.headers) {
        "true"
    } else {
        ""
    };
    // better-auth expires the session cookies, saves the admin's, then sets the new ones.
    session::clear_cookies(app, ex);
    let saved = format!("{}:{remembered}", c.session.token);
    ex.set_cookies.push(app.cookies.set_admin_session(&saved));
    session::set_cookie(app, ex, &s, &user, Lifetime::BrowserSession);
    Ok(Reply::json(
        json!({ "session": s, "user": user_json(&user) }),
    ))
}

/// `POST /admin/stop-impersonating` → the admin's `{session, user}`, back on the admin's own
/// session cookie.
pub async fn stop_impersonating(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    app.auth.policy.admin.as_ref().ok_or(ApiError::NotFound)?;
    let c = session::current(app, ex, Refresh::Allowed)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let saved = app.cookies.admin_session(&ex.headers);
    let (token, dont_remember) = match saved
        .as_deref()
        .map(|v| v.split_once(':').unwrap_or((v, "")))
    {
        Some((t, r)) => (Some(t.to_owned()), !r.is_empty()),
        None => (None, false),
    };
    let server = |m: &str| ApiError::MessageOnly {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        message: m.to_owned(),
    };
    let (s, user) = match impersonate::stop(&app.auth, &c.session, token.as_deref()).await? {
        Ok(found) => found,
        Err(StopError::NotImpersonating) => {
            return Err(ApiError::message("You are not impersonating anyone"));
        }
        Err(StopError::AdminGone) => return Err(server("Failed to find user")),
        Err(StopError::AdminSessionGone) => return Err(server("Failed to find admin session")),
    };
    let lifetime = if dont_remember {
        Lifetime::BrowserSession
    } else {
        Lifetime::Remembered
    };
    session::set_cookie_for(app, ex, &s, &user, lifetime);
    ex.set_cookies.push(app.cookies.clear_admin_session());
    Ok(Reply::json(
        json!({ "session": s, "user": user_json(&user) }),
    ))
}
