//! Verify authkeep (and better-auth) credentials in a Rust API server.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use authkeep_verify::{AuthUser, Verifier};
//!
//! async fn me(AuthUser(user): AuthUser) -> String { user.email }
//!
//! # async fn run() {
//! let verifier = Verifier::jwt("http://127.0.0.1:3000");            // or Verifier::remote(...)
//! let app: Router = Router::new().route("/me", get(me)).with_state(verifier);
//! # }
//! ```
//!
//! - **jwt**: `Authorization: Bearer <JWT>` checked against the cached JWKS (refetched, at most
//!   every 10 s, when a token names an unknown `kid`); only the configured algorithms (EdDSA by
//!   default), `iss`/`aud` = the auth server's origin unless configured, `exp`/`nbf` enforced.
//! - **remote**: the session cookie or bearer session token is forwarded to `get-session`.
//!
//! Rejections answer 401 with `WWW-Authenticate`; an unreachable auth server or JWKS answers 503.
//! One JWKS fetch serves all the requests waiting for it; after a failed fetch the verifier
//! backs off (1 s, doubling up to 15 s), answering from its cached keys or with an immediate 503
//! meanwhile, so an auth-server outage costs one timeout, not one per request.
//!
//! HTTPS uses rustls with the ring provider and the webpki roots, configured on the verifier's own
//! client (no process-wide provider is installed); [`Verifier::http_client`] takes your own.

pub mod jose;
mod jwks;
mod jws;
mod layer;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

pub use layer::{AuthLayer, AuthService};

/// The user behind a request.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a request is not authenticated.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    #[error("authentication unavailable: {0}")]
    Unavailable(String),
}

impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        match self {
            VerifyError::Unauthenticated(reason) => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"authkeep\"")],
                axum::Json(json!({ "message": "Not authenticated", "code": "UNAUTHORIZED", "reason": reason })),
            )
                .into_response(),
            VerifyError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, "2")],
                axum::Json(json!({ "message": "Authentication is temporarily unavailable", "code": "AUTH_UNAVAILABLE" })),
            )
                .into_response(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Jwt,
    Remote,
}

/// How a [`Verifier`] is configured; everything but the JWKS cache.
#[derive(Debug, Clone)]
struct Settings {
    mode: Mode,
    api_url: String,
    issuer: String,
    audience: String,
    algorithms: Vec<&'static str>,
    /// Per request, so it also bounds requests made with a client passed in by the user.
    timeout: Duration,
    jwks: jwks::Policy,
    /// The reason, if the default client could not be built: every verification then answers
    /// `Unavailable` with it instead of the constructor panicking.
    http: Result<reqwest::Client, String>,
    cookie_prefix: String,
}

#[derive(Debug)]
struct Inner {
    settings: Settings,
    jwks: jwks::Cache,
}

/// Verifies requests against one auth server. Cheap to clone; share one per process.
#[derive(Debug, Clone)]
pub struct Verifier(Arc<Inner>);

impl Verifier {
    /// jwt mode against the auth server at `base_url` (its origin, e.g. `https://auth.example.com`).
    pub fn jwt(base_url: &str) -> Self {
        Self::new(Mode::Jwt, base_url)
    }

    /// remote mode: forward the caller's session cookie or bearer token to `get-session`.
    pub fn remote(base_url: &str) -> Self {
        Self::new(Mode::Remote, base_url)
    }

    fn new(mode: Mode, base_url: &str) -> Self {
        let origin = base_url.trim_end_matches('/').to_owned();
        let origin = reqwest::Url::parse(&origin)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or(origin);
        let http = default_http_client().inspect_err(|e| {
            tracing::error!(error = %e, "authkeep-verify: cannot build its HTTP client");
        });
        Self::from_settings(Settings {
            mode,
            api_url: format!("{}/api/auth", base_url.trim_end_matches('/')),
            issuer: origin.clone(),
            audience: origin,
            algorithms: vec!["EdDSA"],
            timeout: Duration::from_secs(3),
            jwks: jwks::Policy {
                ttl: Duration::from_secs(300),
                min_refetch: Duration::from_secs(10),
                backoff_initial: Duration::from_secs(1),
                backoff_max: Duration::from_secs(15),
            },
            http,
            cookie_prefix: "better-auth".into(),
        })
    }

