//! Resolving the caller's session from the request, as better-auth's session middlewares do,
//! including the cookie side effects (re-set on refresh, cleared when the session is gone).

use axum::http::HeaderName;
use axum::http::header::ACCESS_CONTROL_EXPOSE_HEADERS;

use super::error::ApiError;
use super::exchange::Exchange;
use super::{App, BearerPolicy};
use crate::auth::policy::Refresh;
use crate::auth::session::{self, Lookup};
use crate::auth::{AuthError, ErrorCode, Lifetime};
use crate::model::{Session, User};

#[derive(Debug)]
pub struct Current {
    pub session: Session,
    pub user: User,
}

/// The session behind the request's signed cookie or bearer token, if any. Refreshes it when
/// due (unless `refresh` says not to, or the request carries `dont_remember`), re-setting the
/// cookie; clears the cookies of a session that is gone.
pub async fn current(
    app: &App,
    ex: &mut Exchange,
    refresh: Refresh,
) -> Result<Option<Current>, ApiError> {
    let Some(token) = app.session_token(&ex.headers) else {
        return Ok(None);
    };
    let refresh = if app.cookies.dont_remember(&ex.headers) {
        Refresh::Never
    } else {
        refresh
    };
    match session::lookup(&app.auth, &token, refresh).await {
        Ok(Lookup::Valid {
            session,
            user,
            refreshed,
        }) => {
            if refreshed {
                set_cookie(app, ex, &session.token, Lifetime::Remembered);
            }
            Ok(Some(Current {
                session: *session,
                user: *user,
            }))
        }
        Ok(Lookup::Gone) => {
            ex.set_cookies.extend(app.cookies.clear_session());
            Ok(None)
        }
        Err(AuthError::Rule(ErrorCode::FailedToGetSession)) => {
            ex.set_cookies.extend(app.cookies.clear_session());
            Err(ErrorCode::FailedToGetSession.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// better-auth's `sessionMiddleware`: 401 without a valid session.
pub async fn require(app: &App, ex: &mut Exchange) -> Result<Current, ApiError> {
    current(app, ex, Refresh::Allowed)
        .await?
        .ok_or_else(|| ErrorCode::Unauthorized.into())
}

/// better-auth's `freshSessionMiddleware`: also 403 when the session is older than `freshAge`.
pub async fn require_fresh(app: &App, ex: &mut Exchange) -> Result<Current, ApiError> {
    let current = require(app, ex).await?;
    if !session::is_fresh(&app.auth.policy.session, &current.session) {
        return Err(ErrorCode::SessionNotFresh.into());
    }
    Ok(current)
}

/// The lifetime a replacement cookie keeps: a "don't remember" request stays a browser session.
pub fn lifetime_of(app: &App, ex: &Exchange) -> Lifetime {
    if app.cookies.dont_remember(&ex.headers) {
        Lifetime::BrowserSession
    } else {
        Lifetime::Remembered
    }
}

/// Sets the session cookie for `token`. A request that already carries the "don't remember"
/// marker keeps its browser-session cookie whatever `lifetime` says.
pub fn set_cookie(app: &App, ex: &mut Exchange, token: &str, lifetime: Lifetime) {
    let lifetime = match lifetime_of(app, ex) {
        Lifetime::BrowserSession => Lifetime::BrowserSession,
        Lifetime::Remembered => lifetime,
    };
    ex.set_cookies
        .extend(app.cookies.set_session(token, lifetime));
    if matches!(app.policy.bearer, BearerPolicy::On { .. }) {
        // better-auth's bearer plugin hands the signed token to clients that cannot read cookies.
        ex.add_header(
            HeaderName::from_static("set-auth-token"),
            &app.cookies.signed_token(token),
        );
        ex.add_header(ACCESS_CONTROL_EXPOSE_HEADERS, "set-auth-token");
    }
}
