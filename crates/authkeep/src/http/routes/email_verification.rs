use serde_json::json;

use crate::auth::policy::Refresh;
use crate::auth::verify_link::Cookie;
use crate::auth::{AuthError, Lifetime, email_verification, verify_link};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};
use crate::model::Email;

struct SendBody {
    email: Email,
    callback: Option<String>,
}

impl Body for SendBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, callback) = (f.email("email"), f.optional_url("callbackURL"));
        Some(SendBody {
            email: email?,
            callback: callback?,
        })
    }
}

/// `POST /send-verification-email` `{email, callbackURL?}`
pub async fn send_verification_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SendBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let caller = session::current(app, ex, Refresh::Allowed).await?;
    email_verification::request(
        &app.auth,
        &b.email,
        b.callback.as_deref(),
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
    let caller = session::current(app, ex, Refresh::Allowed).await?;
    let caller_user = caller.as_ref().map(|c| &c.user);
    match verify_link::follow(
        &app.auth,
        &token,
        &ex.client,
        caller_user,
        callback.as_deref(),
    )
    .await
    {
        Ok(followed) => {
            match (&followed.cookie, &caller) {
                (Cookie::New(s, user), _) => {
                    session::set_cookie(app, ex, s, user, Lifetime::Remembered)
                }
                (Cookie::Caller(user), Some(c)) => {
                    session::set_cookie(app, ex, &c.session, user, Lifetime::Remembered)
                }
                _ => {}
            }
            Ok(match callback {
                Some(cb) => Reply::redirect(cb),
                None => Reply::json(json!({ "status": true, "user": followed.user })),
            })
        }
        Err(AuthError::Rule(code)) => match callback {
            Some(cb) => Ok(Reply::redirect(origin::with_error(&cb, code.as_str()))),
            None => Err(ApiError::link_refused(code)),
        },
        Err(e) => Err(e.into()),
    }
}
