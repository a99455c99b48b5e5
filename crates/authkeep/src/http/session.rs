//! Resolving the caller's session from the request, as better-auth's session middlewares do,
//! including the cookie side effects (re-set on refresh, cleared when the session is gone).

use axum::http::HeaderName;
use axum::http::header::ACCESS_CONTROL_EXPOSE_HEADERS;

use super::cookie_cache::Entry;
use super::error::ApiError;
use super::exchange::Exchange;
use super::{App, BearerPolicy};
use crate::auth::policy::Refresh;
use crate::auth::session::{self, Lookup};
use crate::auth::{AuthError, ErrorCode, Lifetime};
use crate::model::{Session, User, now_ms};

#[derive(Debug)]
pub struct Current {
    pub session: Session,
    pub user: User,
    /// The lookup extended the session (and so re-set its cookies).
    pub refreshed: bool,
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
                set_cookie(app, ex, &session, &user, Lifetime::Remembered);
            }
            Ok(Some(Current {
                session: *session,
                user: *user,
                refreshed,
            }))
        }
        Ok(Lookup::Gone) => {
            clear_cookies(app, ex);
            Ok(None)
        }
        Err(AuthError::Rule(ErrorCode::FailedToGetSession)) => {
            clear_cookies(app, ex);
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

/// Sets the session cookie for `session` (and, with the cookie cache on, the `session_data`
/// entry for it and `user`). A request that already carries the "don't remember" marker keeps
/// its browser-session cookie whatever `lifetime` says.
pub fn set_cookie(
    app: &App,
    ex: &mut Exchange,
    session: &Session,
    user: &User,
    lifetime: Lifetime,
) {
    let lifetime = match lifetime_of(app, ex) {
        Lifetime::BrowserSession => Lifetime::BrowserSession,
        Lifetime::Remembered => lifetime,
    };
    set_cookie_for(app, ex, session, user, lifetime);
}

/// [`set_cookie`] with exactly `lifetime`, whatever marker the request carries (the admin
/// plugin switching between an impersonation session and the admin's own).
pub fn set_cookie_for(
    app: &App,
    ex: &mut Exchange,
    session: &Session,
    user: &User,
    lifetime: Lifetime,
) {
    let token = &session.token;
    ex.set_cookies
        .extend(app.cookies.set_session(token, lifetime));
    // A remembered session replaces a "don't remember" one: its marker goes (only reachable
    // through `set_cookie_for`; `set_cookie` keeps the marker's lifetime).
    if lifetime == Lifetime::Remembered && app.cookies.dont_remember(&ex.headers) {
        ex.set_cookies.push(app.cookies.clear_dont_remember());
    }
    cache(app, ex, session, user, lifetime);
    if matches!(app.policy.bearer, BearerPolicy::On { .. }) {
        // better-auth's bearer plugin hands the signed token to clients that cannot read cookies.
        ex.add_header(
            HeaderName::from_static("set-auth-token"),
            &app.cookies.signed_token(token),
        );
        ex.add_header(ACCESS_CONTROL_EXPOSE_HEADERS, "set-auth-token");
    }
}

/// Writes the cookie cache entry for `session` and `user` (better-auth's `setCookieCache`), when
/// the cache is on. A "don't remember" session's entry is a browser-session cookie.
pub fn cache(app: &App, ex: &mut Exchange, session: &Session, user: &User, lifetime: Lifetime) {
    let Some(cache) = &app.cookies.cache else {
        return;
    };
    let remembered = lifetime == Lifetime::Remembered;
    let value = cache.encode(session, user, remembered, now_ms());
    let cookies =
        app.cookies
            .set_session_data(&ex.headers, &value, remembered.then_some(cache.max_age));
    ex.set_cookies.extend(cookies);
}

/// Expires every session cookie, the cookie cache's chunks included (better-auth's
/// `deleteSessionCookie`).
pub fn clear_cookies(app: &App, ex: &mut Exchange) {
    ex.set_cookies.extend(app.cookies.clear_session());
    let chunks = app.cookies.clear_session_data_chunks(&ex.headers);
    ex.set_cookies.extend(chunks);
}

/// What the cookie cache says about the request (better-auth's `get-session` reads it first).
pub enum Cached {
    /// The cache is off, bypassed, or holds nothing usable: ask the database.
    Miss,
    /// The cache is on and the request presents no session: `null`, without the database.
    NoSession,
    Hit(Box<Entry>),
}

/// Reads the cookie cache for `get-session`. A present but unusable entry (forged, expired,
/// another session's, another version) is expired and the database asked instead; a
/// `session_data` cookie sent while the cache is off is expired too.
pub fn cached(app: &App, ex: &mut Exchange, bypass: bool) -> Cached {
    let raw = app.cookies.session_data(&ex.headers);
    let Some(cache) = &app.cookies.cache else {
        if raw.is_some() {
            ex.set_cookies
                .extend(app.cookies.clear_session_data(&ex.headers));
        }
        return Cached::Miss;
    };
    let Some(token) = app.session_token(&ex.headers) else {
        return Cached::NoSession;
    };
    let Some(raw) = raw.filter(|_| !bypass) else {
        return Cached::Miss;
    };
    let now = now_ms();
    match cache.decode(&raw, now) {
        Some(entry) if entry.usable(cache, &token, now) => Cached::Hit(Box::new(entry)),
        _ => {
            ex.set_cookies
                .extend(app.cookies.clear_session_data(&ex.headers));
            Cached::Miss
        }
    }
}
