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

mod jws;
mod layer;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::RwLock;

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

#[derive(Debug, Default)]
struct Jwks {
    keys: HashMap<String, jws::PublicKey>,
    fetched: Option<Instant>,
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    api_url: String,
    issuer: String,
    audience: String,
    algorithms: Vec<&'static str>,
    jwks_ttl: Duration,
    min_refetch: Duration,
    http: reqwest::Client,
    jwks: RwLock<Jwks>,
    cookie_prefix: String,
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
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .expect("HTTP client");
        Verifier(Arc::new(Inner {
            mode,
            api_url: format!("{}/api/auth", base_url.trim_end_matches('/')),
            issuer: origin.clone(),
            audience: origin,
            algorithms: vec!["EdDSA"],
            jwks_ttl: Duration::from_secs(300),
            min_refetch: Duration::from_secs(10),
            http,
            jwks: RwLock::new(Jwks::default()),
            cookie_prefix: "better-auth".into(),
        }))
    }

    fn with(self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.0).expect("configure a Verifier before cloning it");
        f(&mut inner);
        Verifier(Arc::new(inner))
    }

    /// Expected `iss` (default: the auth server's origin).
    pub fn issuer(self, issuer: &str) -> Self {
        self.with(|i| i.issuer = issuer.to_owned())
    }

    /// Expected `aud` (default: the auth server's origin).
    pub fn audience(self, audience: &str) -> Self {
        self.with(|i| i.audience = audience.to_owned())
    }

    /// Algorithms to accept, from `EdDSA`, `ES256` and `RS256` (default: `EdDSA`).
    pub fn algorithms(self, algs: &[&'static str]) -> Self {
        let algs = algs
            .iter()
            .copied()
            .filter(|a| matches!(*a, "EdDSA" | "ES256" | "RS256"))
            .collect();
        self.with(|i| i.algorithms = algs)
    }

    /// Request timeout for the JWKS and `get-session`.
    pub fn timeout(self, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("HTTP client");
        self.with(|i| i.http = http)
    }

    /// Who is calling.
    pub async fn verify(&self, headers: &HeaderMap) -> Result<User, VerifyError> {
        match self.0.mode {
            Mode::Jwt => self.verify_jwt(headers).await,
            Mode::Remote => self.verify_remote(headers).await,
        }
    }

    async fn key(&self, kid: &str) -> Result<Option<jws::PublicKey>, VerifyError> {
        {
            let jwks = self.0.jwks.read().await;
            let fresh = jwks.fetched.is_some_and(|t| t.elapsed() < self.0.jwks_ttl);
            if fresh && let Some(k) = jwks.keys.get(kid) {
                return Ok(Some(k.clone()));
            }
        }
        let mut jwks = self.0.jwks.write().await;
        let age = jwks.fetched.map(|t| t.elapsed());
        let due = age.is_none_or(|a| {
            a >= self.0.jwks_ttl || (!jwks.keys.contains_key(kid) && a >= self.0.min_refetch)
        });
        if due {
            match self.fetch_jwks().await {
                Ok(keys) => {
                    jwks.keys = keys;
                    jwks.fetched = Some(Instant::now());
                }
                Err(e) if !jwks.keys.contains_key(kid) => return Err(e),
                Err(_) => {} // keep verifying with the keys we have
            }
        }
        Ok(jwks.keys.get(kid).cloned())
    }

    async fn fetch_jwks(&self) -> Result<HashMap<String, jws::PublicKey>, VerifyError> {
        let unavailable = |e: reqwest::Error| VerifyError::Unavailable(format!("JWKS: {e}"));
        let doc: Value = self
            .0
            .http
            .get(format!("{}/jwks", self.0.api_url))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        Ok(doc["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(jws::PublicKey::from_jwk)
            .collect())
    }

    async fn verify_jwt(&self, headers: &HeaderMap) -> Result<User, VerifyError> {
        use VerifyError::Unauthenticated as No;
        let token = bearer(headers).ok_or(No("no bearer token"))?;
        let parts = jws::split(token).ok_or(No("malformed token"))?;
        let alg = parts.header["alg"].as_str().unwrap_or("");
        if !self.0.algorithms.contains(&alg) {
            return Err(No("algorithm not allowed"));
        }
        let kid = parts.header["kid"].as_str().ok_or(No("token has no kid"))?;
        let key = self.key(kid).await?.ok_or(No("unknown signing key"))?;
        if key.algorithm() != alg || !key.verify(parts.signing_input.as_bytes(), &parts.signature) {
            return Err(No("bad signature"));
        }
        let c = &parts.claims;
        let now = Utc::now().timestamp();
        if c["exp"].as_i64().is_none_or(|exp| exp <= now) {
            return Err(No("token expired"));
        }
        if c["nbf"].as_i64().is_some_and(|nbf| nbf > now) {
            return Err(No("token not yet valid"));
        }
        if c["iss"].as_str() != Some(self.0.issuer.as_str()) {
            return Err(No("wrong issuer"));
        }
        let aud_ok = match &c["aud"] {
            Value::String(a) => *a == self.0.audience,
            Value::Array(list) => list
                .iter()
                .any(|a| a.as_str() == Some(self.0.audience.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err(No("wrong audience"));
        }
        let mut user = c.clone();
        user["id"] = c["sub"].clone();
        serde_json::from_value(user).map_err(|_| No("claims do not describe a user"))
    }

    async fn verify_remote(&self, headers: &HeaderMap) -> Result<User, VerifyError> {
        use VerifyError::Unauthenticated as No;
        let mut req = self.0.http.get(format!(
            "{}/get-session?disableRefresh=true",
            self.0.api_url
        ));
        if let Some(token) = bearer(headers) {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        } else {
            let names = [
                format!("__Secure-{}.session_token", self.0.cookie_prefix),
                format!("{}.session_token", self.0.cookie_prefix),
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
        let response = req
            .send()
            .await
            .map_err(|e| VerifyError::Unavailable(format!("auth server: {e}")))?;
        if response.status().is_server_error() {
            return Err(VerifyError::Unavailable(format!(
                "auth server answered {}",
                response.status()
            )));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| VerifyError::Unavailable(format!("auth server: {e}")))?;
        if body.is_null() {
            return Err(No("no such session"));
        }
        serde_json::from_value(body["user"].clone()).map_err(|_| No("unexpected session shape"))
    }
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
