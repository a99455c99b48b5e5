use serde_json::json;

use crate::auth::{ErrorCode, password_reset};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin};
use crate::model::Email;

struct RequestBody {
    email: Email,
    redirect_to: Option<String>,
}

impl Body for RequestBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, redirect_to) = (f.email("email"), f.optional_url("redirectTo"));
        Some(RequestBody {
            email: email?,
            redirect_to: redirect_to?,
        })
    }
}

/// `POST /request-password-reset` (and better-auth's older `/forget-password`) `{email, redirectTo?}`.
/// The same answer, after the same time, whether or not the address has an account.
pub async fn request_password_reset(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: RequestBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    password_reset::request(&app.auth, &b.email, b.redirect_to.as_deref()).await?;
    Ok(Reply::json(json!({
        "status": true,
        "message": "If this email exists in our system, check your email for the reset link"
    })))
}

/// `GET /reset-password/:token?callbackURL=…`: sends the browser to the app's reset page with
/// `?token=` (or `?error=INVALID_TOKEN`). Does not use the token up.
pub async fn reset_password_callback(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let token = ex.path.trim_start_matches("/reset-password/").to_owned();
    let callback = origin::required_query(ex, "callbackURL")?;
    if !app.origins.is_trusted_callback(&callback) {
        return Err(ErrorCode::InvalidCallbackUrl.into());
    }
    let mut target = url::Url::parse(&app.auth.policy.api_url)
        .and_then(|base| base.join(&callback))
        .map_err(|_| ApiError::from(ErrorCode::InvalidCallbackUrl))?;
    let valid = password_reset::is_valid(&app.auth, &token).await?;
    let kept: Vec<(String, String)> = target
        .query_pairs()
        .filter(|(k, _)| k != "token" && k != "error")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    {
        let mut q = target.query_pairs_mut();
        q.clear().extend_pairs(kept);
        if valid {
            q.append_pair("token", &token)
        } else {
            q.append_pair("error", "INVALID_TOKEN")
        };
    }
    Ok(Reply::redirect(target.to_string()))
}

struct ResetBody {
    new_password: String,
    token: Option<String>,
}

impl Body for ResetBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (new_password, token) = (f.password("newPassword"), f.optional_token("token"));
        Some(ResetBody {
            new_password: new_password?,
            token: token?,
        })
    }
}

/// `POST /reset-password` `{newPassword, token?}` (the token may also be in the query).
pub async fn reset_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: ResetBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let token = b
        .token
        .or_else(|| ex.query.get("token").cloned())
        .unwrap_or_default();
    password_reset::reset(&app.auth, &token, &b.new_password).await?;
    Ok(Reply::json(json!({ "status": true })))
}
