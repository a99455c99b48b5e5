use serde_json::json;

use crate::http::error::ApiError;
use crate::http::exchange::{Exchange, Reply, ReplyBody};

/// `GET /ok`
pub async fn ok() -> Result<Reply, ApiError> {
    Ok(Reply::json(json!({ "ok": true })))
}

/// `GET /error?error=CODE`: better-auth's plain error page. The code is shown only when it is
/// made of safe characters, so nothing from the query reaches the page unescaped.
pub async fn error_page(ex: &mut Exchange) -> Result<Reply, ApiError> {
    let raw = ex.query.get("error").map(String::as_str).unwrap_or("");
    let safe = !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-'".contains(&b));
    let code = if safe {
        raw.replace('\'', "&#39;")
    } else {
        "UNKNOWN".to_owned()
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authentication error</title></head>\
         <body><h1>Something went wrong</h1><p>Error code: <code>{code}</code></p></body></html>"
    );
    Ok(Reply {
        status: axum::http::StatusCode::OK,
        body: ReplyBody::Html(html),
    })
}
