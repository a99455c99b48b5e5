//! A signed-in user's provider accounts: a valid access token (refreshed when due), an
//! explicit refresh, the provider's view of the user, and unlinking.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::super::{Auth, AuthError, ErrorCode};
use super::exchange::Tokens;
use super::profile::{Profile, id_token_subject};
use super::provider::{Kind, Provider};
use crate::model::{Account, now_ms};
use crate::report::Report;
use crate::store::{TokenUpdate, Unlink};

/// A stored token counts as expired this long before it does (better-auth: 5 s).
const EXPIRY_MARGIN_MS: i64 = 5_000;

/// `get-access-token`'s answer.
#[derive(Debug)]
pub struct AccessToken {
    pub access_token: String,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
    pub id_token: Option<String>,
}

/// `refresh-token`'s answer.
#[derive(Debug)]
pub struct Refreshed {
    pub access_token: Option<String>,
    pub refresh_token: String,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
    pub id_token: Option<String>,
    pub provider_id: String,
    pub account_id: String,
}

/// The user's account `account_id` (the row id, as better-auth 1.7 selects it).
async fn own_account(auth: &Auth, user_id: &str, account_id: &str) -> Result<Account, AuthError> {
    auth.store
        .list_accounts(user_id)
        .await?
        .into_iter()
        .find(|a| a.id == account_id)
        .ok_or_else(|| ErrorCode::AccountNotFound.into())
}

fn provider_of<'a>(
    auth: &'a Auth,
    account: &Account,
) -> Result<&'a std::sync::Arc<Provider>, AuthError> {
    auth.social.provider(&account.provider_id).ok_or_else(|| {
        AuthError::Coded(
            ErrorCode::ProviderNotSupported,
            format!("Provider {} is not supported.", account.provider_id),
        )
    })
}

