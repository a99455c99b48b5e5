use axum::http::header::LOCATION;
use serde_json::json;

use crate::auth::Lifetime;
use crate::auth::sign_in::{SignIn, sign_in_email as sign_in_flow};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};

struct SignInBody {
    email: String,
    password: String,
    callback: Option<String>,
    remember_me: Option<bool>,
}

impl Body for SignInBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, password) = (f.raw_email("email"), f.password("password"));
        let (callback, remember_me) =
            (f.optional_url("callbackURL"), f.optional_bool("rememberMe"));
        Some(SignInBody {
            email: email?,
            password: password?,
            callback: callback?,
            remember_me: remember_me?,
        })
    }
}

/// `POST /sign-in/email`
pub async fn sign_in_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SignInBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    origin::check_form_csrf(app, &ex.headers)?;
    let lifetime = Lifetime::from_remember_me(b.remember_me.unwrap_or(true));
    let input = SignIn {
        email: b.email,
        password: b.password,
        lifetime,
        callback: b.callback.clone(),
    };
    let (user, s) = sign_in_flow(&app.auth, input, &ex.client).await?;
    if let Some(held) = super::two_factor::after_sign_in(app, ex, &user, &s, lifetime).await? {
        return Ok(held);
    }
    session::set_cookie(app, ex, &s, &user, lifetime);
    // The origin check has vetted the callback; send back its parsed form, as every redirect does.
    let body = match b
        .callback
        .filter(|c| !c.is_empty())
        .map(|c| origin::normalized(&c))
    {
        Some(url) => {
            ex.add_header(LOCATION, &url);
            json!({ "redirect": true, "token": s.token, "url": url, "user": user })
        }
        None => json!({ "redirect": false, "token": s.token, "user": user }),
    };
    Ok(Reply::json(body))
}
