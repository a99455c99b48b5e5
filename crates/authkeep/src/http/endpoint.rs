//! Everything under the base path: match the route, read and parse the body (bounded), run
//! better-auth's origin check, call the handler, and turn its outcome into the response.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::exchange::{Exchange, Reply, ReplyBody};
use super::middleware::{RouteLabel, UNMATCHED};
use super::router::Route;
use super::{App, body, json_response, origin, rate_limit};
use crate::auth::ErrorCode;
use crate::metrics::Outcome;
use crate::report::Report;

/// Routes a request under the base path to its better-auth endpoint.
pub(super) async fn auth_endpoint(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = app.policy.ip.resolve(&parts.headers, peer);
    // Before anything else, as better-auth: unknown paths and bad bodies count too.
    if let Some(limiter) = &app.limiter
        && !app.policy.ip.disable_tracking
        && let Some(path) = rate_limit::limited_path(parts.uri.path(), &app.policy.base_path)
        && let Err(refused) = limiter.check(client.for_limits(), path).await
    {
        let label = Route::resolve(&app, &parts.method, path).map_or(UNMATCHED, Route::template);
        app.auth.metrics.rate_limited(label);
        return labelled(finish(Err(refused), Vec::new(), Vec::new()), label);
    }
    let route = parts
        .uri
        .path()
        .strip_prefix(app.policy.base_path.as_str())
        .filter(|p| p.starts_with('/'))
        .and_then(|path| Some((path, Route::resolve(&app, &parts.method, path)?)));
    let Some((path, route)) = route else {
        tracing::Span::current().record("route", UNMATCHED);
        return labelled(
            finish(Err(ApiError::NotFound), Vec::new(), Vec::new()),
            UNMATCHED,
        );
    };
    let label = route.template();
    tracing::Span::current().record("route", label);
    let path = path.to_owned();
    labelled(answer(&app, route, &path, parts, body, client).await, label)
}

/// A matched route's answer: the body read and parsed, the origin checked, the handler run.
async fn answer(
    app: &App,
    route: Route,
    path: &str,
    parts: axum::http::request::Parts,
    body: Body,
    client: super::client_ip::ClientIp,
) -> Response {
    let bytes = if parts.method == Method::GET {
        Default::default()
    } else {
        let limits = &app.policy.limits;
        let read = read_body(&parts.headers, body, limits.max_body_bytes);
        match tokio::time::timeout(limits.body_timeout, read).await {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => return finish(Err(e), Vec::new(), Vec::new()),
            Err(_) => return finish(Err(ApiError::request_timeout()), Vec::new(), Vec::new()),
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = match body::parse_media(&bytes, content_type, route.media()) {
        Ok(v) => v,
        Err(e) => return finish(Err(e), Vec::new(), Vec::new()),
    };
    let mut ex = Exchange::new(
        parts.method,
        path,
        parts.headers,
        parts.uri.query(),
        parsed,
        client.forwarded,
    );
    let checked = origin::check_request(&app.origins, &ex, app.policy.csrf);
    if let Err(e) = &checked {
        origin::log_refusal(e, &ex.headers);
    }
    let result = match checked {
        Ok(()) => route.call(app, &mut ex).await,
        Err(e) => Err(e),
    };
    if let Some(method) = route.sign_in_method() {
        let outcome = match &result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        };
        app.auth.metrics.sign_in(method, outcome);
    }
    finish(result, ex.set_cookies, ex.response_headers)
}

/// Marks the response with its route template, for the request metrics.
fn labelled(mut response: Response, label: &'static str) -> Response {
    response.extensions_mut().insert(RouteLabel(label));
    response
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
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(buf.into())
}

/// Turns an endpoint's outcome into the response, with the cookies and headers it set.
/// Failures of ours are logged here, once, with their whole chain of causes.
pub(super) fn finish(
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
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // authkeep's pages are never framed (clickjacking on the auth origin), never
                // sniffed as another type, and cannot change where relative URLs go.
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
                ),
            ],
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
        Err(e) => error_response(&e),
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

fn error_response(e: &ApiError) -> Response {
    match e {
        ApiError::Internal(cause) => {
            tracing::error!(error = %Report(cause.as_ref()), "internal error")
        }
        ApiError::Unavailable(cause) => {
            tracing::warn!(error = %Report(cause), "storage unavailable")
        }
        _ => {}
    }
    let mut r = match (e.body(), e) {
        (Some(b), _) => json_response(e.status(), &b),
        (None, ApiError::Disabled | ApiError::Unauthenticated) => {
            (e.status(), [(header::CONTENT_TYPE, "application/json")]).into_response()
        }
        (None, _) => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = e.status();
            r
        }
    };
    match e {
        ApiError::Unavailable(_) => {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        ApiError::TooManyRequests { retry_after } => {
            r.headers_mut()
                .insert("x-retry-after", HeaderValue::from(*retry_after));
        }
        _ => {}
    }
    r
}

/// An error answer outside an endpoint (the CORS preflight).
pub(super) fn refuse(e: ApiError) -> Response {
    finish(Err(e), Vec::new(), Vec::new())
}