    fn from_settings(settings: Settings) -> Self {
        Verifier(Arc::new(Inner {
            settings,
            jwks: jwks::Cache::default(),
        }))
    }

    /// Builder step. Configuring a clone leaves the other clones as they were; the result starts
    /// with an empty JWKS cache either way (the configuration may name other keys).
    fn with(self, f: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = match Arc::try_unwrap(self.0) {
            Ok(inner) => inner.settings,
            Err(shared) => shared.settings.clone(),
        };
        f(&mut settings);
        Self::from_settings(settings)
    }

    /// Expected `iss` (default: the auth server's origin).
    pub fn issuer(self, issuer: &str) -> Self {
        self.with(|s| s.issuer = issuer.to_owned())
    }

    /// Expected `aud` (default: the auth server's origin).
    pub fn audience(self, audience: &str) -> Self {
        self.with(|s| s.audience = audience.to_owned())
    }

    /// Algorithms to accept, from `EdDSA`, `ES256` and `RS256` (default: `EdDSA`).
    pub fn algorithms(self, algs: &[&'static str]) -> Self {
        let algs = algs
            .iter()
            .copied()
            .filter(|a| matches!(*a, "EdDSA" | "ES256" | "RS256"))
            .collect();
        self.with(|s| s.algorithms = algs)
    }

    /// Timeout of each request for the JWKS and `get-session` (default: 3 s). While the JWKS is
    /// unreachable, one request per backoff interval waits this long; the others fail at once.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|s| s.timeout = timeout)
    }

    /// How long fetched JWKS keys are used before they are refreshed (default: 5 minutes).
    /// Should a refresh fail, the keys keep verifying until a fetch succeeds.
    pub fn jwks_ttl(self, ttl: Duration) -> Self {
        self.with(|s| s.jwks.ttl = ttl)
    }

    /// After a failed JWKS fetch, wait `initial` before fetching again, doubling the wait for
    /// each further consecutive failure up to `max` (default: 1 s, up to 15 s).
    pub fn backoff(self, initial: Duration, max: Duration) -> Self {
        self.with(|s| {
            s.jwks.backoff_initial = initial;
            s.jwks.backoff_max = max.max(initial);
        })
    }

    /// Use this HTTP client for the JWKS and `get-session`, e.g. one that trusts a private CA or
    /// goes through a proxy. The [`timeout`](Self::timeout) still applies to each request.
    ///
    /// By default the verifier builds its own client: rustls with the ring provider and the
    /// Mozilla roots from `webpki-roots`, configured for that client only.
    pub fn http_client(self, client: reqwest::Client) -> Self {
        self.with(|s| s.http = Ok(client))
    }

    /// Who is calling.
    pub async fn verify(&self, headers: &HeaderMap) -> Result<User, VerifyError> {
        match self.0.settings.mode {
            Mode::Jwt => self.verify_jwt(headers).await,
            Mode::Remote => self.verify_remote(headers).await,
        }
    }

    fn http(&self) -> Result<&reqwest::Client, VerifyError> {
        self.0
            .settings
            .http
            .as_ref()
            .map_err(|e| VerifyError::Unavailable(format!("HTTP client: {e}")))
    }

    async fn key(&self, kid: &str) -> Result<Option<jws::PublicKey>, VerifyError> {
        let http = self.http()?;
        let settings = &self.0.settings;
        self.0
            .jwks
            .key(kid, &settings.jwks, || async move {
                let url = format!("{}/jwks", settings.api_url);
                jose::fetch_key_set(http, &url, settings.timeout).await
            })
            .await
    }

