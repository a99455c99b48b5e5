//! ID-token sign-in and linking (`idToken` in `sign-in/social` and `link-social`): Google One
//! Tap, native apps, and OpenID Connect providers with a key set. No redirect; the token is
//! verified against the provider's keys and the user found, created or linked at once.

use super::super::{Auth, AuthError, ClientInfo, ErrorCode};
use super::exchange::ExchangeError;
use super::flow::{usable, with_valid_email};
use super::link::{self, AccountTokens, Failure, SignedIn};
use super::linking;
use super::profile::Profile;
use super::provider::Provider;
use crate::report::Report;

/// An `idToken` from the client (Google One Tap, a native app's sign-in).
#[derive(Debug, Default)]
pub struct IdTokenRequest {
    pub provider: String,
    pub token: String,
    pub nonce: Option<String>,
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub callback_url: Option<String>,
    pub request_sign_up: Option<bool>,
}

/// Why an ID-token sign-in or link failed, in better-auth's terms.
#[derive(Debug)]
pub enum IdTokenError {
    Code(ErrorCode),
    /// `OAUTH_LINK_ERROR` with better-auth's text.
    Link(Failure),
    Auth(AuthError),
}

impl From<AuthError> for IdTokenError {
    fn from(e: AuthError) -> Self {
        IdTokenError::Auth(e)
    }
}

impl From<ErrorCode> for IdTokenError {
    fn from(c: ErrorCode) -> Self {
        IdTokenError::Code(c)
    }
}

/// Checks an ID token for a provider that supports it; the provider, and who it names.
async fn verified_profile(
    auth: &Auth,
    provider_id: &str,
    token: &str,
    nonce: Option<&str>,
) -> Result<(std::sync::Arc<Provider>, Profile), IdTokenError> {
    let (provider, endpoints) = usable(auth, provider_id).await?;
    if endpoints.id_tokens.is_none() || provider.settings.disable_id_token_sign_in {
        return Err(ErrorCode::IdTokenNotSupported.into());
    }
    let claims = match provider.verify_id_token(&endpoints, token, nonce).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(provider = provider_id, error = %Report(&e), "ID token refused");
            return Err(ErrorCode::InvalidIdToken.into());
        }
    };
    let profile = provider
        .profile_from_id_token(&auth.social.http, &endpoints, claims, token)
        .await
        .map_err(|e: ExchangeError| {
            tracing::info!(provider = provider_id, error = %Report(&e), "ID token names no usable user");
            IdTokenError::Code(ErrorCode::ProviderUserInfoFailed)
        })?;
    if profile.email.is_none() {
        return Err(ErrorCode::UserEmailNotFound.into());
    }
    let profile = with_valid_email(profile).ok_or(ErrorCode::UserEmailNotFound)?;
    Ok((provider, profile))
}

/// `sign-in/social` with `idToken`: no redirect, a session at once.
pub async fn sign_in_with_id_token(
    auth: &Auth,
    r: &IdTokenRequest,
    client: &ClientInfo,
) -> Result<SignedIn, IdTokenError> {
    let (provider, profile) =
        verified_profile(auth, &r.provider, &r.token, r.nonce.as_deref()).await?;
    // As better-auth: the client's access token and the ID token are kept; a refresh token
    // or expiry the client claims is not.
    let tokens = AccountTokens {
        access_token: r.access_token.clone(),
        id_token: Some(r.token.clone()),
        ..AccountTokens::default()
    };
    let s = &provider.settings;
    let disable_sign_up =
        (s.disable_implicit_sign_up && r.request_sign_up != Some(true)) || s.disable_sign_up;
    match link::sign_in(
        auth,
        &provider,
        &profile,
        &tokens,
        disable_sign_up,
        r.callback_url.as_deref(),
        client,
    )
    .await?
    {
        Ok(signed_in) => Ok(signed_in),
        Err(Failure::EmailNotVerified) => Err(ErrorCode::EmailNotVerified.into()),
        Err(f) => Err(IdTokenError::Link(f)),
    }
}

/// `link-social` with `idToken`: links at once.
pub async fn link_with_id_token(
    auth: &Auth,
    user: &crate::model::User,
    r: &IdTokenRequest,
) -> Result<(), IdTokenError> {
    let (provider, profile) =
        verified_profile(auth, &r.provider, &r.token, r.nonce.as_deref()).await?;
    let social = &auth.social;
    // The client's refresh token is not kept (better-auth keeps it): nothing ties it to the ID
    // token, and the server would redeem it with its client secret for whoever sent it.
    let tokens = AccountTokens {
        access_token: r.access_token.clone(),
        id_token: Some(r.token.clone()),
        ..AccountTokens::default()
    };
    let existing = auth
        .store
        .find_account_by_provider(provider.id(), &profile.account_id)
        .await
        .map_err(AuthError::from)?;
    if let Some(account) = &existing {
        if account.user_id != user.id {
            return Err(ErrorCode::SocialAccountAlreadyLinked.into());
        }
    } else {
        let l = &social.linking;
        if (!l.trusts(provider.id()) && !profile.email_verified) || !l.enabled {
            return Err(ErrorCode::LinkingNotAllowed.into());
        }
        let email = profile.email.as_deref().unwrap_or("");
        if email != user.email.to_lowercase() && !l.allow_different_emails {
            return Err(ErrorCode::LinkingDifferentEmailsNotAllowed.into());
        }
    }
    match linking::store_link(auth, &provider, &user.id, &profile, &tokens, &[], existing).await? {
        Ok(()) => Ok(()),
        Err(Failure::AccountAlreadyLinkedToDifferentUser) => {
            Err(ErrorCode::SocialAccountAlreadyLinked.into())
        }
        Err(_) => Err(ErrorCode::LinkingFailed.into()),
    }
}
