//! Middleware around every route: request ids and the access log, request metrics, and CORS.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::App;
use super::endpoint::refuse;
use crate::auth::ErrorCode;

/// A request id (the caller's `x-request-id` when it is short and plain, else a new one) on
/// the log span and the response, and one access-log line per request. The span names the
/// route's template (`/reset-password/:token`), never the raw path or query: both can carry
/// tokens. The endpoint fills the template in once it has matched the route.
pub(super) async fn request_context(req: Request, next: Next) -> Response {
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
        .unwrap_or_else(|| crate::crypto::random_hex(8));
    let span = tracing::info_span!("request", id = %id, method = %req.method(), route = tracing::field::Empty);
    if let fixed @ ("/" | "/health" | "/ready") = req.uri().path() {
        span.record("route", fixed);
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

/// The route template a response answered, set by whoever answered it; the metrics label.
#[derive(Debug, Clone, Copy)]
pub(super) struct RouteLabel(pub &'static str);

/// The one label every path that is no route shares, so a scan of random paths adds no series.
pub(super) const UNMATCHED: &str = "unmatched";

/// Counts each request and its latency under its route template and status.
pub(super) async fn count(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let fixed = match req.uri().path() {
        "/health" => Some("/health"),
        "/ready" => Some("/ready"),
        "/" => Some("/"),
        _ => None,
    };
    let start = Instant::now();
    let response = next.run(req).await;
    let label = match response.extensions().get::<RouteLabel>() {
        Some(RouteLabel(label)) => label,
        None => fixed.unwrap_or(UNMATCHED),
    };
    app.auth
        .metrics
        .request(label, response.status().as_u16(), start.elapsed());
    response
}

/// CORS with credentials for exactly the trusted origins. better-auth itself sends no CORS
/// headers, which is why a cross-origin frontend needs them from somewhere: here they are built in.
pub(super) async fn cors(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(origin) = origin else {
        return next.run(req).await;
    };
    let trusted = app.origins.is_trusted_origin(&origin);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        if !trusted {
            super::origin::log_refusal_of(ErrorCode::InvalidOrigin, req.headers());
            return refuse(ErrorCode::InvalidOrigin.into());
        }
        let allow_headers = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("content-type, authorization"));
        let mut r = Response::new(axum::body::Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
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
        r.extensions_mut().insert(RouteLabel("preflight"));
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
