//! better-auth's two-factor plugin routes (present only while `[two_factor] enabled`), and
//! its hook on `/sign-in/email`.

pub mod cookies;

use serde_json::{Value, json};

use crate::auth::policy::Refresh;
use crate::auth::two_factor::challenge::{self, AfterSignIn};
use crate::auth::two_factor::verify::{self, Caller, Finish, Verified};
use crate::auth::two_factor::{self as tf, EnableInput, Enabled, TwoFactorCode};
use crate::auth::{AuthError, Lifetime};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};
use crate::model::{Session, User};

fn plugin(app: &App) -> Result<&tf::TwoFactor, ApiError> {
    app.auth.two_factor.as_deref().ok_or(ApiError::NotFound)
}

/// Runs after a right password on `/sign-in/email`: `Some(reply)` when the sign-in is held
/// for a second factor (better-auth's `{twoFactorRedirect, twoFactorMethods}`), `None` to
/// answer as usual (2FA off, or a trusted device, whose trust is then rotated).
pub async fn after_sign_in(
    app: &App,
    ex: &mut Exchange,
    user: &User,
    session: &Session,
    lifetime: Lifetime,
) -> Result<Option<Reply>, ApiError> {
    let Some(plugin) = app.auth.two_factor.as_deref() else {
        return Ok(None);
    };
    let trust = cookies::trust(app, ex);
    match challenge::after_sign_in(&app.auth, user, session, trust.as_deref()).await? {
        AfterSignIn::Proceed { trust: None } => Ok(None),
        AfterSignIn::Proceed { trust: Some(v) } => {
            cookies::set_trust(app, ex, &v, plugin.policy.trust_device_max_age);
            Ok(None)
        }
        AfterSignIn::Challenge {
            key,
            methods,
            expire_trust,
        } => {
            if expire_trust {
                cookies::expire_trust(app, ex);
            }
            let browser = session::lifetime_of(app, ex) == Lifetime::BrowserSession
                || lifetime == Lifetime::BrowserSession;
            cookies::withhold_session(app, ex, browser);
            cookies::set_challenge(app, ex, &key, plugin.policy.challenge_max_age);
            Ok(Some(Reply::json(
                json!({ "twoFactorRedirect": true, "twoFactorMethods": methods }),
            )))
        }
    }
}

struct PasswordBody {
    password: String,
}

impl Body for PasswordBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        Some(PasswordBody {
            password: f.password("password")?,
        })
    }
}

struct EnableBody {
    password: String,
    otp: bool,
    issuer: Option<String>,
}

impl Body for EnableBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let password = f.password("password");
        let otp = match f.raw("method") {
            None => Some(false),
            Some(Value::String(m)) if m == "totp" => Some(false),
            Some(Value::String(m)) if m == "otp" => Some(true),
            Some(_) => {
                f.push_issue("method", r#"Invalid option: expected one of "otp"|"totp""#);
                None
            }
        };
        let issuer = f.optional_string("issuer");
        Some(EnableBody {
            password: password?,
            otp: otp?,
            issuer: issuer?,
        })
    }
}

/// `POST /two-factor/enable` `{password, method?, issuer?}`
pub async fn enable(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    plugin(app)?;
    let b: EnableBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let current = session::require(app, ex).await?;
    let input = EnableInput {
        password: &b.password,
        otp: b.otp,
        issuer: b.issuer.as_deref().filter(|i| !i.is_empty()),
        lifetime: session::lifetime_of(app, ex),
    };
    let done = tf::enable(
        &app.auth,
        &current.session,
        &current.user,
        input,
        &ex.client,
    )
    .await?;
    let lifetime = session::lifetime_of(app, ex);
    Ok(Reply::json(match done {
        Enabled::Otp { session: s, user } => {
            session::set_cookie(app, ex, &s, &user, lifetime);
            json!({ "method": "otp" })
        }
        Enabled::Totp {
            totp_uri,
            backup_codes,
            activated,
        } => {
            if let Some((s, user)) = activated {
                session::set_cookie(app, ex, &s, &user, lifetime);
            }
            json!({ "method": "totp", "totpURI": totp_uri, "backupCodes": backup_codes })
        }
    }))
}

/// `POST /two-factor/disable` `{password}`
pub async fn disable(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    plugin(app)?;
    let b: PasswordBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let current = session::require(app, ex).await?;
    let trust = cookies::trust(app, ex);
    let trusted = trust.as_deref().and_then(challenge::trust_identifier);
    let lifetime = session::lifetime_of(app, ex);
    let (s, user) = tf::disable(
        &app.auth,
        &current.session,
        &current.user,
        &b.password,
        trusted,
        &ex.client,
        lifetime,
    )
    .await?;
    session::set_cookie(app, ex, &s, &user, lifetime);
    if trust.is_some() {
        cookies::expire_trust(app, ex);
    }
    Ok(Reply::json(json!({ "status": true })))
}

/// `POST /two-factor/get-totp-uri` `{password}`
pub async fn get_totp_uri(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    plugin(app)?;
    let b: PasswordBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let current = session::require(app, ex).await?;
    let uri = tf::totp_uri(&app.auth, &current.user, &b.password).await?;
    Ok(Reply::json(json!({ "totpURI": uri })))
}

/// `POST /two-factor/generate-backup-codes` `{password}`
pub async fn generate_backup_codes(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    plugin(app)?;
    let b: PasswordBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let current = session::require(app, ex).await?;
    let codes = tf::regenerate_backup_codes(&app.auth, &current.user, &b.password).await?;
    Ok(Reply::json(json!({ "status": true, "backupCodes": codes })))
}

