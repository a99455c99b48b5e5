use serde_json::json;

use crate::auth::Lifetime;
use crate::auth::sign_up::{SignUp, sign_up_email as sign_up_flow};
use crate::auth::user_fields::UserFields;
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};
use crate::model::Email;

struct SignUpBody {
    name: String,
    email: Email,
    password: String,
    image: Option<String>,
    callback: Option<String>,
    remember_me: Option<bool>,
    fields: UserFields,
}

impl Body for SignUpBody {
    const SHAPE: Shape = Shape::ObjectAndRecord;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (name, email, password) = (
            f.name("name"),
            f.email("email"),
            f.non_empty_password("password"),
        );
        let (image, callback) = (f.optional_url("image"), f.optional_url("callbackURL"));
        let remember_me = f.optional_bool("rememberMe");
        let fields = f.user_fields();
        Some(SignUpBody {
            name: name?,
            email: email?,
            password: password?,
            image: image?,
            callback: callback?,
            remember_me: remember_me?,
            fields: fields?,
        })
    }
}

/// `POST /sign-up/email`
pub async fn sign_up_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SignUpBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    origin::check_form_csrf(app, &ex.headers)?;
    let lifetime = Lifetime::from_remember_me(b.remember_me.unwrap_or(true));
    let input = SignUp {
        name: b.name,
        email: b.email,
        password: b.password,
        image: b.image,
        lifetime,
        callback: b.callback,
        fields: b.fields,
    };
    let (user, session) = sign_up_flow(&app.auth, input, &ex.client).await?;
    if let Some(s) = &session {
        session::set_cookie(app, ex, s, &user, lifetime);
    }
    Ok(Reply::json(
        json!({ "token": session.map(|s| s.token), "user": user }),
    ))
}
