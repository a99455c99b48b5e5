//! `[social_providers.*]`, `[[generic_oauth]]`, `[account]` and `[account_linking]` → the
//! social sign-in services, with better-auth's defaults for each built-in provider.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::auth::oauth::client::{ClientAuth, OAuthHttp};
use crate::auth::oauth::provider::{EndpointUrls, Kind, Provider, ProviderSettings};
use crate::auth::oauth::{LinkingPolicy, Social};
use crate::config::{Config, GenericOAuthConfig, ProviderConfig, resolve_secret};
use crate::crypto::Keys;

const GOOGLE_AUTHORIZATION: &str = "https://accounts.google.com/o/oauth2/v2/auth";
const GOOGLE_TOKEN: &str = "https://oauth2.googleapis.com/token";
const GOOGLE_JWKS: &str = "https://www.googleapis.com/oauth2/v3/certs";
const GITHUB_AUTHORIZATION: &str = "https://github.com/login/oauth/authorize";
const GITHUB_TOKEN: &str = "https://github.com/login/oauth/access_token";
const GITHUB_API: &str = "https://api.github.com";

pub(super) fn social(cfg: &Config, keys: &Keys) -> anyhow::Result<Social> {
    let env = |name: &str| std::env::var(name).ok();
    let mut providers = Vec::new();
    for generic in &cfg.generic_oauth {
        providers.push(generic_provider(generic, &env)?);
    }
    let builtin = [
        ("google", Kind::Google, &cfg.social_providers.google),
        ("github", Kind::GitHub, &cfg.social_providers.github),
    ];
    for (id, kind, section) in builtin {
        if let Some(p) = section {
            providers.push(builtin_provider(id, kind, p, &env)?);
        }
    }
    let mut ids: Vec<&str> = providers.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(pair) = ids.windows(2).find(|w| w[0] == w[1]) {
        bail!(
            "two social providers are called {:?}; provider ids must be unique",
            pair[0]
        );
    }
    let l = &cfg.account_linking;
    Ok(Social {
        providers: providers
            .into_iter()
            .map(|s| Arc::new(Provider::new(s)))
            .collect(),
        linking: LinkingPolicy {
            enabled: l.enabled,
            trusted_providers: l.trusted_providers.clone(),
            require_local_email_verified: l.require_local_email_verified,
            allow_different_emails: l.allow_different_emails,
            disable_implicit_linking: l.disable_implicit_linking,
            update_user_info_on_link: l.update_user_info_on_link,
            allow_unlinking_all: l.allow_unlinking_all,
        },
        encrypt_tokens: cfg.account.encrypt_oauth_tokens,
        update_account_on_sign_in: cfg.account.update_account_on_sign_in,
        http: OAuthHttp::new(Duration::from_secs(cfg.limits.provider_timeout.max(1))),
        token_key: keys.sealing.clone(),
        link_key: keys.link_session.clone(),
        api_url: format!("{}{}", cfg.base_origin(), cfg.base_path),
        origin: cfg.base_origin(),
    })
}

/// An endpoint from the configuration: an absolute http(s) URL.
fn url(provider: &str, key: &str, value: Option<&String>) -> anyhow::Result<Option<String>> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let parsed =
        url::Url::parse(v).with_context(|| format!("{provider}: {key} {v:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("{provider}: {key} must be an http or https URL");
    }
    Ok(Some(v.clone()))
}