struct CodeBody {
    code: String,
    trust_device: Option<bool>,
    disable_session: Option<bool>,
}

impl Body for CodeBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let code = f.code("code");
        let trust_device = f.optional_bool("trustDevice");
        let disable_session = f.optional_bool("disableSession");
        Some(CodeBody {
            code: code?,
            trust_device: trust_device?,
            disable_session: disable_session?,
        })
    }
}

struct TrustBody {
    _trust_device: Option<bool>,
}

impl Body for TrustBody {
    const SHAPE: Shape = Shape::OptionalObject;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        Some(TrustBody {
            _trust_device: f.optional_bool("trustDevice")?,
        })
    }
}

/// The caller of a verify route: the session, else the pending sign-in of the `two_factor`
/// cookie (better-auth's `verifyTwoFactor`).
async fn caller(app: &App, ex: &mut Exchange) -> Result<Caller, ApiError> {
    if let Some(c) = session::current(app, ex, Refresh::Allowed).await? {
        return Ok(Caller::Session {
            session: c.session,
            user: c.user,
        });
    }
    let key = cookies::challenge(app, ex);
    let pending = challenge::pending(&app.auth, key.as_deref()).await?;
    Ok(Caller::SignIn(pending))
}

/// The answer to a right factor: `{token, user}`, with the session (and trust) cookies.
fn verified(app: &App, ex: &mut Exchange, v: Verified) -> Reply {
    let lifetime = session::lifetime_of(app, ex);
    let (token, user) = match v {
        Verified::Session {
            session: s,
            user,
            reissued,
        } => {
            if reissued {
                session::set_cookie(app, ex, &s, &user, lifetime);
            }
            (Some(s.token), user)
        }
        Verified::SignIn(done) => {
            session::set_cookie(app, ex, &done.session, &done.user, lifetime);
            cookies::expire_challenge(app, ex);
            if let (Some(t), Some(p)) = (done.trust, app.auth.two_factor.as_deref()) {
                cookies::set_trust(app, ex, &t, p.policy.trust_device_max_age);
                cookies::expire_dont_remember(app, ex);
            }
            (Some(done.session.token), done.user)
        }
        Verified::NoSession { token, user } => (token, user),
    };
    Reply::json(match token {
        Some(t) => json!({ "token": t, "user": user }),
        None => json!({ "user": user }),
    })
}

/// A failed check at sign-in that ends the challenge also expires its cookie.
fn on_failure(app: &App, ex: &mut Exchange, sign_in: bool, e: AuthError) -> ApiError {
    if sign_in
        && matches!(
            e,
            AuthError::TwoFactor(
                TwoFactorCode::TooManyAttemptsRequestNewCode
                    | TwoFactorCode::InvalidTwoFactorCookie
            )
        )
    {
        cookies::expire_challenge(app, ex);
    }
    e.into()
}

/// `POST /two-factor/verify-totp` `{code, trustDevice?}`
pub async fn verify_totp(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    plugin(app)?;
    let b: CodeBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let who = caller(app, ex).await?;
    let sign_in = matches!(who, Caller::SignIn(_));
    let client = ex.client.clone();
    let how = Finish {
        trust_device: b.trust_device.unwrap_or(false),
        client: &client,
        lifetime: session::lifetime_of(app, ex),
    };
    match verify::verify_totp(&app.auth, who, &b.code, how).await {
        Ok(v) => Ok(verified(app, ex, v)),
        Err(e) => Err(on_failure(app, ex, sign_in, e)),
    }
}

/// `POST /two-factor/send-otp` `{trustDevice?}`
pub async fn send_otp(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let p = plugin(app)?;
    let _: TrustBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    if !p.policy.otp_by_email {
        return Err(AuthError::from(TwoFactorCode::OtpNotConfiguredSend).into());
    }
    let who = caller(app, ex).await?;
    verify::send_otp(&app.auth, &who).await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// `POST /two-factor/verify-otp` `{code, trustDevice?}`
pub async fn verify_otp(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    plugin(app)?;
    let b: CodeBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let who = caller(app, ex).await?;
    let sign_in = matches!(who, Caller::SignIn(_));
    let client = ex.client.clone();
    let how = Finish {
        trust_device: b.trust_device.unwrap_or(false),
        client: &client,
        lifetime: session::lifetime_of(app, ex),
    };
    // An emailed code that is used up leaves the challenge as it is (a new code may be sent).
    match verify::verify_otp(&app.auth, who, &b.code, how).await {
        Ok(v) => Ok(verified(app, ex, v)),
        Err(e @ AuthError::TwoFactor(TwoFactorCode::TooManyAttemptsRequestNewCode)) => {
            Err(e.into())
        }
        Err(e) => Err(on_failure(app, ex, sign_in, e)),
    }
}

/// `POST /two-factor/verify-backup-code` `{code, disableSession?, trustDevice?}`
pub async fn verify_backup_code(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    plugin(app)?;
    let b: CodeBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let who = caller(app, ex).await?;
    let sign_in = matches!(who, Caller::SignIn(_));
    let client = ex.client.clone();
    let how = Finish {
        trust_device: b.trust_device.unwrap_or(false),
        client: &client,
        lifetime: session::lifetime_of(app, ex),
    };
    let disable_session = b.disable_session.unwrap_or(false);
    match verify::verify_backup_code(&app.auth, who, &b.code, disable_session, how).await {
        Ok(v) => Ok(verified(app, ex, v)),
        Err(e) => Err(on_failure(app, ex, sign_in, e)),
    }
}