/// Stored scopes as a list (split on `,`, trimmed, empties dropped).
pub fn scopes_of(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Refreshes with the stored refresh token and stores the result (access token, expiry,
/// ID token; the refresh token when the provider rotated it). Never the scope: a refresh
/// may answer with fewer.
async fn refresh_and_store(
    auth: &Auth,
    provider: &Provider,
    account: &Account,
    stored_refresh: &str,
) -> Result<(Tokens, String), RefreshError> {
    let social = &auth.social;
    let refresh = social
        .read_token(stored_refresh)
        .map_err(|_| RefreshError)?;
    let tokens = provider.refresh(&social.http, &refresh).await.map_err(|e| {
        tracing::warn!(provider = %account.provider_id, error = %Report(&e), "token refresh failed");
        RefreshError
    })?;
    // A refresh that answers for someone else (a refresh token that was not this account's)
    // is refused, not stored.
    if let Some(sub) = tokens.id_token.as_deref().and_then(id_token_subject)
        && sub != account.account_id
    {
        tracing::warn!(provider = %account.provider_id, "token refresh answered for another subject; refused");
        return Err(RefreshError);
    }
    let seal = |t: Option<&str>| social.store_token(t).map_err(|_| RefreshError);
    let update = TokenUpdate {
        access_token: seal(tokens.access_token.as_deref())?,
        refresh_token: seal(tokens.refresh_token.as_deref())?,
        id_token: tokens.id_token.clone(),
        access_token_expires_at: tokens.access_token_expires_at,
        refresh_token_expires_at: tokens.refresh_token_expires_at,
        scope: None,
    };
    auth.store
        .update_account_tokens(&account.id, &update, now_ms())
        .await
        .map_err(|e| {
            tracing::warn!(error = %Report(&e), "could not store refreshed tokens");
            RefreshError
        })?;
    Ok((tokens, refresh))
}

#[derive(Debug)]
struct RefreshError;

/// A valid access token for the account: the stored one, or a fresh one when it expires
/// within 5 s and a refresh token is stored. Without a refresh token the stored token is
/// returned even when expired, as better-auth returns it.
pub async fn access_token(
    auth: &Auth,
    user_id: &str,
    account_id: &str,
) -> Result<AccessToken, AuthError> {
    let account = own_account(auth, user_id, account_id).await?;
    let provider = provider_of(auth, &account)?.clone();
    valid_access_token(auth, &provider, &account)
        .await
        .map_err(|RefreshError| ErrorCode::FailedToGetAccessToken.into())
}

async fn valid_access_token(
    auth: &Auth,
    provider: &Provider,
    account: &Account,
) -> Result<AccessToken, RefreshError> {
    let now = now_ms();
    let expired = account
        .access_token_expires_at
        .is_some_and(|t| (t - now).num_milliseconds() < EXPIRY_MARGIN_MS);
    let fresh = match (&account.refresh_token, expired) {
        (Some(stored), true) => Some(refresh_and_store(auth, provider, account, stored).await?.0),
        _ => None,
    };
    let access_token = match fresh.as_ref().and_then(|t| t.access_token.clone()) {
        Some(t) => t,
        None => auth
            .social
            .read_token(account.access_token.as_deref().unwrap_or(""))
            .map_err(|_| RefreshError)?,
    };
    Ok(AccessToken {
        access_token,
        access_token_expires_at: fresh
            .as_ref()
            .and_then(|t| t.access_token_expires_at)
            .or(account.access_token_expires_at),
        scopes: scopes_of(account.scope.as_deref()),
        id_token: fresh
            .and_then(|t| t.id_token)
            .or_else(|| account.id_token.clone()),
    })
}

/// `refresh-token`: refreshes now, whatever the expiry.
pub async fn refresh_token(
    auth: &Auth,
    user_id: &str,
    account_id: &str,
) -> Result<Refreshed, AuthError> {
    let account = own_account(auth, user_id, account_id).await?;
    let provider = provider_of(auth, &account)?.clone();
    let Some(stored) = account.refresh_token.clone() else {
        return Err(ErrorCode::RefreshTokenNotFound.into());
    };
    let (tokens, old_refresh) = refresh_and_store(auth, &provider, &account, &stored)
        .await
        .map_err(|RefreshError| AuthError::from(ErrorCode::FailedToRefreshAccessToken))?;
    Ok(Refreshed {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token.unwrap_or(old_refresh),
        access_token_expires_at: tokens.access_token_expires_at,
        refresh_token_expires_at: tokens
            .refresh_token_expires_at
            .or(account.refresh_token_expires_at),
        scope: account.scope.clone(),
        id_token: tokens.id_token.or(account.id_token),
        provider_id: account.provider_id,
        account_id: account.id,
    })
}

/// `account-info`: the provider's view of the user and its raw profile.
pub async fn account_info(
    auth: &Auth,
    user_id: &str,
    account_id: &str,
) -> Result<(Value, Account), AuthError> {
    let account = own_account(auth, user_id, account_id).await?;
    let provider = auth
        .social
        .provider(&account.provider_id)
        .ok_or(ErrorCode::ProviderNotConfigured)?
        .clone();
    let token = valid_access_token(auth, &provider, &account)
        .await
        .map_err(|RefreshError| AuthError::from(ErrorCode::FailedToGetAccessToken))?;
    if token.access_token.is_empty() {
        return Err(ErrorCode::AccessTokenNotFound.into());
    }
    let tokens = Tokens {
        access_token: Some(token.access_token),
        id_token: token.id_token,
        access_token_expires_at: token.access_token_expires_at,
        scopes: token.scopes,
        ..Tokens::default()
    };
    let social = &auth.social;
    let endpoints = provider
        .endpoints(&social.http)
        .await
        .map_err(|_| ErrorCode::ProviderUserInfoFailed)?;
    let profile = provider
        .account_info(&social.http, &endpoints, &tokens)
        .await
        .map_err(|e| {
            tracing::info!(provider = %account.provider_id, error = %Report(&e), "account info unavailable");
            ErrorCode::ProviderUserInfoFailed
        })?;
    Ok((user_view(provider.settings.kind, &profile), account))
}

/// The `user` of `account-info`, in the key order each provider's mapping gives it.
fn user_view(kind: Kind, p: &Profile) -> Value {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    let name = Some(Value::String(p.name.clone()));
    let email = p.email.clone().map(Value::String);
    let image = p.image.clone().map(Value::String);
    let verified = Some(Value::Bool(p.email_verified));
    match kind {
        Kind::Generic => {
            put("email", email);
            put("emailVerified", verified);
            put("image", image);
            put("name", name);
        }
        Kind::Google | Kind::GitHub => {
            put("name", name);
            put("email", email);
            put("image", image);
            put("emailVerified", verified);
        }
    }
    serde_json::json!({ "user": Value::Object(m), "data": p.raw })
}

/// `unlink-account`: removes one of the user's accounts, never the last one unless allowed
/// (checked before whether the account exists, in better-auth's order).
pub async fn unlink(auth: &Auth, user_id: &str, account_id: &str) -> Result<(), AuthError> {
    let allow_last = auth.social.linking.allow_unlinking_all;
    match auth
        .store
        .unlink_account(user_id, account_id, allow_last)
        .await?
    {
        Unlink::Done => Ok(()),
        Unlink::LastAccount => Err(ErrorCode::FailedToUnlinkLastAccount.into()),
        Unlink::NotFound => Err(ErrorCode::AccountNotFound.into()),
    }
}
