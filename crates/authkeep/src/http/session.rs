//! Resolving the caller's session from the request, as better-auth's session middlewares do,
//! including the cookie side effects (re-set on refresh, cleared when the session is gone).

use axum::http::HeaderName;
use axum::http::header::ACCESS_CONTROL_EXPOSE_HEADERS;

use super::App;
use super::error::ApiError;
use super::exchange::Exchange;
use crate::auth::session::{self, Lookup};
use crate::auth::{AuthError, ErrorCode};
use crate::model::{Session, User};

#[derive(Debug)]
pub struct Current {
    pub session: Session,
    pub user: User,
}

/// The session behind the request's signed cookie, if any. Refreshes it when due (unless the
/// request asked not to, or carries `dont_remember`), re-setting the cookie; clears the
/// cookies of a session that is gone.
pub async fn current(
    app: &App,
    ex: &mut Exchange,
    allow_refresh: bool,
) -> Result<Option<Current>, ApiError> {
    let Some(token) = app.session_token(&ex.headers) else {
        return Ok(None);
    };
    let dont_remember = app.cookies.dont_remember(&ex.headers);
    match session::lookup(&app.auth, &token, allow_refresh && !dont_remember).await {
        Ok(Lookup::Valid {
            session,
            user,
            refreshed,
        }) => {
            if refreshed {
                set_cookie(app, ex, &session.token, false);
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
    current(app, ex, true)
        .await?
        .ok_or_else(|| ErrorCode::Unauthorized.into())
}

/// better-auth's `freshSessionMiddleware`: also 403 when the session is older than `freshAge`.
pub async fn require_fresh(app: &App, ex: &mut Exchange) -> Result<Current, ApiError> {
    let current = require(app, ex).await?;
    if !session::is_fresh(&app.auth.session, &current.session) {
        return Err(ErrorCode::SessionNotFresh.into());
    }
    Ok(current)
}

/// Sets the session cookie for `token`, keeping a "don't remember" request's browser-session form.
pub fn set_cookie(app: &App, ex: &mut Exchange, token: &str, dont_remember: bool) {
    let dont_remember = dont_remember || app.cookies.dont_remember(&ex.headers);
    ex.set_cookies
        .extend(app.cookies.set_session(token, dont_remember));
    if app.bearer.enabled {
        // better-auth's bearer plugin hands the signed token to clients that cannot read cookies.
        ex.add_header(
            HeaderName::from_static("set-auth-token"),
            &app.cookies.signed_token(token),
        );
        ex.add_header(ACCESS_CONTROL_EXPOSE_HEADERS, "set-auth-token");
    }
}
