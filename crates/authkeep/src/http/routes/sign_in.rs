use axum::http::header::LOCATION;
use serde_json::json;

use crate::auth::sign_in::{SignIn, sign_in_email as sign_in_flow};
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};

/// `POST /sign-in/email`
pub async fn sign_in_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let limits = &app.limits;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.string("email", limits.max_email_length);
    let password = f.string("password", app.auth.password.max_length.max(1024));
    let callback = f.optional_string("callbackURL", limits.max_url_length);
    let remember = f.optional_bool("rememberMe").unwrap_or(true);
    f.finish()?;
    origin::check_form_csrf(&app.origins, &ex.headers, app.csrf_disabled)?;

    let input = SignIn {
        email: email.unwrap_or_default(),
        password: password.unwrap_or_default(),
        remember,
        callback: callback.clone(),
    };
    let (user, s) = sign_in_flow(&app.auth, input, &ex.client).await?;
    session::set_cookie(app, ex, &s.token, !remember);
    let body = match callback.filter(|c| !c.is_empty()) {
        Some(url) => {
            ex.add_header(LOCATION, &url);
            json!({ "redirect": true, "token": s.token, "url": url, "user": user })
        }
        None => json!({ "redirect": false, "token": s.token, "user": user }),
    };
    Ok(Reply::json(body))
}
