//! The better-auth-compatible HTTP surface: `router(app)` serves `/api/auth/*` plus `/health`
//! and `/ready`, with request ids, access logs and CORS for trusted origins.

pub mod body;
pub mod cookies;
pub mod error;
pub mod exchange;
pub mod origin;
pub mod router;
pub mod routes;
pub mod session;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tracing::Instrument;

use crate::auth::{Auth, ErrorCode};
use crate::config::{Config, LimitsConfig, Secret};
use cookies::CookieSettings;
use error::ApiError;
use exchange::{Exchange, Reply, ReplyBody};
use origin::TrustedOrigins;
use router::Route;

/// Everything a request needs, shared by all requests. No globals: tests build their own.
#[derive(Debug)]
pub struct App {
    pub auth: Auth,
    pub cookies: CookieSettings,
    pub origins: TrustedOrigins,
    pub base_path: String,
    pub limits: LimitsConfig,
    pub csrf_disabled: bool,
    pub ip_headers: Vec<String>,
    pub bearer: crate::config::BearerConfig,
    pub set_jwt_header: bool,
}

impl App {
    pub fn new(auth: Auth, cfg: &Config, secret: Secret) -> Self {
        Self {
            cookies: CookieSettings {
                secret,
                prefix: cfg.advanced.cookie_prefix.clone(),
                secure: cfg.secure_cookies(),
                session_max_age: cfg.session.expires_in,
            },
            origins: TrustedOrigins::new(&cfg.base_origin(), &cfg.trusted_origins),
            base_path: cfg.base_path.clone(),
            limits: cfg.limits.clone(),
            csrf_disabled: cfg.advanced.disable_csrf_check,
            ip_headers: cfg
                .advanced
                .ip_address_headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            bearer: cfg.bearer.clone(),
            set_jwt_header: cfg.jwt.set_jwt_header,
            auth,
        }
    }
}

impl App {
    /// The caller's session token: a valid bearer credential wins over the cookie, as with
    /// better-auth's bearer plugin (which rewrites the cookie header from it).
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        self.bearer
            .enabled
            .then(|| {
                self.cookies
                    .bearer_token(headers, self.bearer.require_signature)
            })
            .flatten()
            .or_else(|| self.cookies.session_token(headers))
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .fallback(auth_endpoint)
        .layer(middleware::from_fn_with_state(app.clone(), cors))
        .layer(middleware::from_fn(request_context))
        .with_state(app)
}

/// `GET /health`: the process is up.
async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

/// `GET /ready`: the database answers within two seconds.
async fn ready(State(app): State<Arc<App>>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), app.auth.store.ping()).await {
        Ok(Ok(())) => json_response(StatusCode::OK, &json!({ "status": "ready" })),
        outcome => {
            let detail = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".into(),
            };
            tracing::warn!(%detail, "readiness check failed");
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({ "status": "unavailable", "database": "unreachable" }),
            )
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

/// Routes a request under the base path to its better-auth endpoint.
async fn auth_endpoint(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let route = parts
        .uri
        .path()
        .strip_prefix(app.base_path.as_str())
        .filter(|p| p.starts_with('/'))
        .and_then(|path| Some((path, Route::find(&parts.method, path)?)));
    let Some((path, route)) = route else {
        tracing::Span::current().record("route", "unmatched");
        return empty(StatusCode::NOT_FOUND);
    };
    tracing::Span::current().record("route", route.template());
    let bytes = if parts.method == Method::GET {
        Default::default()
    } else {
        match read_body(&parts.headers, body, app.limits.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => return finish(Err(e), Vec::new(), Vec::new()),
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = match body::parse(&bytes, content_type, route.media()) {
        Ok(v) => v,
        Err(e) => return finish(Err(e), Vec::new(), Vec::new()),
    };
    let mut ex = Exchange::new(
        parts.method,
        path,
        parts.headers,
        parts.uri.query(),
        parsed,
        &app.ip_headers,
    );
    let query_callback = ex.query.get("callbackURL").cloned();
    let result = match origin::check_request(
        &app.origins,
        &ex.method,
        &ex.headers,
        ex.body.as_ref(),
        query_callback.as_deref(),
        app.csrf_disabled,
    ) {
        Ok(()) => route.call(&app, &mut ex).await,
        Err(e) => Err(e),
    };
    finish(result, ex.set_cookies, ex.response_headers)
}

fn payload_too_large(limit: usize) -> ApiError {
    ApiError::Coded {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "PAYLOAD_TOO_LARGE",
        message: format!("Request body is larger than {limit} bytes"),
    }
}

/// Past the limit, up to this much more is read and thrown away before answering 413, so a
/// client still sending its body sees the answer instead of a reset connection. Bigger bodies
/// are cut off: the work per request stays bounded.
const DRAIN_LIMIT: usize = 1024 * 1024;

async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut body = body;
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::bad_request("The request body could not be read"));
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > limit + DRAIN_LIMIT {
            break;
        }
        if seen <= limit && declared.is_none_or(|n| n <= limit) {
            buf.extend_from_slice(&data);
        }
    }
    if seen > limit || declared.is_some_and(|n| n > limit) {
        return Err(payload_too_large(limit));
    }
    Ok(buf.into())
}

