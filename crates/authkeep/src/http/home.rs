//! `GET /`: a small page for a standalone authkeep, so a verification link's default
//! `callbackURL` (`/`) lands somewhere that says what happened: the server's status, who is
//! signed in, and where the documentation is. Off when the host's `/` belongs to an app.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;
use super::exchange::Exchange;
use crate::auth::policy::Refresh;
use crate::report::Report;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub(super) async fn page(State(app): State<Arc<App>>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let mut ex = Exchange::new(
        parts.method,
        "/",
        parts.headers,
        parts.uri.query(),
        None,
        None,
    );
    // Reading the page never extends or clears a session: it only reports.
    let signed_in = match super::session::current(&app, &mut ex, Refresh::Never).await {
        Ok(Some(c)) => format!(
            "<p>Signed in as <strong>{}</strong> ({}).</p>",
            escape(&c.user.name),
            escape(&c.user.email)
        ),
        Ok(None) => "<p>Not signed in.</p>".to_owned(),
        Err(e) => {
            tracing::debug!(status = e.status().as_u16(), "status page: no session");
            "<p>Not signed in.</p>".to_owned()
        }
    };
    let database = match app.auth.ping().await {
        Ok(()) => "reachable",
        Err(e) => {
            tracing::warn!(error = %Report(&e), "status page: database unreachable");
            "unreachable"
        }
    };
    let notice = match ex.query.get("error") {
        Some(code) if code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            format!("<p class=\"error\">The link did not work: <code>{code}</code>.</p>")
        }
        _ => String::new(),
    };
    let api = escape(&app.policy.base_path);
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>authkeep</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
         <body><h1>authkeep</h1>{notice}{signed_in}\
         <p>better-auth's API is served at <code>{api}</code>. Database: {database}.</p>\
         <p><a href=\"{api}/ok\">{api}/ok</a> · <a href=\"/health\">/health</a> · \
         <a href=\"/ready\">/ready</a> · \
         <a href=\"https://www.better-auth.com/docs/concepts/client\">better-auth's client</a>. \
         authkeep's own documentation is the README and docs/ of its repository.</p></body></html>"
    );
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}
