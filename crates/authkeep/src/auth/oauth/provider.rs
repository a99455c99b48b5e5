//! A configured provider and its endpoints: fixed, or from OpenID Connect discovery (checked,
//! retried after a pause when it fails).

use std::sync::Arc;

use tokio::sync::OnceCell;

use super::client::{ClientAuth, FetchError, OAuthHttp};
use crate::crypto::Secret;
use authkeep_verify::jose::KeySet;

/// Which built-in behaviour a provider has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Google,
    GitHub,
    /// better-auth's generic-oauth plugin: any OAuth 2.0 or OpenID Connect provider.
    Generic,
}

/// Where a provider's endpoints are.
#[derive(Debug, Clone, Default)]
pub struct EndpointUrls {
    pub authorization: Option<String>,
    pub token: Option<String>,
    pub user_info: Option<String>,
    /// GitHub: `/user/emails`.
    pub emails: Option<String>,
    pub jwks: Option<String>,
    pub end_session: Option<String>,
}

/// Everything configurable about a provider (built by the process layer).
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub id: String,
    pub kind: Kind,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// The scopes sent, defaults included (the body's are added per request).
    pub scopes: Vec<String>,
    pub prompt: Option<String>,
    pub access_type: Option<String>,
    pub response_mode: Option<String>,
    pub hd: Option<String>,
    /// Fixed extra authorization parameters (Google's `include_granted_scopes`, generic
    /// `authorization_url_params`).
    pub extra_params: Vec<(String, String)>,
    pub redirect_uri: Option<String>,
    pub pkce: bool,
    pub client_auth: ClientAuth,
    pub urls: EndpointUrls,
    /// Generic: the discovery document filling in what `urls` leaves out.
    pub discovery_url: Option<String>,
    pub disable_sign_up: bool,
    pub disable_implicit_sign_up: bool,
    pub disable_id_token_sign_in: bool,
    pub override_user_info: bool,
    pub require_email_verification: bool,
    pub require_id_token_verification: bool,
    pub nonce_binding: bool,
    pub provider_logout: bool,
    pub post_logout_redirect_uri: Option<String>,
}

/// The endpoints in use, after discovery.
#[derive(Debug)]
pub struct Endpoints {
    pub authorization: String,
    pub token: String,
    pub user_info: Option<String>,
    pub emails: Option<String>,
    pub end_session: Option<String>,
    /// RFC 9207: the issuer the callback's `iss` must name (discovered providers only).
    pub issuer: Option<String>,
    /// The provider promises `iss` in every callback
    /// (`authorization_response_iss_parameter_supported`): one without it is refused.
    pub iss_required: bool,
    /// The provider speaks OpenID Connect (its discovery lists ID-token algorithms): `openid`
    /// is always requested.
    pub oidc: bool,
    /// How ID tokens are checked, when they can be.
    pub id_tokens: Option<IdTokenKeys>,
}

/// A key set and what its ID tokens must say.
#[derive(Debug)]
pub struct IdTokenKeys {
    pub keys: KeySet,
    pub issuers: Vec<String>,
    pub algorithms: Vec<&'static str>,
    /// Google: the oldest token accepted at ID-token sign-in.
    pub max_age: Option<std::time::Duration>,
}

#[derive(Debug)]
pub struct Provider {
    pub settings: ProviderSettings,
    endpoints: OnceCell<Arc<Endpoints>>,
    /// When discovery last failed: it is not tried again for a few seconds, so requests do not
    /// queue behind a provider that is down, each waiting out the timeout.
    failed_at: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long a failed discovery is not retried.
const DISCOVERY_BACKOFF: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a provider could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("discovery: {0}")]
    Discovery(String),
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

impl Provider {
    pub fn new(settings: ProviderSettings) -> Self {
        Provider {
            settings,
            endpoints: OnceCell::new(),
            failed_at: std::sync::Mutex::new(None),
        }
    }

    pub fn id(&self) -> &str {
        &self.settings.id
    }

