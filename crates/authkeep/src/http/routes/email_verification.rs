use serde_json::json;

use crate::auth::{AuthError, email_verification};
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};

/// `POST /send-verification-email` `{email, callbackURL?}`
pub async fn send_verification_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", app.limits.max_email_length);
    let callback = f.optional_string("callbackURL", app.limits.max_url_length);
    f.finish()?;
    let caller = session::current(app, ex, true).await?;
    email_verification::request(
        &app.auth,
        &email.unwrap_or_default(),
        callback.as_deref(),
        caller.as_ref().map(|c| &c.user),
    )
    .await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// `GET /verify-email?token=…&callbackURL=…`: errors redirect to the callback with
/// `?error=CODE` when there is one, else answer 401 with the code.
pub async fn verify_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let token = origin::required_query(ex, "token")?;
    let callback = origin::checked_callback(app, ex, "callbackURL")?;
    let caller = session::current(app, ex, true).await?;
    let caller_user = caller.as_ref().map(|c| &c.user);
    match email_verification::verify(&app.auth, &token, &ex.client, caller_user).await {
        Ok(verified) => {
            match (&verified.session, &caller) {
                (Some(s), _) => session::set_cookie(app, ex, &s.token, false),
                (None, Some(c)) if verified.user.is_some() => {
                    session::set_cookie(app, ex, &c.session.token, false)
                }
                _ => {}
            }
            Ok(match callback {
                Some(cb) => Reply::redirect(cb),
                None => Reply::json(json!({ "status": true, "user": verified.user })),
            })
        }
        Err(AuthError::Rule(code)) => match callback {
            Some(cb) => Ok(Reply::redirect(origin::with_error(&cb, code.as_str()))),
            None => Err(ApiError::Coded {
                status: axum::http::StatusCode::UNAUTHORIZED,
                code: code.as_str(),
                message: code.message().to_owned(),
            }),
        },
        Err(e) => Err(e.into()),
    }
}
