use serde_json::{Value, json};

use crate::auth::user::{self, ChangePassword, OtherSessions, ProfileUpdate};
use crate::auth::{AuthError, ErrorCode, Lifetime, change_email};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::session::Current;
use crate::http::{App, origin, session};
use crate::model::Email;

/// `update-user`'s record: name and image. Unknown fields are ignored, as better-auth ignores
/// fields that are not user-settable; `email` is refused (after the session check).
struct UpdateUserBody {
    update: ProfileUpdate,
    wants_email: bool,
}

impl Body for UpdateUserBody {
    const SHAPE: Shape = Shape::Record;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let name = f.optional_name("name");
        // `image` may be a string or null (null clears it).
        let image = match f.raw("image") {
            Some(Value::Null) => Some(Some(None)),
            _ => f.optional_url("image").map(|i| i.map(Some)),
        };
        let fields = f.user_fields();
        Some(UpdateUserBody {
            update: ProfileUpdate {
                name: name?,
                image: image?,
                fields: fields?,
            },
            wants_email: f.raw("email").is_some(),
        })
    }
}

/// `POST /update-user`
pub async fn update_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: UpdateUserBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    if b.wants_email {
        return Err(ErrorCode::EmailCanNotBeUpdated.into());
    }
    let updated = user::update_user(&app.auth, &c.user.id, &b.update).await?;
    session::set_cookie(app, ex, &c.session, &updated, Lifetime::Remembered);
    Ok(Reply::json(json!({ "status": true })))
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

/// `POST /verify-password` `{password}`
pub async fn verify_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: PasswordBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    user::verify_password(&app.auth, &c.user.id, &b.password).await?;
    Ok(Reply::json(json!({ "status": true })))
}

struct ChangePasswordBody {
    new_password: String,
    current_password: String,
    revoke_other_sessions: Option<bool>,
}

impl Body for ChangePasswordBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (new, current) = (f.password("newPassword"), f.password("currentPassword"));
        let revoke = f.optional_bool("revokeOtherSessions");
        Some(ChangePasswordBody {
            new_password: new?,
            current_password: current?,
            revoke_other_sessions: revoke?,
        })
    }
}

/// `POST /change-password` `{newPassword, currentPassword, revokeOtherSessions?}`.
pub async fn change_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: ChangePasswordBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    let lifetime = session::lifetime_of(app, ex);
    let other_sessions = if b.revoke_other_sessions.unwrap_or(false) {
        OtherSessions::Revoke(lifetime)
    } else {
        OtherSessions::Keep
    };
    let input = ChangePassword {
        current_password: b.current_password,
        new_password: b.new_password,
        other_sessions,
    };
    let replacement = user::change_password(&app.auth, &c.user, input, &ex.client).await?;
    if let Some(s) = &replacement {
        session::set_cookie(app, ex, s, &c.user, lifetime);
    }
    Ok(Reply::json(
        json!({ "token": replacement.map(|s| s.token), "user": c.user }),
    ))
}

struct DeleteUserBody {
    callback: Option<String>,
    password: Option<String>,
    token: Option<String>,
}

impl Body for DeleteUserBody {
    const SHAPE: Shape = Shape::OptionalObject;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let callback = f.optional_url("callbackURL");
        let (password, token) = (f.optional_password("password"), f.optional_token("token"));
        Some(DeleteUserBody {
            callback: callback?,
            password: password?,
            token: token?,
        })
    }
}

/// `POST /delete-user` `{password?, token?, callbackURL?}`: with the password, from a fresh
/// session, or (when so configured) by mailing a confirmation link.
pub async fn delete_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: DeleteUserBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    let policy = &app.auth.policy.delete_user;
    if !policy.enabled {
        return Err(ApiError::Disabled);
    }
    let deleted = json!({ "success": true, "message": "User deleted" });
    if let Some(token) = b.token {
        confirm_deletion(app, ex, &c, &token).await?;
        return Ok(Reply::json(deleted));
    }
    if policy.confirm_by_email {
        if let Some(pw) = &b.password {
            user::verify_password(&app.auth, &c.user.id, pw).await?;
        }
        user::request_deletion(&app.auth, &c.user, b.callback.as_deref()).await?;
        return Ok(Reply::json(
            json!({ "success": true, "message": "Verification email sent" }),
        ));
    }
    user::delete_user(&app.auth, &c.user, &c.session, b.password.as_deref()).await?;
    session::clear_cookies(app, ex);
    Ok(Reply::json(deleted))
}

/// Uses up a deletion token for the signed-in user and signs them out.
async fn confirm_deletion(
    app: &App,
    ex: &mut Exchange,
    c: &Current,
    token: &str,
) -> Result<(), ApiError> {
    match user::confirm_deletion(&app.auth, &c.user, token).await {
        Err(AuthError::Rule(ErrorCode::InvalidToken)) => Err(ApiError::deletion_token_invalid()),
        other => other.map_err(ApiError::from),
    }?;
    session::clear_cookies(app, ex);
    Ok(())
}

/// `GET /delete-user/callback?token=…&callbackURL=…`: the link from the deletion email.
pub async fn delete_user_callback(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    if !app.auth.policy.delete_user.enabled {
        return Err(ErrorCode::NotFound.into());
    }
    let token = origin::required_query(ex, "token")?;
    let callback = origin::checked_callback(app, ex, "callbackURL")?;
    let Some(c) = session::current(app, ex, crate::auth::policy::Refresh::Never).await? else {
        return Err(ErrorCode::FailedToGetUserInfo.into());
    };
    confirm_deletion(app, ex, &c, &token).await?;
    Ok(match callback {
        Some(cb) => Reply::redirect(cb),
        None => Reply::json(json!({ "success": true, "message": "User deleted" })),
    })
}

struct ChangeEmailBody {
    new_email: Email,
    callback: Option<String>,
}

impl Body for ChangeEmailBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let (new_email, callback) = (f.email("newEmail"), f.optional_url("callbackURL"));
        Some(ChangeEmailBody {
            new_email: new_email?,
            callback: callback?,
        })
    }
}

/// `POST /change-email` `{newEmail, callbackURL?}`: confirmed through a link mailed to the new
/// address (or first to the old one); a taken address answers like a free one.
pub async fn change_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: ChangeEmailBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require(app, ex).await?;
    let changed =
        change_email::request(&app.auth, &c.user, &b.new_email, b.callback.as_deref()).await?;
    if let Some(updated) = &changed {
        session::set_cookie(app, ex, &c.session, updated, Lifetime::Remembered);
    }
    Ok(Reply::json(json!({ "status": true })))
}
