//! The redirect flows end to end: starting a sign-in or link (state, PKCE, authorization URL)
//! and the provider's callback (better-auth's `callbackOAuth`, with every error it redirects
//! with).

use serde_json::{Map, Value};

use super::super::{Auth, AuthError, ClientInfo, ErrorCode};
use super::authorize::AuthorizationRequest;
use super::link::{self, AccountTokens, SignedIn};
use super::linking;
use super::profile::Profile;
use super::provider::{Endpoints, Provider};
use super::state::{self, LinkState, StateData};
use crate::model::Email;
use crate::report::Report;

/// A sign-in or link request (`sign-in/social`, `link-social` bodies).
#[derive(Debug, Default)]
pub struct Start {
    pub provider: String,
    pub callback_url: Option<String>,
    pub new_user_url: Option<String>,
    pub error_url: Option<String>,
    pub scopes: Vec<String>,
    pub login_hint: Option<String>,
    pub additional_params: Vec<(String, String)>,
    pub additional_data: Map<String, Value>,
    pub request_sign_up: Option<bool>,
}

/// Where to send the browser, and the `state` for the signed cookie.
#[derive(Debug)]
pub struct Started {
    pub url: String,
    pub state: String,
}

/// A provider that can be used now: configured, and its endpoints known.
pub(super) async fn usable(
    auth: &Auth,
    id: &str,
) -> Result<(std::sync::Arc<Provider>, std::sync::Arc<Endpoints>), AuthError> {
    let social = &auth.social;
    let provider = social.provider(id).ok_or(ErrorCode::ProviderNotFound)?;
    match provider.endpoints(&social.http).await {
        Ok(e) => Ok((provider.clone(), e)),
        Err(e) => {
            // better-auth leaves a provider whose discovery failed out of its list.
            tracing::warn!(provider = id, error = %Report(&e), "the provider cannot be used now");
            Err(ErrorCode::ProviderNotFound.into())
        }
    }
}

/// Stores the flow's state and builds the provider's authorization URL.
pub async fn start(auth: &Auth, s: Start, link: Option<LinkState>) -> Result<Started, AuthError> {
    let (provider, endpoints) = usable(auth, &s.provider).await?;
    let social = &auth.social;
    let nonce = provider
        .requires_nonce(&endpoints)
        .then(state::random_value);
    let mut data = StateData::new(
        s.callback_url.unwrap_or_else(|| social.origin.clone()),
        s.additional_data,
    );
    data.error_url = s.error_url;
    data.new_user_url = s.new_user_url;
    data.request_sign_up = s.request_sign_up;
    data.id_token_nonce.clone_from(&nonce);
    data.link = link;
    let verifier = data.code_verifier.clone();
    let state = state::create(auth, data).await?;
    let url = provider.authorization_url(
        &endpoints,
        &AuthorizationRequest {
            state: &state,
            code_verifier: &verifier,
            nonce: nonce.as_deref(),
            redirect_uri: &social.redirect_uri(&provider),
            scopes: &s.scopes,
            login_hint: s.login_hint.as_deref(),
            additional_params: &s.additional_params,
        },
    );
    Ok(Started { url, state })
}

/// The callback's parameters (query, or a form_post's body merged into it).
#[derive(Debug, Default)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
}

/// How a callback ends.
#[derive(Debug)]
pub enum Outcome {
    /// An error page, or a completed link: redirect only.
    Redirect(String),
    /// Signed in: set the session cookie and redirect.
    SignedIn {
        signed_in: Box<SignedIn>,
        location: String,
    },
}

#[derive(Debug)]
pub struct CallbackResult {
    pub outcome: Outcome,
    /// The state was read: its cookie has served and is expired.
    pub state_used: bool,
}

/// `url` with query parameters appended, as better-auth's `appendQueryParams` does: the
/// existing query kept as written, before any fragment; relative URLs stay relative.
pub fn append_query(url: &str, params: &[(&str, &str)]) -> String {
    const BASE: &str = "https://better-auth.invalid";
    let relative = url.starts_with('/');
    let parsed = if relative {
        url::Url::parse(BASE).and_then(|b| b.join(url))
    } else {
        url::Url::parse(url)
    };
    let Ok(mut parsed) = parsed else {
        return url.to_owned();
    };
    let mut added = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        added.append_pair(k, v);
    }
    let added = added.finish();
    let query = match parsed.query().filter(|q| !q.is_empty()) {
        Some(q) if q.ends_with('&') => format!("{q}{added}"),
        Some(q) => format!("{q}&{added}"),
        None => added,
    };
    parsed.set_query(Some(&query));
    let href = parsed.to_string();
    if relative {
        href.strip_prefix(BASE).map(str::to_owned).unwrap_or(href)
    } else {
        href
    }
}

fn error_redirect(base: &str, error: &str, description: Option<&str>) -> Outcome {
    let mut params = vec![("error", error)];
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        params.push(("error_description", d));
    }
    Outcome::Redirect(append_query(base, &params))
}

