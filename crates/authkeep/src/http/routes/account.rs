//! better-auth's account routes: `list-accounts`, `unlink-account`, and the provider-token
//! routes `get-access-token`, `refresh-token` and `account-info`.

use serde_json::{Map, Value, json};

use crate::auth::oauth::tokens;
use crate::auth::{ErrorCode, user};
use crate::http::body::{self, Body, Fields, Shape};
use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply};
use crate::http::{App, session};
use crate::model::to_js_iso;

/// `GET /list-accounts`
pub async fn list_accounts(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let c = session::require(app, ex).await?;
    Ok(Reply::json(json!(
        user::list_accounts(&app.auth, &c.user.id).await?
    )))
}

struct UnlinkBody {
    account_id: String,
}

impl Body for UnlinkBody {
    const SHAPE: Shape = Shape::Object;
    fn read(f: &mut Fields<'_>) -> Option<Self> {
        Some(UnlinkBody {
            account_id: f.string("accountId")?,
        })
    }
}

/// `POST /unlink-account` `{accountId}` (the account row's id), with a fresh session.
pub async fn unlink_account(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let b: UnlinkBody = body::parse(ex.body.as_ref(), &app.policy.limits)?;
    let c = session::require_fresh(app, ex).await?;
    tokens::unlink(&app.auth, &c.user.id, &b.account_id).await?;
    Ok(Reply::json(json!({ "status": true })))
}

/// better-auth's account selector, a strict union: `{accountId, userId?}` or
/// `{useAccountCookie: true, userId?}`. `None` for the second form: authkeep keeps no
/// account cookie, so it never names an account.
fn selector(input: Option<&Map<String, Value>>, place: &str) -> Result<Option<String>, ApiError> {
    let invalid = || ApiError::validation(format!("[{place}] Invalid input"));
    let map = input.ok_or_else(invalid)?;
    let (key, allowed): (&str, [&str; 2]) =
        match (map.get("accountId"), map.get("useAccountCookie")) {
            (Some(Value::String(_)), _) => ("accountId", ["accountId", "userId"]),
            (None, Some(Value::Bool(true))) => ("useAccountCookie", ["useAccountCookie", "userId"]),
            _ => return Err(invalid()),
        };
    if map.get("userId").is_some_and(|u| !u.is_string()) {
        return Err(invalid());
    }
    let unknown: Vec<String> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| format!("\"{k}\""))
        .collect();
    match unknown.len() {
        0 => {}
        1 => {
            return Err(ApiError::validation(format!(
                "[{place}] Unrecognized key: {}",
                unknown[0]
            )));
        }
        _ => {
            return Err(ApiError::validation(format!(
                "[{place}] Unrecognized keys: {}",
                unknown.join(", ")
            )));
        }
    }
    Ok((key == "accountId")
        .then(|| map["accountId"].as_str().map(str::to_owned))
        .flatten())
}

/// The selected account and the signed-in user it must belong to. Over HTTP a session is
/// required (better-auth answers 401 with an empty body without one); `userId` is ignored.
async fn selected(
    app: &App,
    ex: &mut Exchange,
    input: Option<&Map<String, Value>>,
    place: &str,
) -> Result<(String, String), ApiError> {
    let account = selector(input, place)?;
    let c = session::current(app, ex, crate::auth::policy::Refresh::Allowed)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let account = account.ok_or(ErrorCode::AccountNotFound)?;
    Ok((c.user.id, account))
}

fn date(d: Option<chrono::DateTime<chrono::Utc>>) -> Value {
    d.map_or(Value::Null, |d| Value::String(to_js_iso(&d)))
}

/// `POST /get-access-token`: a valid access token, refreshed when it is about to expire.
pub async fn get_access_token(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let body = ex.body.clone();
    let (user_id, account_id) =
        selected(app, ex, body.as_ref().and_then(Value::as_object), "body").await?;
    let t = tokens::access_token(&app.auth, &user_id, &account_id).await?;
    let mut out = Map::new();
    out.insert("accessToken".into(), t.access_token.into());
    if t.access_token_expires_at.is_some() {
        out.insert(
            "accessTokenExpiresAt".into(),
            date(t.access_token_expires_at),
        );
    }
    out.insert("scopes".into(), json!(t.scopes));
    if let Some(id) = t.id_token {
        out.insert("idToken".into(), id.into());
    }
    Ok(Reply::json(Value::Object(out)))
}

/// `POST /refresh-token`: refreshes the provider's tokens now.
pub async fn refresh_token(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let body = ex.body.clone();
    let (user_id, account_id) =
        selected(app, ex, body.as_ref().and_then(Value::as_object), "body").await?;
    let r = tokens::refresh_token(&app.auth, &user_id, &account_id).await?;
    let mut out = Map::new();
    out.insert("accessToken".into(), json!(r.access_token));
    out.insert("refreshToken".into(), r.refresh_token.into());
    if r.access_token_expires_at.is_some() {
        out.insert(
            "accessTokenExpiresAt".into(),
            date(r.access_token_expires_at),
        );
    }
    out.insert(
        "refreshTokenExpiresAt".into(),
        date(r.refresh_token_expires_at),
    );
    out.insert("scope".into(), json!(r.scope));
    out.insert("idToken".into(), json!(r.id_token));
    out.insert("providerId".into(), r.provider_id.into());
    out.insert("accountId".into(), r.account_id.into());
    Ok(Reply::json(Value::Object(out)))
}

/// `GET /account-info?accountId=…`: who the provider says the user is.
pub async fn account_info(app: &App, ex: &mut Exchange) -> Result<Reply, ApiError> {
    let query: Map<String, Value> = ex
        .query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let (user_id, account_id) = selected(app, ex, Some(&query), "query").await?;
    let (mut info, account) = tokens::account_info(&app.auth, &user_id, &account_id).await?;
    info["account"] = json!({
        "id": account.id,
        "providerId": account.provider_id,
        "accountId": account.account_id,
    });
    Ok(Reply::json(info))
}
