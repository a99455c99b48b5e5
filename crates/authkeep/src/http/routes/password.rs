use serde_json::json;

use crate::auth::password_reset;
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin};

/// `POST /request-password-reset` (and better-auth's older `/forget-password`) `{email, redirectTo?}`.
/// The same answer, after the same time, whether or not the address has an account.
pub async fn request_password_reset(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", app.limits.max_email_length);
    let redirect_to = f.optional_string("redirectTo", app.limits.max_url_length);
    f.finish()?;
    password_reset::request(
        &app.auth,
        &email.unwrap_or_default(),
        redirect_to.as_deref(),
    )
    .await?;
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
    if !app.origins.is_trusted(&callback, true) {
        return Err(crate::auth::ErrorCode::InvalidCallbackUrl.into());
    }
    let base = url::Url::parse(&app.auth.api_url).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut target = base
        .join(&callback)
        .map_err(|_| ApiError::from(crate::auth::ErrorCode::InvalidCallbackUrl))?;
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

/// `POST /reset-password` `{newPassword, token?}` (the token may also be in the query).
pub async fn reset_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let mut f = Fields::object(ex.body.as_ref(), false);
    let new_password = f.string("newPassword", app.auth.password.max_length.max(1024));
    let token = f.optional_string("token", 256);
    f.finish()?;
    let token = token
        .or_else(|| ex.query.get("token").cloned())
        .unwrap_or_default();
    password_reset::reset(&app.auth, &token, &new_password.unwrap_or_default()).await?;
    Ok(Reply::json(json!({ "status": true })))
}
