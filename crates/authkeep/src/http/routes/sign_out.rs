use serde_json::json;

use crate::auth::session;
use crate::http::App;
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};

/// `POST /sign-out`: deletes the session behind the cookie (if any) and always clears cookies.
pub async fn sign_out(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let mut f = Fields::optional_object(ex.body.as_ref());
    f.optional_string("callbackURL", app.limits.max_url_length);
    f.optional_bool("disableRedirect");
    f.finish()?;
    if let Some(token) = app.session_token(&ex.headers) {
        session::sign_out(&app.auth, &token).await?;
    }
    ex.set_cookies.extend(app.cookies.clear_session());
    Ok(Reply::json(json!({ "success": true })))
}
