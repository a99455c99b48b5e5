//! OpenID Connect RP-initiated logout: the provider's end-session URL for a user signing out.

use super::super::{Auth, AuthError};

/// The provider's sign-out URL for a user signing out (OpenID Connect RP-initiated logout):
/// from the most recently updated of their accounts whose provider has one.
pub async fn end_session_url(
    auth: &Auth,
    user_id: &str,
    post_logout_redirect: Option<&str>,
    state: Option<&str>,
) -> Result<Option<String>, AuthError> {
    let social = &auth.social;
    let mut accounts = auth.store.list_accounts(user_id).await?;
    accounts.sort_by_key(|a| std::cmp::Reverse(a.updated_at));
    let mut seen: Vec<&str> = Vec::new();
    for account in &accounts {
        if seen.contains(&account.provider_id.as_str()) {
            continue;
        }
        seen.push(&account.provider_id);
        let Some(provider) = social.provider(&account.provider_id) else {
            continue;
        };
        let Ok(endpoints) = provider.endpoints(&social.http).await else {
            continue;
        };
        if let Some(url) = provider.end_session_url(
            &endpoints,
            account.id_token.as_deref(),
            post_logout_redirect,
            state,
        ) {
            return Ok(Some(url));
        }
    }
    Ok(None)
}
