//! One request to an auth endpoint as handlers see it (headers, query, parsed body, client) and
//! what they add to the response. Cookies set before an error are sent with the error too, as
//! better-auth does (a 401 after an expired session still clears the cookies).

use std::collections::HashMap;
use std::net::IpAddr;

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
        ip_headers: &[String],
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
            ip_address: client_ip(&headers, ip_headers).unwrap_or_default(),
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

/// The client IP from the first configured header that holds exactly one valid address
/// (better-auth ignores `a, b` chains without trusted proxies). IPv6 is kept as its /64
/// prefix, fully expanded, and IPv4-mapped IPv6 as dotted IPv4, as better-auth stores them.
fn client_ip(headers: &HeaderMap, names: &[String]) -> Option<String> {
    names.iter().find_map(|name| {
        let raw = headers.get(name.as_str())?.to_str().ok()?.trim();
        let ip: IpAddr = raw.parse().ok()?;
        Some(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    let masked = [s[0], s[1], s[2], s[3], 0, 0, 0, 0];
                    masked
                        .iter()
                        .map(|x| format!("{x:04x}"))
                        .collect::<Vec<_>>()
                        .join(":")
                }
            },
        })
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(v: &str) -> Option<String> {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        client_ip(&h, &["x-forwarded-for".to_string()])
    }

    #[test]
    fn ip_normalisation_matches_better_auth() {
        assert_eq!(ip("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            ip("2001:db8::1").as_deref(),
            Some("2001:0db8:0000:0000:0000:0000:0000:0000")
        );
        assert_eq!(ip("::ffff:192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(ip("1.2.3.4, 5.6.7.8"), None);
        assert_eq!(ip("garbage"), None);
    }
}
