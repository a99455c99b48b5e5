//! Social sign-in (better-auth's `socialProviders` and generic-oauth plugin): Google, GitHub
//! and any OAuth 2.0 / OpenID Connect provider, with better-auth's state, account rows and
//! linking rules.
//!
//! - `provider`: providers and their endpoints (discovery);
//! - `authorize`: the authorization URL and the end-session URL;
//! - `exchange`: code exchange and refresh at the token endpoint, ID-token checks;
//! - `profile`: who the user is, per provider;
//! - `state`: the `state` cookie and `auth-state:` row;
//! - `link`: find, create or link the user at sign-in (better-auth's `handleOAuthUserInfo`);
//! - `linking`: `link-social`'s explicit links;
//! - `flow`: sign-in start and the callback, end to end;
//! - `id_token`: ID-token sign-in and linking (One Tap, native apps);
//! - `logout`: the provider's end-session URL at sign-out;
//! - `tokens`: `get-access-token`, `refresh-token`, `account-info`, `unlink-account`;
//! - `client`: bounded HTTP to providers.

pub mod authorize;
pub mod client;
pub mod exchange;
pub mod flow;
pub mod id_token;
pub mod link;
pub mod linking;
pub mod logout;
pub mod profile;
pub mod provider;
pub mod state;
pub mod tokens;

use std::sync::Arc;

use crate::crypto::{SealError, SealingKey};
use client::OAuthHttp;
use provider::Provider;

/// better-auth's `account.accountLinking`.
#[derive(Debug, Clone)]
pub struct LinkingPolicy {
    pub enabled: bool,
    pub trusted_providers: Vec<String>,
    pub require_local_email_verified: bool,
    pub allow_different_emails: bool,
    pub disable_implicit_linking: bool,
    pub update_user_info_on_link: bool,
    pub allow_unlinking_all: bool,
}

impl Default for LinkingPolicy {
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

impl LinkingPolicy {
    pub fn trusts(&self, provider_id: &str) -> bool {
        self.trusted_providers.iter().any(|p| p == provider_id)
    }
}

/// The providers and how their accounts are kept.
#[derive(Debug, Clone)]
pub struct Social {
    pub providers: Vec<Arc<Provider>>,
    pub linking: LinkingPolicy,
    /// Store access and refresh tokens encrypted (`account.encryptOAuthTokens`).
    pub encrypt_tokens: bool,
    /// Replace stored tokens at each sign-in (`account.updateAccountOnSignIn`).
    pub update_account_on_sign_in: bool,
    pub http: OAuthHttp,
    /// better-auth's `symmetricEncrypt` key for tokens at rest.
    pub token_key: SealingKey,
    /// Encrypts the linking session's token inside a link-social state.
    pub link_key: SealingKey,
    /// Where callbacks and error redirects go: `<base URL><base path>`.
    pub api_url: String,
    /// The default `callbackURL`: the base URL's origin, as better-auth defaults it.
    pub origin: String,
}

impl Social {
    pub fn provider(&self, id: &str) -> Option<&Arc<Provider>> {
        self.providers.iter().find(|p| p.id() == id)
    }

    /// `<base URL><base path>/callback/<id>`, the redirect URI registered with providers.
    pub fn redirect_uri(&self, provider: &Provider) -> String {
        format!("{}/callback/{}", self.api_url, provider.id())
    }

    /// better-auth's default error page.
    pub fn default_error_url(&self) -> String {
        format!("{}/error", self.api_url)
    }

    /// A token as it is to be stored (sealed when `encrypt_oauth_tokens` is on).
    pub fn store_token(&self, token: Option<&str>) -> Result<Option<String>, SealError> {
        match token {
            Some(t) if self.encrypt_tokens => self.token_key.seal(t).map(Some),
            other => Ok(other.map(str::to_owned)),
        }
    }

    /// A stored token in the clear. With encryption on, a value that does not look encrypted
    /// (written before it was turned on) is returned as it is, as better-auth does.
    pub fn read_token(&self, stored: &str) -> Result<String, SealError> {
        let looks_sealed = stored.starts_with("$ba$")
            || (stored.len().is_multiple_of(2)
                && !stored.is_empty()
                && stored.bytes().all(|b| b.is_ascii_hexdigit()));
        if self.encrypt_tokens && looks_sealed {
            self.token_key.open(stored)
        } else {
            Ok(stored.to_owned())
        }
    }
}
