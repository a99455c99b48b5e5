//! Social sign-in: `[social_providers.google]`, `[social_providers.github]`,
//! `[[generic_oauth]]`, `[account]` and `[account_linking]`, named after better-auth's
//! `socialProviders`, `genericOAuth({config})`, `account` and `account.accountLinking` options.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::crypto::Secret;

/// The account table's names and how provider tokens are kept (better-auth's `account`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AccountConfig {
    /// The table's name (`account.modelName`).
    pub model_name: Option<String>,
    /// Logical field → column (`account.fields`).
    pub fields: BTreeMap<String, String>,
    /// Store providers' access and refresh tokens encrypted with the secret, in the format
    /// better-auth's `account.encryptOAuthTokens` writes (both servers read each other's).
    pub encrypt_oauth_tokens: bool,
    /// Replace the stored tokens with the new ones at each sign-in
    /// (`account.updateAccountOnSignIn`).
    pub update_account_on_sign_in: bool,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            model_name: None,
            fields: BTreeMap::new(),
            encrypt_oauth_tokens: false,
            update_account_on_sign_in: true,
        }
    }
}

/// When a provider account may join an existing user (`account.accountLinking`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AccountLinkingConfig {
    pub enabled: bool,
    /// Providers whose emails are trusted even when they do not say the address is verified.
    #[serde(deserialize_with = "super::string_list")]
    pub trusted_providers: Vec<String>,
    /// Link implicitly only to a local user whose email is verified (better-auth's default).
    pub require_local_email_verified: bool,
    /// `link-social` may link an account whose email differs from the user's.
    pub allow_different_emails: bool,
    /// Never link at sign-in; only `link-social` links.
    pub disable_implicit_linking: bool,
    /// Copy the provider's name and picture to the user when linking.
    pub update_user_info_on_link: bool,
    /// `unlink-account` may remove a user's last account.
    pub allow_unlinking_all: bool,
}

impl Default for AccountLinkingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            trusted_providers: Vec::new(),
            require_local_email_verified: true,
            allow_different_emails: false,
            disable_implicit_linking: false,
            update_user_info_on_link: false,
            allow_unlinking_all: false,
        }
    }
}

/// The built-in providers. A provider is on when its section is present.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocialProvidersConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub google: Option<ProviderConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub github: Option<ProviderConfig>,
}

/// One of `[social_providers.*]` (better-auth's `socialProviders.<id>` options).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderConfig {
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// A file holding the client secret (as Docker and Kubernetes mount secrets).
    pub client_secret_file: Option<String>,
    /// An environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Scopes requested besides the provider's defaults (`scope`).
    pub scope: Vec<String>,
    /// Request only `scope`, not the provider's default scopes.
    pub disable_default_scope: bool,
    /// `prompt` on the authorization request, e.g. `select_account` or `consent`.
    pub prompt: Option<String>,
    /// Google: `offline` (with `prompt = "consent"`) to receive a refresh token.
    pub access_type: Option<String>,
    /// Google: the Workspace domain users must belong to (`*`: any Workspace domain).
    pub hd: Option<String>,
    /// Google: send `include_granted_scopes=true` (incremental authorization).
    pub include_granted_scopes: bool,
    /// The callback registered with the provider, when not `<base URL><base path>/callback/<id>`.
    pub redirect_uri: Option<String>,
    /// No new users from this provider.
    pub disable_sign_up: bool,
    /// No new users unless the sign-in asks for it (`requestSignUp`).
    pub disable_implicit_sign_up: bool,
    /// Refuse `idToken` sign-in (Google One Tap and native apps) for this provider.
    pub disable_id_token_sign_in: bool,
    /// Copy the provider's name, picture and email to the user at every sign-in.
    pub override_user_info_on_sign_in: bool,
    /// Sign in only users whose email is verified (`requireEmailVerification`).
    pub require_email_verification: bool,
    /// The provider's endpoints, for tests and outbound proxies; empty: the provider's own.
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    /// Google: the key set ID tokens are checked against.
    pub jwks_url: Option<String>,
    /// GitHub: the REST API's base URL (`/user` and `/user/emails` below it).
    pub api_url: Option<String>,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret: None,
            client_secret_file: None,
            client_secret_env: None,
            scope: Vec::new(),
            disable_default_scope: false,
            prompt: None,
            access_type: None,
            hd: None,
            include_granted_scopes: true,
            redirect_uri: None,
            disable_sign_up: false,
            disable_implicit_sign_up: false,
            disable_id_token_sign_in: false,
            override_user_info_on_sign_in: false,
            require_email_verification: false,
            authorization_url: None,
            token_url: None,
            jwks_url: None,
            api_url: None,
        }
    }
}

