//! One request to an auth endpoint as handlers see it (headers, query, parsed body, client) and
//! what they add to the response. Cookies set before an error are sent with the error too, as
//! better-auth does (a 401 after an expired session still clears the cookies).

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use serde_json::Value;

use crate::auth::ClientInfo;

#[derive(Debug)]
pub struct Exchange {
    pub method: Method,
    /// The path below the base path, e.g. `/reset-password/abc`.
    pub path: String,
    pub headers: HeaderMap,
    pub query: HashMap<String, String>,
    pub body: Option<Value>,
    pub client: ClientInfo,
    pub set_cookies: Vec<String>,
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
}

impl Exchange {
    pub fn new(
        method: Method,
        path: &str,
        headers: HeaderMap,
        query: Option<&str>,
        body: Option<Value>,
        ip_address: Option<String>,
    ) -> Self {
        let query = query
            .map(|q| {
                let mut map = HashMap::new();
                for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                    map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
                }
                map
            })
            .unwrap_or_default();
        let client = ClientInfo {
            ip_address: ip_address.unwrap_or_default(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        };
        Self {
            method,
            path: path.to_owned(),
            headers,
            query,
            body,
            client,
            set_cookies: Vec::new(),
            response_headers: Vec::new(),
        }
    }

    /// better-auth's `z.coerce.boolean()` query flags: any non-empty value, even "false", is true.
    pub fn query_flag(&self, name: &str) -> bool {
        self.query.get(name).is_some_and(|v| !v.is_empty())
    }

    pub fn add_header(&mut self, name: HeaderName, value: &str) {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.response_headers.push((name, v));
        }
    }
}

#[derive(Debug)]
pub enum ReplyBody {
    Json(Value),
    Html(String),
    /// better-auth's redirect: 302, `Location`, an empty body.
    Redirect(String),
}

/// A successful response from an endpoint.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
}

impl Reply {
    pub fn json(v: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body: ReplyBody::Json(v),
        }
    }

    pub fn redirect(location: String) -> Self {
        Reply {
            status: StatusCode::FOUND,
            body: ReplyBody::Redirect(location),
        }
    }
}