    /// The endpoints, discovering them on first use. A failed discovery is tried again by
    /// the next request (better-auth retries a provider whose start-up discovery failed).
    pub async fn endpoints(&self, http: &OAuthHttp) -> Result<Arc<Endpoints>, ProviderError> {
        if let Some(e) = self.endpoints.get() {
            return Ok(e.clone());
        }
        let recently_failed =
            |at: &Option<std::time::Instant>| at.is_some_and(|t| t.elapsed() < DISCOVERY_BACKOFF);
        // A poisoned lock still holds a plain timestamp.
        let lock = || {
            self.failed_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if recently_failed(&lock()) {
            return Err(ProviderError::Discovery(
                "failed moments ago; retried shortly".into(),
            ));
        }
        let result = self
            .endpoints
            .get_or_try_init(|| async { self.resolve(http).await.map(Arc::new) })
            .await
            .cloned();
        if result.is_err() {
            *lock() = Some(std::time::Instant::now());
        }
        result
    }

    async fn resolve(&self, http: &OAuthHttp) -> Result<Endpoints, ProviderError> {
        let s = &self.settings;
        let u = &s.urls;
        let keys = |url: &str| -> Result<KeySet, ProviderError> {
            Ok(KeySet::new(url, http.client()?.clone(), http.timeout()))
        };
        let missing = |what: &str| ProviderError::Discovery(format!("no {what} endpoint"));
        match s.kind {
            Kind::Google | Kind::GitHub => Ok(Endpoints {
                authorization: u
                    .authorization
                    .clone()
                    .ok_or_else(|| missing("authorization"))?,
                token: u.token.clone().ok_or_else(|| missing("token"))?,
                user_info: u.user_info.clone(),
                emails: u.emails.clone(),
                end_session: None,
                issuer: None,
                iss_required: false,
                oidc: false,
                id_tokens: match &u.jwks {
                    Some(jwks) => Some(IdTokenKeys {
                        keys: keys(jwks)?,
                        issuers: GOOGLE_ISSUERS.map(String::from).to_vec(),
                        algorithms: vec!["RS256"],
                        max_age: Some(std::time::Duration::from_secs(3600)),
                    }),
                    None => None,
                },
            }),
            Kind::Generic => {
                let doc = match &s.discovery_url {
                    Some(url) => Some(discover(http, url).await?),
                    None => None,
                };
                let https_only = s
                    .discovery_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https:"));
                let field = |k: &str| {
                    doc.as_ref()
                        .and_then(|d| d.get(k))
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned)
                };
                // Discovered endpoints are where users are sent and where the client secret
                // goes: web URLs only (no `javascript:`), and https when discovery was.
                let endpoint = |k: &str| -> Result<Option<String>, ProviderError> {
                    let Some(v) = field(k) else { return Ok(None) };
                    match url::Url::parse(&v) {
                        Ok(u) if u.scheme() == "https" || (u.scheme() == "http" && !https_only) => {
                            Ok(Some(v))
                        }
                        _ => Err(ProviderError::Discovery(format!(
                            "{k} {v:?} is not an {} URL",
                            if https_only { "https" } else { "http(s)" }
                        ))),
                    }
                };
                let algorithms: Vec<&'static str> = doc
                    .as_ref()
                    .and_then(|d| d["id_token_signing_alg_values_supported"].as_array())
                    .map(|algs| {
                        algs.iter()
                            .filter_map(|a| match a.as_str() {
                                Some("RS256") => Some("RS256"),
                                Some("ES256") => Some("ES256"),
                                Some("EdDSA") => Some("EdDSA"),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let oidc = doc.as_ref().is_some_and(|d| {
                    d["id_token_signing_alg_values_supported"]
                        .as_array()
                        .is_some_and(|a| !a.is_empty())
                });
                let issuer = field("issuer");
                let id_tokens = match (endpoint("jwks_uri")?, &issuer) {
                    (Some(jwks), Some(iss)) => Some(IdTokenKeys {
                        keys: keys(&jwks)?,
                        issuers: vec![iss.clone()],
                        // A provider listing only algorithms authkeep cannot check still gets
                        // its tokens refused rather than accepted unchecked.
                        algorithms,
                        max_age: None,
                    }),
                    _ => None,
                };
                if s.require_id_token_verification && id_tokens.is_none() {
                    return Err(ProviderError::Discovery(
                        "require_id_token_verification is set, but discovery gave no issuer and jwks_uri".into(),
                    ));
                }
                Ok(Endpoints {
                    authorization: match &u.authorization {
                        Some(a) => a.clone(),
                        None => endpoint("authorization_endpoint")?
                            .ok_or_else(|| missing("authorization"))?,
                    },
                    token: match &u.token {
                        Some(t) => t.clone(),
                        None => endpoint("token_endpoint")?.ok_or_else(|| missing("token"))?,
                    },
                    user_info: match &u.user_info {
                        Some(x) => Some(x.clone()),
                        None => endpoint("userinfo_endpoint")?,
                    },
                    emails: None,
                    end_session: match &u.end_session {
                        Some(x) => Some(x.clone()),
                        None => endpoint("end_session_endpoint")?,
                    },
                    iss_required: doc.as_ref().is_some_and(|d| {
                        d["authorization_response_iss_parameter_supported"]
                            == serde_json::Value::Bool(true)
                    }),
                    issuer,
                    oidc,
                    id_tokens,
                })
            }
        }
    }

    /// Whether the redirect flow sends and checks a `nonce`: generic providers whose ID tokens
    /// are verified (better-auth's `requiresIdTokenNonce`).
    pub fn requires_nonce(&self, endpoints: &Endpoints) -> bool {
        self.settings.kind == Kind::Generic
            && endpoints.id_tokens.is_some()
            && self.settings.nonce_binding
    }
}

/// The discovery document at `url`. Its `issuer` must be a URL.
async fn discover(http: &OAuthHttp, url: &str) -> Result<serde_json::Value, ProviderError> {
    let doc = http.get_json(url, None, None).await?;
    if !doc.is_object() {
        return Err(ProviderError::Discovery(format!(
            "{url}: not a JSON object"
        )));
    }
    if let Some(iss) = doc.get("issuer").and_then(serde_json::Value::as_str)
        && url::Url::parse(iss).is_err()
    {
        return Err(ProviderError::Discovery(format!(
            "{url}: the issuer is not a URL"
        )));
    }
    Ok(doc)
}
