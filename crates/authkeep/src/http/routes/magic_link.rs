//! better-auth's magic-link plugin routes (present only while the plugin is on).

use serde_json::json;

use crate::auth::magic_link::{self, Callbacks};
use crate::auth::{ErrorCode, Lifetime};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};
use crate::model::Email;

struct SendBody {
    email: Email,
    name: Option<String>,
    callback: Option<String>,
    new_user: Option<String>,
    error: Option<String>,
}

impl Body for SendBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, name) = (f.email("email"), f.optional_name("name"));
        let callback = f.optional_url("callbackURL");
        let new_user = f.optional_url("newUserCallbackURL");
        let error = f.optional_url("errorCallbackURL");
        Some(SendBody {
            email: email?,
            name: name?,
            callback: callback?,
            new_user: new_user?,
            error: error?,
        })
    }
}

/// `POST /sign-in/magic-link` `{email, name?, callbackURL?, newUserCallbackURL?, errorCallbackURL?, metadata?}`
pub async fn sign_in_magic_link(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SendBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    origin::check_form_csrf(app, &ex.headers)?;
    let cb = Callbacks {
        callback: b.callback.as_deref(),
        new_user: b.new_user.as_deref(),
        error: b.error.as_deref(),
    };
    magic_link::send(&app.auth, &b.email, b.name.as_deref(), cb).await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// A callback from the link's query, made absolute against the API URL as better-auth does.
fn absolute_callback(
    app: &App,
    ex: &Exchange,
    name: &str,
    code: ErrorCode,
) -> Result<Option<String>, ApiError> {
    match ex.query.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(u) if app.origins.is_trusted_callback(u) => url::Url::parse(&app.auth.policy.api_url)
            .and_then(|base| base.join(u))
            .map(|u| Some(u.to_string()))
            .map_err(|_| code.into()),
        Some(_) => Err(code.into()),
    }
}

/// `GET /magic-link/verify?token=…&callbackURL=…&newUserCallbackURL=…&errorCallbackURL=…`
pub async fn verify(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let token = origin::required_query(ex, "token")?;
    let callback = absolute_callback(app, ex, "callbackURL", ErrorCode::InvalidCallbackUrl)?;
    let new_user = absolute_callback(
        app,
        ex,
        "newUserCallbackURL",
        ErrorCode::InvalidNewUserCallbackUrl,
    )?
    .or_else(|| callback.clone());
    let error = absolute_callback(
        app,
        ex,
        "errorCallbackURL",
        ErrorCode::InvalidErrorCallbackUrl,
    )?
    .or_else(|| callback.clone());
    match magic_link::verify(&app.auth, &token, &ex.client).await? {
        Err(e) => match error {
            Some(url) => Ok(Reply::redirect(origin::with_error(&url, e.as_str()))),
            None => Err(ApiError::link_refused(ErrorCode::InvalidToken)),
        },
        Ok(signed_in) => {
            session::set_cookie(
                app,
                ex,
                &signed_in.session,
                &signed_in.user,
                Lifetime::Remembered,
            );
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
