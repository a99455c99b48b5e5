//! better-auth's admin plugin routes (`/admin/*`). Each resolves the caller from the session
//! (401 with an empty body without one, as better-auth's `adminMiddleware`), parses the body,
//! and calls one function of `auth::admin_plugin::users`, which checks the caller's
//! permission with better-auth's codes.

use serde_json::{Map, Value, json};

use crate::auth::admin_plugin::{AdminPolicy, access, role_of, update, users};
use crate::auth::admin_plugin::{Condition, Operator, UserQuery};
use crate::auth::policy::Refresh;
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};
use crate::model::User;

/// The plugin's options and the signed-in caller (read from the database, not the cookie
/// cache: better-auth's `getAuthoritativeSessionFromCtx`).
async fn caller<'a>(app: &'a App, ex: &mut Exchange) -> Result<(&'a AdminPolicy, User), ApiError> {
    let p = app.auth.policy.admin.as_ref().ok_or(ApiError::NotFound)?;
    let c = session::current(app, ex, Refresh::Allowed)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok((p, c.user))
}

fn user_json(u: &User) -> Value {
    serde_json::to_value(u).unwrap_or(Value::Null)
}

/// `{userId}`, the body of most admin routes.
pub(super) struct UserId(pub(super) String);

impl Body for UserId {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        Some(UserId(f.string("userId")?))
    }
}

/// A role as sent: a string or an array of strings.
fn roles(f: &mut Fields<'_>, key: &str, required: bool) -> Option<Option<Vec<String>>> {
    match f.raw(key) {
        Some(Value::String(s)) => Some(Some(vec![s.clone()])),
        Some(Value::Array(_)) => f.optional_strings(key),
        None if !required => Some(None),
        _ => {
            f.push_issue(key, "Invalid input");
            None
        }
    }
}

struct SetRole {
    user_id: String,
    role: Vec<String>,
}

impl Body for SetRole {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let user_id = f.string("userId");
        let role = roles(f, "role", true);
        Some(SetRole {
            user_id: user_id?,
            role: role??,
        })
    }
}

/// `POST /admin/set-role` → `{user}`
pub async fn set_role(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SetRole = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    let user = users::set_role(app.auth.admin(), p, &me, &b.user_id, &b.role).await?;
    Ok(Reply::json(json!({ "user": user_json(&user) })))
}

/// `GET /admin/get-user?id` → the user
pub async fn get_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let id = ex.query.get("id").cloned().ok_or_else(|| {
        ApiError::validation("[query.id] Invalid input: expected string, received undefined".into())
    })?;
    let (p, me) = caller(app, ex).await?;
    let user = users::get_user(app.auth.admin(), p, &me, &id).await?;
    Ok(Reply::json(user_json(&user)))
}

struct Create(users::CreateUser);

impl Body for Create {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let email = f.string("email");
        let password = f.optional_password("password");
        let name = f.string("name");
        let role = roles(f, "role", false);
        let data = f.optional_record("data");
        Some(Create(users::CreateUser {
            email: email?,
            password: password?,
            name: name?,
            role: role?,
            data: data?.unwrap_or_default(),
        }))
    }
}

/// `POST /admin/create-user` → `{user}`
pub async fn create_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let Create(input) = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    let user = users::create_user(app.auth.admin(), p, &me, input).await?;
    Ok(Reply::json(json!({ "user": user_json(&user) })))
}

/// A query number as better-auth reads it (`Number(x) || undefined`).
fn number(ex: &Exchange, key: &str) -> Option<i64> {
    ex.query
        .get(key)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n != 0.0)
        .map(|n| n as i64)
}

/// `GET /admin/list-users` → `{users, total, limit?, offset?}`
pub async fn list_users(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let (p, me) = caller(app, ex).await?;
    let q = &ex.query;
    let enum_of = |key: &str, allowed: &[&str]| -> Result<Option<String>, ApiError> {
        match q.get(key) {
            None => Ok(None),
            Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v.clone())),
            Some(_) => Err(ApiError::validation(format!(
                "[query.{key}] Invalid option: expected one of {}",
                allowed
                    .iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join("|")
            ))),
        }
    };
    let search_field = enum_of("searchField", &["email", "name"])?;
    let search_op = enum_of("searchOperator", &["contains", "starts_with", "ends_with"])?;
    let direction = enum_of("sortDirection", &["asc", "desc"])?;
    let mut conditions = Vec::new();
    if let Some(v) = q.get("searchValue").filter(|v| !v.is_empty()) {
        conditions.push(Condition {
            field: search_field.unwrap_or_else(|| "email".into()),
            operator: search_op
                .as_deref()
                .and_then(Operator::parse)
                .unwrap_or(Operator::Contains),
            value: v.clone(),
        });
    }
    if let Some(v) = q.get("filterValue") {
        let operator = match q.get("filterOperator") {
            None => Operator::Eq,
            Some(o) => Operator::parse(o).ok_or_else(|| {
                ApiError::validation("[query.filterOperator] Invalid option".into())
            })?,
        };
        conditions.push(Condition {
            field: q
                .get("filterField")
                .cloned()
                .unwrap_or_else(|| "email".into()),
            operator,
            value: v.clone(),
        });
    }
    let limit = number(ex, "limit");
    let offset = number(ex, "offset");
    let query = UserQuery {
        conditions,
        sort: q
            .get("sortBy")
            .filter(|s| !s.is_empty())
            .map(|s| (s.clone(), direction.as_deref() == Some("desc"))),
        // better-auth lists every user without a limit; one page holds at most MAX_PAGE.
        limit: limit
            .unwrap_or(crate::auth::admin::MAX_PAGE)
            .clamp(0, crate::auth::admin::MAX_PAGE),
        offset: offset.unwrap_or(0).max(0),
    };
    let (found, total) = users::list_users(app.auth.admin(), p, &me, &query).await?;
    let mut out = Map::new();
    out.insert(
        "users".into(),
        Value::Array(found.iter().map(user_json).collect()),
    );
    out.insert("total".into(), total.into());
    if let Some(l) = limit {
        out.insert("limit".into(), l.into());
    }
    if let Some(o) = offset {
        out.insert("offset".into(), o.into());
    }
    Ok(Reply::json(Value::Object(out)))
}

