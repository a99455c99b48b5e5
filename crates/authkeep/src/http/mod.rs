//! The better-auth-compatible HTTP surface: `router(app)` serves `/api/auth/*` plus `/health`,
//! `/ready` and (when enabled) a small status page at `/`, with request ids, access logs,
//! request metrics and CORS for trusted origins. `metrics_router(app)` serves `/metrics` for
//! the separate metrics listener.

pub mod body;
pub mod client_ip;
pub mod cookie_cache;
pub mod cookies;
mod endpoint;
pub mod error;
pub mod exchange;
mod home;
mod middleware;
pub mod open_api;
pub mod origin;
pub mod rate_limit;
pub mod router;
pub mod routes;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::auth::Auth;
use crate::report::Report;
use body::Limits;
use cookies::CookieSettings;
use origin::TrustedOrigins;

/// How the HTTP layer behaves; built from the configuration by the process layer.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    pub base_path: String,
    pub limits: Limits,
    pub csrf: CsrfCheck,
    /// How the client IP is found.
    pub ip: client_ip::IpPolicy,
    pub bearer: BearerPolicy,
    /// Send a fresh JWT in `set-auth-jwt` with every `get-session` (jwt plugin).
    pub set_jwt_header: bool,
    /// Serve the status page at `/` (off when the base path is shared with an app).
    pub home_page: bool,
    /// better-auth's openAPI plugin.
    pub open_api: open_api::OpenApiPolicy,
}

/// better-auth's Origin/CSRF checks, on unless `advanced.disableCSRFCheck`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfCheck {
    On,
    Off,
}

/// better-auth's bearer plugin: `Authorization: Bearer` wherever the session cookie works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerPolicy {
    Off,
    /// Accept the signed `token.signature` form, and the bare token too unless signatures are
    /// required.
    On {
        require_signature: bool,
    },
}

/// Everything a request needs, shared by all requests. No globals: tests build their own.
#[derive(Debug)]
pub struct App {
    pub auth: Auth,
    pub cookies: CookieSettings,
    pub origins: TrustedOrigins,
    pub policy: HttpPolicy,
    /// better-auth's rate limiter (off: `None`).
    pub limiter: Option<rate_limit::RateLimiter>,
}

impl App {
    /// The caller's session token: a valid bearer credential wins over the cookie, as with
    /// better-auth's bearer plugin (which rewrites the cookie header from it).
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        let bearer = match self.policy.bearer {
            BearerPolicy::On { require_signature } => {
                self.cookies.bearer_token(headers, require_signature)
            }
            BearerPolicy::Off => None,
        };
        bearer.or_else(|| self.cookies.session_token(headers))
    }
}

pub fn router(app: Arc<App>) -> Router {
    let mut router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready));
    if app.policy.home_page {
        router = router.route("/", get(home::page));
    }
    router
        .fallback(endpoint::auth_endpoint)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::cors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::count,
        ))
        .layer(axum::middleware::from_fn(middleware::request_context))
        .with_state(app)
}

/// The metrics listener's router: `GET /metrics` and nothing else (an empty 404).
pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(app)
}

/// `GET /metrics`: Prometheus' text exposition format.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    let text = app.auth.metrics.render(app.auth.pool_usage());
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// `GET /health`: the process is up.
async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

/// `GET /ready`: the database (and Redis, when it is the secondary storage) answer within two
/// seconds.
async fn ready(State(app): State<Arc<App>>) -> Response {
    let limit = Duration::from_secs(2);
    let (database, secondary) = tokio::join!(
        tokio::time::timeout(limit, app.auth.ping()),
        tokio::time::timeout(limit, app.auth.ping_secondary()),
    );
    let database = failure("the database", &database);
    let secondary = failure("the secondary storage (Redis)", &secondary);
    if database.is_none() && secondary.is_none() {
        return json_response(StatusCode::OK, &json!({ "status": "ready" }));
    }
    let mut body = json!({ "status": "unavailable" });
    if database.is_some() {
        body["database"] = json!("unreachable");
    }
    if secondary.is_some() {
        body["secondary_storage"] = json!("unreachable");
    }
    body["reason"] = json!(
        [database, secondary]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ")
    );
    let mut r = json_response(StatusCode::SERVICE_UNAVAILABLE, &body);
    r.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("2"),
    );
    r
}

/// Why a readiness check failed, in a word an operator can act on (no addresses or
/// credentials); `None` when it passed.
fn failure<E: std::error::Error + 'static>(
    what: &str,
    outcome: &Result<Result<(), E>, tokio::time::error::Elapsed>,
) -> Option<String> {
    match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => {
            tracing::warn!(error = %Report(e), "readiness check failed");
            Some(e.to_string())
        }
        Err(_) => {
            tracing::warn!("readiness check failed: {what} did not answer in 2 s");
            Some(format!("{what} did not answer within 2 s"))
        }
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
