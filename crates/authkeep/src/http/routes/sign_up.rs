use serde_json::json;

use crate::auth::sign_up::{SignUp, sign_up_email as sign_up_flow};
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};

/// `POST /sign-up/email`
pub async fn sign_up_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let limits = &app.limits;
    let mut f = Fields::object(ex.body.as_ref(), true);
    let name = f.name("name", true, limits.max_name_length);
    let email = f.email("email", limits.max_email_length);
    let password = f.non_empty_string("password", app.auth.password.max_length.max(1024));
    let image = f.optional_string("image", limits.max_url_length);
    let callback = f.optional_string("callbackURL", limits.max_url_length);
    let remember = f.optional_bool("rememberMe");
    f.finish()?;
    origin::check_form_csrf(&app.origins, &ex.headers, app.csrf_disabled)?;

    let input = SignUp {
        name: name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        password: password.unwrap_or_default(),
        image,
        remember: remember.unwrap_or(true),
        callback,
    };
    let remember = input.remember;
    let (user, session) = sign_up_flow(&app.auth, input, &ex.client).await?;
    if let Some(s) = &session {
        session::set_cookie(app, ex, &s.token, !remember);
    }
    Ok(Reply::json(
        json!({ "token": session.map(|s| s.token), "user": user }),
    ))
}