fn empty(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// Turns an endpoint's outcome into the response, with the cookies and headers it set.
fn finish(
    result: Result<Reply, ApiError>,
    set_cookies: Vec<String>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
) -> Response {
    let mut response = match result {
        Ok(Reply {
            status,
            body: ReplyBody::Json(v),
        }) => json_response(status, &v),
        Ok(Reply {
            status,
            body: ReplyBody::Html(h),
        }) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            h,
        )
            .into_response(),
        Ok(Reply {
            status,
            body: ReplyBody::Redirect(location),
        }) => match HeaderValue::from_str(&location) {
            Ok(loc) => {
                let mut r = (status, [(header::CONTENT_TYPE, "application/json")]).into_response();
                r.headers_mut().insert(header::LOCATION, loc);
                r
            }
            Err(_) => finish(
                Err(ErrorCode::InvalidCallbackUrl.into()),
                Vec::new(),
                Vec::new(),
            ),
        },
        Err(e) => {
            if let ApiError::Internal(detail) = &e {
                tracing::error!(%detail, "internal error");
            }
            let mut r = match e.body() {
                Some(b) => json_response(e.status(), &b),
                None if matches!(e, ApiError::Disabled) => {
                    (e.status(), [(header::CONTENT_TYPE, "application/json")]).into_response()
                }
                None => empty(e.status()),
            };
            if matches!(e, ApiError::Unavailable) {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            r
        }
    };
    let h = response.headers_mut();
    for (name, value) in headers {
        h.append(name, value);
    }
    for c in set_cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A request id (the caller's `x-request-id` when it is short and plain, else a new one) on
/// the log span and the response, and one access-log line per request. The span names the
/// route's template (`/reset-password/:token`), never the raw path or query: both can carry
/// tokens. The endpoint fills the template in once it has matched the route.
async fn request_context(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| crate::auth::crypto::random_hex(8));
    let span = tracing::info_span!("request", id = %id, method = %req.method(), route = tracing::field::Empty);
    if let probe @ ("/health" | "/ready") = req.uri().path() {
        span.record("route", probe);
    }
    let start = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            ms = start.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// CORS with credentials for exactly the trusted origins. better-auth itself sends no CORS
/// headers, which is why a cross-origin frontend needs them from somewhere: here they are built in.
async fn cors(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    let trusted = app.origins.is_trusted(&origin, false);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !trusted {
            return finish(
                Err(crate::auth::ErrorCode::InvalidOrigin.into()),
                Vec::new(),
                Vec::new(),
            );
        }
        let allow_headers = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("content-type, authorization"));
        let mut r = empty(StatusCode::NO_CONTENT);
        let h = r.headers_mut();
        add_cors_headers(h, &origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return r;
    }
    let mut r = next.run(req).await;
    if trusted {
        add_cors_headers(r.headers_mut(), &origin);
    }
    r
}

fn add_cors_headers(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("set-auth-token, set-auth-jwt"),
    );
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}
