use axum::http::header::LOCATION;
use serde_json::json;

use crate::auth::oauth::logout;
use crate::auth::session;
use crate::http::App;
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::report::Report;

/// `{callbackURL?, disableRedirect?, state?}`: where an OpenID Connect provider sends the user
/// after its own sign-out.
struct SignOutBody {
    callback: Option<String>,
    disable_redirect: bool,
    state: Option<String>,
}

impl Body for SignOutBody {
    const SHAPE: Shape = Shape::OptionalObject;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (callback, no_redirect, state) = (
            f.optional_url("callbackURL"),
            f.optional_bool("disableRedirect"),
            f.optional_string("state"),
        );
        Some(SignOutBody {
            callback: callback?,
            disable_redirect: no_redirect?.unwrap_or(false),
            state: state?,
        })
    }
}

/// `POST /sign-out`: deletes the session behind the cookie (if any) and always clears cookies.
/// When the user has an account with an OpenID Connect provider that offers RP-initiated
/// logout, the answer also carries the provider's end-session URL, as better-auth's does.
pub async fn sign_out(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SignOutBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let owner = match app.session_token(&ex.headers) {
        Some(token) => session::sign_out(&app.auth, &token).await?,
        None => None,
    };
    crate::http::session::clear_cookies(app, ex);
    let Some(user_id) = owner else {
        return Ok(Reply::json(json!({ "success": true })));
    };
    let post_logout = b.callback.as_deref().and_then(|c| {
        url::Url::parse(&app.auth.social.api_url)
            .and_then(|base| base.join(c))
            .ok()
            .map(|u| u.to_string())
    });
    // The local sign-out has happened; a provider that cannot be asked only costs its URL.
    let url = logout::end_session_url(
        &app.auth,
        &user_id,
        post_logout.as_deref(),
        b.state.as_deref(),
    )
    .await
    .unwrap_or_else(|e| {
        tracing::warn!(error = %Report(&e), "could not build the provider's sign-out URL");
        None
    });
    Ok(Reply::json(match url {
        Some(url) => {
            if !b.disable_redirect {
                ex.add_header(LOCATION, &url);
            }
            json!({ "success": true, "url": url, "redirect": !b.disable_redirect })
        }
        None => json!({ "success": true }),
    }))
}
