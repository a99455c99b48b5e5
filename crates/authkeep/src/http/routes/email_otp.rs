use serde_json::{Value, json};

use crate::auth::email_otp::{self, OtpType};
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};

fn enabled(app: &App) -> Result<(), ApiError> {
    if app.auth.otp.enabled {
        Ok(())
    } else {
        Err(ApiError::not_found())
    }
}

fn success() -> Reply {
    Reply::json(json!({ "success": true }))
}

/// `type` as better-auth's zod enum words its error; `change-email` is refused by name.
fn otp_type(f: &mut Fields<'_>) -> Result<Option<OtpType>, ApiError> {
    match f.raw("type") {
        Some(Value::String(t)) if t == "change-email" => Err(ApiError::MessageOnly {
            status: axum::http::StatusCode::BAD_REQUEST,
            message: "Invalid OTP type".into(),
        }),
        Some(Value::String(t)) if OtpType::parse(t).is_some() => Ok(OtpType::parse(t)),
        _ => {
            f.push_issue(
                "type",
                r#"Invalid option: expected one of "email-verification"|"sign-in"|"forget-password"|"change-email""#,
            );
            Ok(None)
        }
    }
}

/// `POST /email-otp/send-verification-otp` `{email, type}`
pub async fn send_verification_otp(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    enabled(app)?;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", app.limits.max_email_length);
    let kind = otp_type(&mut f)?;
    f.finish()?;
    email_otp::send(
        &app.auth,
        &email.unwrap_or_default(),
        kind.unwrap_or(OtpType::SignIn),
    )
    .await?;
    Ok(success())
}

/// `POST /email-otp/check-verification-otp` `{email, type, otp}`
pub async fn check_verification_otp(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    enabled(app)?;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", app.limits.max_email_length);
    let kind = otp_type(&mut f)?;
    let otp = f.string("otp", 32);
    f.finish()?;
    email_otp::check_only(
        &app.auth,
        &email.unwrap_or_default(),
        kind.unwrap_or(OtpType::SignIn),
        &otp.unwrap_or_default(),
    )
    .await?;
    Ok(success())
}

/// `POST /email-otp/verify-email` `{email, otp}`
pub async fn verify_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    enabled(app)?;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", app.limits.max_email_length);
    let otp = f.string("otp", 32);
    f.finish()?;
    let (user, s) = email_otp::verify_email(
        &app.auth,
        &email.unwrap_or_default(),
        &otp.unwrap_or_default(),
        &ex.client,
    )
    .await?;
    if let Some(s) = &s {
        session::set_cookie(app, ex, &s.token, false);
    }
    Ok(Reply::json(
        json!({ "status": true, "token": s.map(|s| s.token), "user": user }),
    ))
}

/// `POST /sign-in/email-otp` `{email, otp, name?, image?}`
pub async fn sign_in(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    enabled(app)?;
    let l = &app.limits;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", l.max_email_length);
    let otp = f.string("otp", 32);
    let name = f.name("name", false, l.max_name_length);
    let image = f.optional_string("image", l.max_url_length);
    f.finish()?;
    let (user, s) = email_otp::sign_in(
        &app.auth,
        &email.unwrap_or_default(),
        &otp.unwrap_or_default(),
        name.as_deref(),
        image.as_deref(),
        &ex.client,
    )
    .await?;
    session::set_cookie(app, ex, &s.token, false);
    Ok(Reply::json(json!({ "token": s.token, "user": user })))
}

/// `POST /email-otp/request-password-reset` and `/forget-password/email-otp` `{email}`
pub async fn request_password_reset(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    enabled(app)?;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", app.limits.max_email_length);
    f.finish()?;
    email_otp::send(
        &app.auth,
        &email.unwrap_or_default(),
        OtpType::ForgetPassword,
    )
    .await?;
    Ok(success())
}

/// `POST /email-otp/reset-password` `{email, otp, password}`
pub async fn reset_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    enabled(app)?;
    let mut f = Fields::object(ex.body.as_ref(), false);
    let email = f.email("email", app.limits.max_email_length);
    let otp = f.string("otp", 32);
    let password = f.string("password", app.auth.password.max_length.max(1024));
    f.finish()?;
    email_otp::reset_password(
        &app.auth,
        &email.unwrap_or_default(),
        &otp.unwrap_or_default(),
        &password.unwrap_or_default(),
    )
    .await?;
    Ok(success())
}