/// A client secret from wherever it is configured to come from: the value, a file
/// (`client_secret_file`) or an environment variable (`client_secret_env`); `None` when none
/// is set.
pub fn resolve_secret(
    provider: &str,
    value: Option<&Secret>,
    file: Option<&str>,
    var: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    let given = [value.is_some(), file.is_some(), var.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(ConfigError::Invalid(format!(
            "{provider}: set one of client_secret, client_secret_file and client_secret_env"
        )));
    }
    if let Some(s) = value {
        return Ok(Some(s.clone()));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(Path::new(path)).map_err(|e| {
            ConfigError::Invalid(format!("{provider}: client_secret_file {path}: {e}"))
        })?;
        return Ok(Some(Secret::new(text.trim())));
    }
    if let Some(var) = var {
        return match env(var).filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(Secret::new(v))),
            None => Err(ConfigError::Invalid(format!(
                "{provider}: client_secret_env names {var}, which is not set"
            ))),
        };
    }
    Ok(None)
}

/// One `[[generic_oauth]]` entry: any OAuth 2.0 or OpenID Connect provider (better-auth's
/// generic-oauth plugin; in 1.7 its providers use the social endpoints).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenericOAuthConfig {
    pub provider_id: String,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// A file holding the client secret (as Docker and Kubernetes mount secrets).
    pub client_secret_file: Option<String>,
    /// An environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// The OpenID Connect discovery document; fills in the endpoints not given below.
    pub discovery_url: Option<String>,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub user_info_url: Option<String>,
    pub scopes: Vec<String>,
    /// PKCE (S256) on the authorization request.
    pub pkce: bool,
    /// How the client authenticates at the token endpoint: `post` (client_secret_post) or
    /// `basic` (client_secret_basic).
    pub authentication: String,
    pub prompt: Option<String>,
    pub access_type: Option<String>,
    pub response_mode: Option<String>,
    /// Extra query parameters on the authorization request.
    pub authorization_url_params: BTreeMap<String, String>,
    pub redirect_uri: Option<String>,
    pub disable_sign_up: bool,
    pub disable_implicit_sign_up: bool,
    /// Copy the provider's name, picture and email to the user at every sign-in.
    pub override_user_info: bool,
    /// Sign in only users whose email is verified (`requireEmailVerification`).
    pub require_email_verification: bool,
    /// Refuse to start without an issuer and key set from discovery to check ID tokens.
    pub require_id_token_verification: bool,
    /// Do not send (and check) a `nonce` even though ID tokens are verified.
    pub disable_id_token_nonce_binding: bool,
    /// Do not send users to the provider's `end_session_endpoint` at sign-out.
    pub disable_provider_logout: bool,
    /// Where the provider returns users after sign-out, when sign-out does not say.
    pub post_logout_redirect_uri: Option<String>,
}

impl Default for GenericOAuthConfig {
    fn default() -> Self {
        Self {
            provider_id: String::new(),
            client_id: String::new(),
            client_secret: None,
            client_secret_file: None,
            client_secret_env: None,
            discovery_url: None,
            authorization_url: None,
            token_url: None,
            user_info_url: None,
            scopes: Vec::new(),
            pkce: true,
            authentication: "post".into(),
            prompt: None,
            access_type: None,
            response_mode: None,
            authorization_url_params: BTreeMap::new(),
            redirect_uri: None,
            disable_sign_up: false,
            disable_implicit_sign_up: false,
            override_user_info: false,
            require_email_verification: false,
            require_id_token_verification: false,
            disable_id_token_nonce_binding: false,
            disable_provider_logout: false,
            post_logout_redirect_uri: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_come_from_a_value_a_file_or_a_variable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("google");
        std::fs::write(&file, "from-file\n").unwrap();
        let env = |name: &str| (name == "GOOGLE_SECRET").then(|| "from-env".to_owned());
        let value = Secret::new("from-value");
        let got = |v, f: Option<&str>, e: Option<&str>| {
            resolve_secret("google", v, f, e, env).map(|s| s.map(|s| s.expose().to_owned()))
        };
        assert_eq!(
            got(Some(&value), None, None).unwrap().as_deref(),
            Some("from-value")
        );
        let path = file.to_str().unwrap();
        assert_eq!(
            got(None, Some(path), None).unwrap().as_deref(),
            Some("from-file")
        );
        assert_eq!(
            got(None, None, Some("GOOGLE_SECRET")).unwrap().as_deref(),
            Some("from-env")
        );
        assert_eq!(got(None, None, None).unwrap(), None);
        let unset = got(None, None, Some("NOT_SET")).unwrap_err().to_string();
        assert!(
            unset.contains("NOT_SET") && !unset.contains("from-"),
            "{unset}"
        );
        assert!(
            got(Some(&value), Some(path), None).is_err(),
            "two sources are ambiguous"
        );
        let missing = got(None, Some("/nonexistent/secret"), None)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/secret"), "{missing}");
    }

    #[test]
    fn secrets_never_print() {
        let p = ProviderConfig {
            client_secret: Some(Secret::new("hunter2-secret")),
            ..ProviderConfig::default()
        };
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
