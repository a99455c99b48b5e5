use serde_json::json;

use crate::auth::ErrorCode;
use crate::auth::magic_link::{self, Callbacks};
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};

/// `POST /sign-in/magic-link` `{email, name?, callbackURL?, newUserCallbackURL?, errorCallbackURL?, metadata?}`
pub async fn sign_in_magic_link(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    if !app.auth.magic_link.enabled {
        return Err(ApiError::not_found());
    }
    let l = &app.limits;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", l.max_email_length);
    let name = f.name("name", false, l.max_name_length);
    let callback = f.optional_string("callbackURL", l.max_url_length);
    let new_user = f.optional_string("newUserCallbackURL", l.max_url_length);
    let error = f.optional_string("errorCallbackURL", l.max_url_length);
    f.finish()?;
    origin::check_form_csrf(&app.origins, &ex.headers, app.csrf_disabled)?;
    let cb = Callbacks {
        callback: callback.as_deref(),
        new_user: new_user.as_deref(),
        error: error.as_deref(),
    };
    magic_link::send(&app.auth, &email.unwrap_or_default(), name.as_deref(), cb).await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// `GET /magic-link/verify?token=…&callbackURL=…&newUserCallbackURL=…&errorCallbackURL=…`
pub async fn verify(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    if !app.auth.magic_link.enabled {
        return Err(ApiError::not_found());
    }
    let token = origin::required_query(ex, "token")?;
    let absolute = |name: &str, code: ErrorCode| -> Result<Option<String>, ApiError> {
        match ex.query.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(u) if app.origins.is_trusted(u, true) => {
                let base = url::Url::parse(&app.auth.api_url)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                base.join(u)
                    .map(|u| Some(u.to_string()))
                    .map_err(|_| code.into())
            }
            Some(_) => Err(code.into()),
        }
    };
    let callback = absolute("callbackURL", ErrorCode::InvalidCallbackUrl)?;
    let new_user = absolute("newUserCallbackURL", ErrorCode::InvalidNewUserCallbackUrl)?
        .or_else(|| callback.clone());
    let error = absolute("errorCallbackURL", ErrorCode::InvalidErrorCallbackUrl)?
        .or_else(|| callback.clone());
    match magic_link::verify(&app.auth, &token, &ex.client).await? {
        Err(e) => match error {
            Some(url) => Ok(Reply::redirect(origin::with_error(&url, e.as_str()))),
            None => Err(ApiError::Coded {
                status: axum::http::StatusCode::UNAUTHORIZED,
                code: ErrorCode::InvalidToken.as_str(),
                message: ErrorCode::InvalidToken.message().to_owned(),
            }),
        },
        Ok(signed_in) => {
            session::set_cookie(app, ex, &signed_in.session.token, false);
            Ok(match (callback, signed_in.is_new_user) {
                (Some(_), true) => Reply::redirect(new_user.unwrap_or_default()),
                (Some(cb), false) => Reply::redirect(cb),
                (None, _) => Reply::json(json!({
                    "token": signed_in.session.token,
                    "user": signed_in.user,
                    "session": signed_in.session,
                })),
            })
        }
    }
}