    async fn verify_jwt(&self, headers: &HeaderMap) -> Result<User, VerifyError> {
        use VerifyError::Unauthenticated as No;
        let token = bearer(headers).ok_or(No("no bearer token"))?;
        let settings = &self.0.settings;
        let c = jose::verify_signature(token, &settings.algorithms, |kid| async move {
            self.key(&kid).await
        })
        .await?;
        let expect = jose::Expectations {
            algorithms: settings.algorithms.clone(),
            issuers: vec![settings.issuer.clone()],
            audiences: vec![settings.audience.clone()],
            leeway: Duration::ZERO,
            max_age: None,
            required: Vec::new(),
        };
        jose::check_claims(&c, &expect).map_err(No)?;
        let mut user = c.clone();
        user["id"] = c["sub"].clone();
        serde_json::from_value(user).map_err(|_| No("claims do not describe a user"))
    }

    async fn verify_remote(&self, headers: &HeaderMap) -> Result<User, VerifyError> {
        use VerifyError::Unauthenticated as No;
        let mut req = self
            .http()?
            .get(format!(
                "{}/get-session?disableRefresh=true",
                self.0.settings.api_url
            ))
            .timeout(self.0.settings.timeout);
        if let Some(token) = bearer(headers) {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        } else {
            let names = [
                format!("__Secure-{}.session_token", self.0.settings.cookie_prefix),
                format!("{}.session_token", self.0.settings.cookie_prefix),
            ];
            let cookie = headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(';'))
                .map(str::trim)
                .filter(|pair| names.iter().any(|n| pair.starts_with(&format!("{n}="))))
                .collect::<Vec<_>>()
                .join("; ");
            if cookie.is_empty() {
                return Err(No("no session cookie or bearer token"));
            }
            req = req.header(header::COOKIE, cookie);
        }
        let response = req.send().await.map_err(auth_server_unavailable)?;
        if response.status().is_server_error() {
            let status = response.status();
            tracing::warn!(%status, "get-session failed");
            return Err(VerifyError::Unavailable(format!(
                "auth server answered {status}"
            )));
        }
        let body: Value = response.json().await.map_err(auth_server_unavailable)?;
        if body.is_null() {
            return Err(No("no such session"));
        }
        serde_json::from_value(body["user"].clone()).map_err(|_| No("unexpected session shape"))
    }
}

fn auth_server_unavailable(e: reqwest::Error) -> VerifyError {
    let cause = error_chain(&e);
    tracing::warn!(error = %cause, "get-session failed");
    VerifyError::Unavailable(format!("auth server: {cause}"))
}

/// An error and its sources, `: `-separated (reqwest's own message leaves out e.g. the timeout
/// or the TLS failure that caused it). The messages carry URLs, never a token: tokens travel in
/// headers.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

/// The client used unless the user passes their own: see [`http_client_builder`].
fn default_http_client() -> Result<reqwest::Client, String> {
    http_client_builder()?.build().map_err(|e| error_chain(&e))
}

/// A client builder with rustls over ring (the provider the rest of the workspace uses) and
/// the webpki roots, set on this client only: installing a process-wide default provider is
/// the application's business, not a library's. Add timeouts, a redirect policy or extra
/// roots before building.
pub fn http_client_builder() -> Result<reqwest::ClientBuilder, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| error_chain(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder().tls_backend_preconfigured(tls))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// The verified user; rejects the request (401 or 503) otherwise.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

/// The verified user, or `None` when the request carries no valid credential (503 still rejects).
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<User>);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser
where
    Verifier: FromRef<S>,
{
    type Rejection = VerifyError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<User>() {
            return Ok(AuthUser(user.clone())); // already verified by AuthLayer
        }
        Verifier::from_ref(state)
            .verify(&parts.headers)
            .await
            .map(AuthUser)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MaybeAuthUser
where
    Verifier: FromRef<S>,
{
    type Rejection = VerifyError;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match AuthUser::from_request_parts(parts, state).await {
            Ok(AuthUser(u)) => Ok(MaybeAuthUser(Some(u))),
            Err(VerifyError::Unauthenticated(_)) => Ok(MaybeAuthUser(None)),
            Err(e) => Err(e),
        }
    }
}
