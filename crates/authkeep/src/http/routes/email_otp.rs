//! better-auth's email-otp plugin routes (present only while the plugin is on).

use serde_json::{Value, json};

use crate::auth::Lifetime;
use crate::auth::email_otp::{self, OtpType};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};
use crate::model::Email;

fn success() -> Reply {
    Reply::json(json!({ "success": true }))
}

/// `type`, worded as better-auth's zod enum words its error. `change-email` is one of the
/// enum's values but has no flow here; better-auth refuses it by name, after the schema.
enum TypeField {
    Known(OtpType),
    ChangeEmail,
}

fn otp_type(f: &mut Fields<'_>) -> Option<TypeField> {
    match f.raw("type") {
        Some(Value::String(t)) if t == "change-email" => Some(TypeField::ChangeEmail),
        Some(Value::String(t)) if OtpType::parse(t).is_some() => {
            OtpType::parse(t).map(TypeField::Known)
        }
        _ => {
            f.push_issue(
                "type",
                r#"Invalid option: expected one of "email-verification"|"sign-in"|"forget-password"|"change-email""#,
            );
            None
        }
    }
}

fn known(kind: TypeField) -> Result<OtpType, ApiError> {
    match kind {
        TypeField::Known(k) => Ok(k),
        TypeField::ChangeEmail => Err(ApiError::message("Invalid OTP type")),
    }
}

struct SendBody {
    email: Email,
    kind: TypeField,
}

impl Body for SendBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, kind) = (f.email("email"), otp_type(f));
        Some(SendBody {
            email: email?,
            kind: kind?,
        })
    }
}

/// `POST /email-otp/send-verification-otp` `{email, type}`
pub async fn send_verification_otp(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SendBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    email_otp::send(&app.auth, &b.email, known(b.kind)?).await?;
    Ok(success())
}

struct CheckBody {
    email: Email,
    kind: TypeField,
    otp: String,
}

impl Body for CheckBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, kind, otp) = (f.email("email"), otp_type(f), f.code("otp"));
        Some(CheckBody {
            email: email?,
            kind: kind?,
            otp: otp?,
        })
    }
}

/// `POST /email-otp/check-verification-otp` `{email, type, otp}`
pub async fn check_verification_otp(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: CheckBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    email_otp::check_only(&app.auth, &b.email, known(b.kind)?, &b.otp).await?;
    Ok(success())
}

struct CodeBody {
    email: Email,
    otp: String,
}

impl Body for CodeBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, otp) = (f.email("email"), f.code("otp"));
        Some(CodeBody {
            email: email?,
            otp: otp?,
        })
    }
}

/// `POST /email-otp/verify-email` `{email, otp}`
pub async fn verify_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: CodeBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (user, s) = email_otp::verify_email(&app.auth, &b.email, &b.otp, &ex.client).await?;
    if let Some(s) = &s {
        session::set_cookie(app, ex, s, &user, Lifetime::Remembered);
    }
    Ok(Reply::json(
        json!({ "status": true, "token": s.map(|s| s.token), "user": user }),
    ))
}

struct SignInBody {
    email: Email,
    otp: String,
    name: Option<String>,
    image: Option<String>,
}

impl Body for SignInBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, otp) = (f.email("email"), f.code("otp"));
        let (name, image) = (f.optional_name("name"), f.optional_url("image"));
        Some(SignInBody {
            email: email?,
            otp: otp?,
            name: name?,
            image: image?,
        })
    }
}

/// `POST /sign-in/email-otp` `{email, otp, name?, image?}`
pub async fn sign_in(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SignInBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (user, s) = email_otp::sign_in(
        &app.auth,
        &b.email,
        &b.otp,
        b.name.as_deref(),
        b.image.as_deref(),
        &ex.client,
    )
    .await?;
    session::set_cookie(app, ex, &s, &user, Lifetime::Remembered);
    Ok(Reply::json(json!({ "token": s.token, "user": user })))
}

struct EmailBody {
    email: Email,
}

impl Body for EmailBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        Some(EmailBody {
            email: f.email("email")?,
        })
    }
}

/// `POST /email-otp/request-password-reset` and `/forget-password/email-otp` `{email}`
pub async fn request_password_reset(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: EmailBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    email_otp::send(&app.auth, &b.email, OtpType::ForgetPassword).await?;
    Ok(success())
}

struct ResetBody {
    email: Email,
    otp: String,
    password: String,
}

impl Body for ResetBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (email, otp, password) = (f.email("email"), f.code("otp"), f.password("password"));
        Some(ResetBody {
            email: email?,
            otp: otp?,
            password: password?,
        })
    }
}

/// `POST /email-otp/reset-password` `{email, otp, password}`
pub async fn reset_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: ResetBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    email_otp::reset_password(&app.auth, &b.email, &b.otp, &b.password).await?;
    Ok(success())
}
