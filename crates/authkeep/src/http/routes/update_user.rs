use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::ErrorCode;
use crate::auth::user::{self, ChangePassword};
use crate::http::body::Fields;
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, origin, session};

/// `POST /update-user`: name and image. Unknown fields are ignored, as better-auth ignores
/// fields that are not user-settable; `email` is refused.
pub async fn update_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let limits = &app.limits;
    let mut f = Fields::record(ex.body.as_ref());
    let name = f.name("name", false, limits.max_name_length);
    // `image` may be a string or null (null clears it).
    let image = match f.raw("image") {
        Some(Value::Null) => Some(None),
        _ => f.optional_string("image", limits.max_url_length).map(Some),
    };
    let wants_email = f.raw("email").is_some();
    f.finish()?;
    let c = session::require(app, ex).await?;
    if wants_email {
        return Err(ErrorCode::EmailCanNotBeUpdated.into());
    }
    user::update_user(
        &app.auth,
        &c.user.id,
        name.as_deref(),
        image.as_ref().map(|i| i.as_deref()),
    )
    .await?;
    session::set_cookie(app, ex, &c.session.token, false);
    Ok(Reply::json(json!({ "status": true })))
}

/// `POST /verify-password` `{password}`
pub async fn verify_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let mut f = Fields::object(ex.body.as_ref(), false);
    let password = f.string("password", app.auth.password.max_length.max(1024));
    f.finish()?;
    let c = session::require(app, ex).await?;
    user::verify_password(&app.auth, &c.user.id, &password.unwrap_or_default()).await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// `POST /change-password` `{newPassword, currentPassword, revokeOtherSessions?}`.
pub async fn change_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let max = app.auth.password.max_length.max(1024);
    let mut f = Fields::object(ex.body.as_ref(), false);
    let new_password = f.string("newPassword", max);
    let current_password = f.string("currentPassword", max);
    let revoke = f.optional_bool("revokeOtherSessions").unwrap_or(false);
    f.finish()?;
    let c = session::require(app, ex).await?;
    let remember = !app.cookies.dont_remember(&ex.headers);
    let input = ChangePassword {
        current_password: current_password.unwrap_or_default(),
        new_password: new_password.unwrap_or_default(),
        revoke_other_sessions: revoke,
        remember,
    };
    let replacement = user::change_password(&app.auth, &c.user, input, &ex.client).await?;
    if let Some(s) = &replacement {
        session::set_cookie(app, ex, &s.token, !remember);
    }
    Ok(Reply::json(
        json!({ "token": replacement.map(|s| s.token), "user": c.user }),
    ))
}

/// `POST /delete-user` `{password?}`: with the password, or from a fresh session.
pub async fn delete_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let limits = &app.limits;
    let mut f = Fields::optional_object(ex.body.as_ref());
    let callback = f.optional_string("callbackURL", limits.max_url_length);
    let password = f.optional_string("password", app.auth.password.max_length.max(1024));
    let token = f.optional_string("token", 256);
    f.finish()?;
    let c = session::require(app, ex).await?;
    if !app.auth.delete_user_enabled {
        return Err(ApiError::Disabled);
    }
    let deleted = json!({ "success": true, "message": "User deleted" });
    if let Some(token) = token {
        confirm(app, ex, &c.user, &token).await?;
        return Ok(Reply::json(deleted));
    }
    if app.auth.delete_user_by_email {
        if let Some(pw) = &password {
            user::verify_password(&app.auth, &c.user.id, pw).await?;
        }
        user::request_deletion(&app.auth, &c.user, callback.as_deref()).await?;
        return Ok(Reply::json(
            json!({ "success": true, "message": "Verification email sent" }),
        ));
    }
    user::delete_user(&app.auth, &c.user, &c.session, password.as_deref()).await?;
    ex.set_cookies.extend(app.cookies.clear_session());
    Ok(Reply::json(deleted))
}

/// Uses up a deletion token for the signed-in user and signs them out; 404 `INVALID_TOKEN` otherwise.
async fn confirm(
    app: &App,
    ex: &mut Exchange,
    user: &crate::model::User,
    token: &str,
) -> Result<(), ApiError> {
    user::confirm_deletion(&app.auth, user, token)
        .await
        .map_err(|e| match e {
            crate::auth::AuthError::Rule(ErrorCode::InvalidToken) => ApiError::Coded {
                status: StatusCode::NOT_FOUND,
                code: "INVALID_TOKEN",
                message: "Invalid token".into(),
            },
            other => other.into(),
        })?;
    ex.set_cookies.extend(app.cookies.clear_session());
    Ok(())
}

/// `GET /delete-user/callback?token=…&callbackURL=…`: the link from the deletion email.
pub async fn delete_user_callback(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    if !app.auth.delete_user_enabled {
        return Err(ApiError::Coded {
            status: StatusCode::NOT_FOUND,
            code: "NOT_FOUND",
            message: "Not found".into(),
        });
    }
    let token = origin::required_query(ex, "token")?;
    let callback = origin::checked_callback(app, ex, "callbackURL")?;
    let Some(c) = session::current(app, ex, false).await? else {
        return Err(ApiError::Coded {
            status: StatusCode::NOT_FOUND,
            code: "FAILED_TO_GET_USER_INFO",
            message: "Failed to get user info".into(),
        });
    };
    confirm(app, ex, &c.user, &token).await?;
    Ok(match callback {
        Some(cb) => Reply::redirect(cb),
        None => Reply::json(json!({ "success": true, "message": "User deleted" })),
    })
}

/// `POST /change-email` `{newEmail, callbackURL?}`: confirmed through a link mailed to the new
/// address (or first to the old one); a taken address answers like a free one.
pub async fn change_email(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let mut f = Fields::object(ex.body.as_ref(), false);
    let new_email = f.email("newEmail", app.limits.max_email_length);
    let callback = f.optional_string("callbackURL", app.limits.max_url_length);
    f.finish()?;
    let c = session::require(app, ex).await?;
    let changed = crate::auth::change_email::request(
        &app.auth,
        &c.user,
        &new_email.unwrap_or_default(),
        callback.as_deref(),
    )
    .await?;
    if changed.is_some() {
        session::set_cookie(app, ex, &c.session.token, false);
    }
    Ok(Reply::json(json!({ "status": true })))
}