/// `POST /admin/list-user-sessions` → `{sessions}`
pub async fn list_user_sessions(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let UserId(id) = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    let sessions = users::list_user_sessions(app.auth.admin(), p, &me, &id).await?;
    Ok(Reply::json(json!({ "sessions": sessions })))
}

struct Ban {
    user_id: String,
    reason: Option<String>,
    expires_in: Option<f64>,
}

impl Body for Ban {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let user_id = f.string("userId");
        let reason = f.optional_string("banReason");
        let expires_in = f.optional_number("banExpiresIn");
        Some(Ban {
            user_id: user_id?,
            reason: reason?,
            expires_in: expires_in?,
        })
    }
}

/// `POST /admin/ban-user` → `{user}`
pub async fn ban_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: Ban = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    // better-auth treats 0 as "not given"; whole milliseconds, as its getDate.
    let expires_in = b
        .expires_in
        .filter(|s| s.is_finite() && *s != 0.0)
        .map(|s| chrono::Duration::milliseconds((s * 1000.0) as i64));
    let user = users::ban_user(
        app.auth.admin(),
        p,
        &me,
        &b.user_id,
        b.reason.as_deref(),
        expires_in,
    )
    .await?;
    Ok(Reply::json(json!({ "user": user_json(&user) })))
}

/// `POST /admin/unban-user` → `{user}`
pub async fn unban_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let UserId(id) = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    let user = users::unban_user(app.auth.admin(), p, &me, &id).await?;
    Ok(Reply::json(json!({ "user": user_json(&user) })))
}

struct Token(String);

impl Body for Token {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        Some(Token(f.string("sessionToken")?))
    }
}

/// `POST /admin/revoke-user-session` → `{success: true}`
pub async fn revoke_user_session(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let Token(t) = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    users::revoke_user_session(app.auth.admin(), p, &me, &t).await?;
    Ok(Reply::json(json!({ "success": true })))
}

/// `POST /admin/revoke-user-sessions` → `{success: true}`
pub async fn revoke_user_sessions(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let UserId(id) = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    users::revoke_user_sessions(app.auth.admin(), p, &me, &id).await?;
    Ok(Reply::json(json!({ "success": true })))
}

/// `POST /admin/remove-user` → `{success: true}`
pub async fn remove_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let UserId(id) = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    users::remove_user(app.auth.admin(), p, &me, &id).await?;
    Ok(Reply::json(json!({ "success": true })))
}

struct SetPassword {
    user_id: String,
    password: String,
}

impl Body for SetPassword {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let password = f.non_empty_password("newPassword");
        let user_id = f.string("userId");
        Some(SetPassword {
            user_id: user_id?,
            password: password?,
        })
    }
}

/// `POST /admin/set-user-password` → `{status: true}`
pub async fn set_user_password(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: SetPassword = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    users::set_user_password(app.auth.admin(), p, &me, &b.user_id, &b.password).await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// `{resource: [action]}` as sent, or `None` when it is not that shape.
fn request(v: &Value) -> Option<access::Request> {
    v.as_object()?
        .iter()
        .map(|(k, actions)| {
            let list = actions
                .as_array()?
                .iter()
                .map(|a| a.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?;
            Some((k.clone(), list))
        })
        .collect()
}

/// `POST /admin/has-permission` `{permissions, userId?, role?}` → `{error: null, success}`.
/// Over HTTP a session is required, and the answer is about the caller.
pub async fn has_permission(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let p = app.auth.policy.admin.as_ref().ok_or(ApiError::NotFound)?;
    let body = ex.body.clone().unwrap_or(Value::Null);
    let map = body
        .as_object()
        .ok_or_else(|| ApiError::validation("[body] Invalid input".into()))?;
    let permissions = match (map.get("permissions"), map.get("permission")) {
        (Some(v), None) => {
            Some(request(v).ok_or_else(|| ApiError::validation("[body] Invalid input".into()))?)
        }
        (None, Some(v)) if request(v).is_some() => None,
        _ => return Err(ApiError::validation("[body] Invalid input".into())),
    };
    let Some(permissions) = permissions else {
        return Err(ApiError::message(
            "invalid permission check. no permission(s) were passed.",
        ));
    };
    let c = session::current(app, ex, Refresh::Allowed)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let ok = access::has_permission(p, Some(&c.user.id), role_of(&c.user), &permissions);
    Ok(Reply::json(json!({ "error": null, "success": ok })))
}

struct Update {
    user_id: String,
    data: Map<String, Value>,
}

impl Body for Update {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        let user_id = f.string("userId");
        let data = f.optional_record("data");
        let data = match data? {
            Some(d) => d,
            None => {
                f.push_issue("data", "Invalid input: expected record, received undefined");
                return None;
            }
        };
        Some(Update {
            user_id: user_id?,
            data,
        })
    }
}

/// `POST /admin/update-user` `{userId, data}` → the user
pub async fn update_user(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: Update = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let (p, me) = caller(app, ex).await?;
    let user = update::update_user(app.auth.admin(), p, &me, &b.user_id, b.data).await?;
    Ok(Reply::json(user_json(&user)))
}