/// Handles the provider's redirect back. Every failure is a redirect to the flow's error URL
/// (or better-auth's error page) with better-auth's `error` value.
pub async fn callback(
    auth: &Auth,
    provider_id: &str,
    q: CallbackParams,
    cookie_state: Option<&str>,
    client: &ClientInfo,
) -> Result<CallbackResult, AuthError> {
    let social = &auth.social;
    let default_error = social.default_error_url();
    let not_used = |outcome| CallbackResult {
        outcome,
        state_used: false,
    };
    let Some(state_value) = q.state.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(not_used(error_redirect(
            &default_error,
            "state_not_found",
            None,
        )));
    };
    let data = match state::consume(auth, state_value, cookie_state).await? {
        Ok(d) => d,
        Err(e) => {
            tracing::info!(
                provider = provider_id,
                error = e.code,
                "OAuth callback refused: state"
            );
            let base = e.error_url.unwrap_or(default_error);
            return Ok(not_used(error_redirect(&base, e.code, None)));
        }
    };
    let error_url = data.error_url.clone().unwrap_or(default_error);
    let used = |outcome| CallbackResult {
        outcome,
        state_used: true,
    };
    let fail =
        |code: &str, description: Option<&str>| used(error_redirect(&error_url, code, description));
    if let Some(e) = q.error.as_deref().filter(|e| !e.is_empty()) {
        return Ok(fail(e, q.error_description.as_deref()));
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(fail("no_code", None));
    };
    let Some(provider) = social.provider(provider_id).cloned() else {
        return Ok(fail("oauth_provider_not_found", None));
    };
    let endpoints = match provider.endpoints(&social.http).await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(provider = provider_id, error = %Report(&e), "the provider cannot be used now");
            return Ok(fail("oauth_provider_not_found", None));
        }
    };
    // RFC 9207: an `iss` naming another issuer than the provider's is a mix-up attack; a
    // provider that promises `iss` and sends none is refused too (better-auth accepts it).
    match (q.iss.as_deref(), endpoints.issuer.as_deref()) {
        (Some(iss), Some(expected)) if iss != expected => {
            tracing::warn!(
                provider = provider_id,
                "OAuth callback refused: issuer mismatch"
            );
            return Ok(fail("issuer_mismatch", None));
        }
        (None, Some(_)) if endpoints.iss_required => {
            tracing::warn!(provider = provider_id, "OAuth callback refused: no iss");
            return Ok(fail("issuer_missing", None));
        }
        _ => {}
    }
    if provider.requires_nonce(&endpoints) && data.id_token_nonce.is_none() {
        return Ok(fail("nonce_binding_missing", None));
    }
    let redirect_uri = social.redirect_uri(&provider);
    let tokens = match provider
        .exchange_code(
            &social.http,
            &endpoints,
            code,
            &data.code_verifier,
            &redirect_uri,
        )
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(provider = provider_id, error = %Report(&e), "OAuth code exchange failed");
            return Ok(fail("invalid_code", None));
        }
    };
    let profile = match provider
        .user_info(
            &social.http,
            &endpoints,
            &tokens,
            data.id_token_nonce.as_deref(),
        )
        .await
    {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(provider = provider_id, error = %Report(&e), "could not get the provider's user info");
            return Ok(fail("unable_to_get_user_info", None));
        }
    };
    let account_tokens = AccountTokens::from_exchange(&tokens);
    if let Some(link) = &data.link {
        return Ok(
            match linking::link_to_user(
                auth,
                &provider,
                link,
                &profile,
                &account_tokens,
                &tokens.scopes,
            )
            .await?
            {
                Ok(()) => used(Outcome::Redirect(data.callback_url.clone())),
                Err(f) => fail(&f.code(), None),
            },
        );
    }
    let Some(profile) = with_valid_email(profile) else {
        tracing::info!(
            provider = provider_id,
            "the provider gave no usable email; request its email scope"
        );
        return Ok(fail("email_not_found", None));
    };
    let s = &provider.settings;
    let disable_sign_up =
        (s.disable_implicit_sign_up && data.request_sign_up != Some(true)) || s.disable_sign_up;
    let signed = link::sign_in(
        auth,
        &provider,
        &profile,
        &account_tokens,
        disable_sign_up,
        Some(&data.callback_url),
        client,
    )
    .await;
    // The admin plugin's ban check refuses the session: better-auth redirects with its code
    // and the banned-user message.
    let signed = match signed {
        Err(AuthError::Admin(a)) if a.code == "BANNED_USER" => {
            return Ok(fail(a.code, Some(&a.message)));
        }
        other => other?,
    };
    match signed {
        Err(f) => {
            tracing::info!(provider = provider_id, error = %f.code(), "social sign-in refused");
            Ok(fail(&f.code(), None))
        }
        Ok(signed_in) => {
            let location = match (&data.new_user_url, signed_in.is_new_user) {
                (Some(new_user), true) => new_user.clone(),
                _ => data.callback_url.clone(),
            };
            Ok(used(Outcome::SignedIn {
                signed_in: Box::new(signed_in),
                location,
            }))
        }
    }
}

/// The profile with its email lower-cased, when it has one that is an address.
pub(super) fn with_valid_email(mut profile: Profile) -> Option<Profile> {
    let email = Email::parse(profile.email.as_deref()?).ok()?;
    profile.email = Some(email.as_str().to_lowercase());
    Some(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_append_as_better_auth_appends_them() {
        assert_eq!(
            append_query("/err", &[("error", "access_denied")]),
            "/err?error=access_denied"
        );
        assert_eq!(
            append_query("https://app.test/e?x=1#top", &[("error", "a b")]),
            "https://app.test/e?x=1&error=a+b#top"
        );
        assert_eq!(
            append_query(
                "http://localhost:3000/api/auth/error",
                &[
                    ("error", "state_mismatch"),
                    ("error_description", "User denied")
                ]
            ),
            "http://localhost:3000/api/auth/error?error=state_mismatch&error_description=User+denied"
        );
    }
}
