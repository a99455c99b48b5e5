//! Explicit linking (`link-social`'s callback, and storing a link the rules allowed), by
//! better-auth's `linkOAuthAccount` rules: the provider must vouch for the email (or be
//! trusted), the emails must match, the account must be nobody else's, and the session that
//! asked must still be live.

use super::super::{Auth, AuthError};
use super::link::{AccountTokens, Failure, update_profile};
use super::profile::Profile;
use super::provider::Provider;
use super::state::LinkState;
use crate::model::{Account, now_ms};

/// `link-social`'s callback: adds the provider account to the user who asked, or refreshes
/// it when it is already theirs (scopes merged).
pub async fn link_to_user(
    auth: &Auth,
    provider: &Provider,
    link: &LinkState,
    profile: &Profile,
    tokens: &AccountTokens,
    scopes: &[String],
) -> Result<Result<(), Failure>, AuthError> {
    let social = &auth.social;
    if !link_session_is_live(auth, link).await? {
        return Ok(Err(Failure::UnableToLinkAccount));
    }
    let l = &social.linking;
    if (!l.trusts(provider.id()) && !profile.email_verified) || !l.enabled {
        return Ok(Err(Failure::UnableToLinkAccount));
    }
    let email = profile.email.as_deref().unwrap_or("");
    if email.to_lowercase() != link.email.to_lowercase() && !l.allow_different_emails {
        return Ok(Err(Failure::EmailDoesNotMatch));
    }
    let existing = auth
        .store
        .find_account_by_provider(provider.id(), &profile.account_id)
        .await?;
    if existing.as_ref().is_some_and(|e| e.user_id != link.user_id) {
        return Ok(Err(Failure::AccountAlreadyLinkedToDifferentUser));
    }
    let mut with_scope = tokens.clone();
    with_scope.scope = Some(scopes.join(","));
    store_link(
        auth,
        provider,
        &link.user_id,
        profile,
        &with_scope,
        scopes,
        existing,
    )
    .await
}

/// Stores a link the rules allowed: refreshes `existing` (the user's own link; `scopes` merged
/// into its scope) or adds a new account with `tokens.scope`. Then, with
/// `update_user_info_on_link`, copies the provider's name and picture to the user.
pub async fn store_link(
    auth: &Auth,
    provider: &Provider,
    user_id: &str,
    profile: &Profile,
    tokens: &AccountTokens,
    scopes: &[String],
    existing: Option<Account>,
) -> Result<Result<(), Failure>, AuthError> {
    let social = &auth.social;
    match existing {
        Some(existing) => {
            let mut update = tokens.sign_in_update(social)?;
            update.scope =
                Some(merge_scopes(existing.scope.as_deref(), scopes)).filter(|s| !s.is_empty());
            auth.store
                .update_account_tokens(&existing.id, &update, now_ms())
                .await?;
        }
        None => {
            let account = tokens.account(social, provider.id(), &profile.account_id, user_id)?;
            if let Some(raced) = auth.store.link_account(&account).await?
                && raced.user_id != user_id
            {
                return Ok(Err(Failure::AccountAlreadyLinkedToDifferentUser));
            }
        }
    }
    if social.linking.update_user_info_on_link
        && let Some(user) = auth.store.find_user_by_id(user_id).await?
    {
        update_profile(auth, &user, profile).await?;
    }
    Ok(Ok(()))
}

/// The session that started a link must still be live, and the same user's, when the
/// provider returns (a link started before sign-out does not complete after it).
async fn link_session_is_live(auth: &Auth, link: &LinkState) -> Result<bool, AuthError> {
    let Some(sealed) = &link.encrypted_session_token else {
        return Ok(true);
    };
    let Ok(token) = auth.social.link_key.open(sealed) else {
        return Ok(false);
    };
    Ok(match auth.store.find_session_with_user(&token).await? {
        Some((s, _)) => s.user_id == link.user_id && s.expires_at > now_ms(),
        None => false,
    })
}

/// better-auth's `mergeScopes`: the stored scopes, then new ones, without repeats.
pub fn merge_scopes(stored: Option<&str>, incoming: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let stored = stored.unwrap_or("").split(',');
    for s in stored.chain(incoming.iter().map(String::as_str)) {
        let s = s.trim();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_merge_as_better_auth_merges_them() {
        let merged = merge_scopes(
            Some("read:user,user:email,repo"),
            &["read:user,user:email".into(), "gist".into()],
        );
        // GitHub's comma list arrives as one scope and is kept as one, as better-auth keeps it.
        assert_eq!(
            merged,
            "read:user,user:email,repo,read:user,user:email,gist"
        );
        assert_eq!(merge_scopes(None, &["a".into(), "a".into()]), "a");
    }
}