fn builtin_provider(
    id: &str,
    kind: Kind,
    p: &ProviderConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<ProviderSettings> {
    let place = format!("social_providers.{id}");
    if p.client_id.is_empty() {
        bail!("{place}: client_id is required");
    }
    let secret = resolve_secret(
        &place,
        p.client_secret.as_ref(),
        p.client_secret_file.as_deref(),
        p.client_secret_env.as_deref(),
        env,
    )?;
    if secret.is_none() {
        bail!("{place}: client_secret (or client_secret_file, client_secret_env) is required");
    }
    let defaults: &[&str] = match kind {
        Kind::Google => &["email", "profile", "openid"],
        _ => &["read:user", "user:email"],
    };
    let mut scopes: Vec<String> = if p.disable_default_scope {
        Vec::new()
    } else {
        defaults.iter().map(|s| (*s).to_owned()).collect()
    };
    scopes.extend(p.scope.iter().cloned());
    let endpoint = |key: &str, value: &Option<String>, default: &str| -> anyhow::Result<String> {
        Ok(url(&place, key, value.as_ref())?.unwrap_or_else(|| default.to_owned()))
    };
    let urls = match kind {
        Kind::Google => EndpointUrls {
            authorization: Some(endpoint(
                "authorization_url",
                &p.authorization_url,
                GOOGLE_AUTHORIZATION,
            )?),
            token: Some(endpoint("token_url", &p.token_url, GOOGLE_TOKEN)?),
            jwks: Some(endpoint("jwks_url", &p.jwks_url, GOOGLE_JWKS)?),
            ..EndpointUrls::default()
        },
        _ => {
            let api = endpoint("api_url", &p.api_url, GITHUB_API)?;
            let api = api.trim_end_matches('/');
            EndpointUrls {
                authorization: Some(endpoint(
                    "authorization_url",
                    &p.authorization_url,
                    GITHUB_AUTHORIZATION,
                )?),
                token: Some(endpoint("token_url", &p.token_url, GITHUB_TOKEN)?),
                user_info: Some(format!("{api}/user")),
                emails: Some(format!("{api}/user/emails")),
                ..EndpointUrls::default()
            }
        }
    };
    let extra_params = if kind == Kind::Google && p.include_granted_scopes {
        vec![("include_granted_scopes".to_owned(), "true".to_owned())]
    } else {
        Vec::new()
    };
    Ok(ProviderSettings {
        id: id.to_owned(),
        kind,
        client_id: p.client_id.clone(),
        client_secret: secret,
        scopes,
        prompt: p.prompt.clone(),
        access_type: p.access_type.clone(),
        response_mode: None,
        hd: if kind == Kind::Google {
            p.hd.clone()
        } else {
            None
        },
        extra_params,
        redirect_uri: url(&place, "redirect_uri", p.redirect_uri.as_ref())?,
        pkce: true,
        client_auth: ClientAuth::Post,
        urls,
        discovery_url: None,
        disable_sign_up: p.disable_sign_up,
        disable_implicit_sign_up: p.disable_implicit_sign_up,
        disable_id_token_sign_in: p.disable_id_token_sign_in,
        override_user_info: p.override_user_info_on_sign_in,
        require_email_verification: p.require_email_verification,
        require_id_token_verification: false,
        nonce_binding: false,
        provider_logout: false,
        post_logout_redirect_uri: None,
    })
}

fn generic_provider(
    g: &GenericOAuthConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> anyhow::Result<ProviderSettings> {
    let id = g.provider_id.trim();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        bail!(
            "generic_oauth: provider_id {:?} must be letters, digits, '-', '_' or '.'",
            g.provider_id
        );
    }
    // `credential` is the provider id of password accounts, whose account id is the user id:
    // a provider of that name could sign its users in as anyone whose id it can name.
    if id == crate::model::CREDENTIAL_PROVIDER {
        bail!(
            "generic_oauth: provider_id \"credential\" is reserved for email and password accounts"
        );
    }
    let place = format!("generic_oauth {id}");
    if g.client_id.is_empty() {
        bail!("{place}: client_id is required");
    }
    let secret = resolve_secret(
        &place,
        g.client_secret.as_ref(),
        g.client_secret_file.as_deref(),
        g.client_secret_env.as_deref(),
        env,
    )?;
    let client_auth = match g.authentication.as_str() {
        "post" => ClientAuth::Post,
        "basic" if secret.is_some() => ClientAuth::Basic,
        "basic" => bail!("{place}: authentication \"basic\" needs a client_secret"),
        other => bail!("{place}: authentication must be \"post\" or \"basic\", not {other:?}"),
    };
    let urls = EndpointUrls {
        authorization: url(&place, "authorization_url", g.authorization_url.as_ref())?,
        token: url(&place, "token_url", g.token_url.as_ref())?,
        user_info: url(&place, "user_info_url", g.user_info_url.as_ref())?,
        ..EndpointUrls::default()
    };
    let discovery_url = url(&place, "discovery_url", g.discovery_url.as_ref())?;
    if discovery_url.is_none() && (urls.authorization.is_none() || urls.token.is_none()) {
        bail!("{place}: set discovery_url, or authorization_url and token_url");
    }
    Ok(ProviderSettings {
        id: id.to_owned(),
        kind: Kind::Generic,
        client_id: g.client_id.clone(),
        client_secret: secret,
        scopes: g.scopes.clone(),
        prompt: g.prompt.clone(),
        access_type: g.access_type.clone(),
        response_mode: g.response_mode.clone(),
        hd: None,
        extra_params: g
            .authorization_url_params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        redirect_uri: url(&place, "redirect_uri", g.redirect_uri.as_ref())?,
        pkce: g.pkce,
        client_auth,
        urls,
        discovery_url,
        disable_sign_up: g.disable_sign_up,
        disable_implicit_sign_up: g.disable_implicit_sign_up,
        disable_id_token_sign_in: false,
        override_user_info: g.override_user_info,
        require_email_verification: g.require_email_verification,
        require_id_token_verification: g.require_id_token_verification,
        nonce_binding: !g.disable_id_token_nonce_binding,
        provider_logout: !g.disable_provider_logout,
        post_logout_redirect_uri: g.post_logout_redirect_uri.clone(),
    })
}
