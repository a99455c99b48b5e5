use serde_json::json;

use crate::auth::session;
use crate::http::App;
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};

/// `{callbackURL?, disableRedirect?}`: checked as better-auth's schema checks them, then unused.
struct SignOutBody;

impl Body for SignOutBody {
    const SHAPE: Shape = Shape::OptionalObject;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (callback, no_redirect) = (
            f.optional_url("callbackURL"),
            f.optional_bool("disableRedirect"),
        );
        callback?;
        no_redirect?;
        Some(SignOutBody)
    }
}

/// `POST /sign-out`: deletes the session behind the cookie (if any) and always clears cookies.
pub async fn sign_out(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let SignOutBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    if let Some(token) = app.session_token(&ex.headers) {
        session::sign_out(&app.auth, &token).await?;
    }
    ex.set_cookies.extend(app.cookies.clear_session());
    Ok(Reply::json(json!({ "success": true })))
}
