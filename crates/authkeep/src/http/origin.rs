//! Trusted origins and the checks better-auth builds on them: the Origin check on
//! cookie-carrying state changes, the `Sec-Fetch-*` rule on sign-in/sign-up, and the
//! validation of callback URLs (no open redirects).

use axum::http::{HeaderMap, Method, header};
use serde_json::Value;

use super::error::ApiError;
use super::exchange::Exchange;
use super::{App, CsrfCheck};
use crate::auth::ErrorCode;

/// The longest origin, referer or callback URL that is checked at all.
pub const MAX_URL_LENGTH: usize = 4096;

/// The base URL's origin plus configured origins; entries may hold `*` and `?` wildcards.
#[derive(Debug, Clone)]
pub struct TrustedOrigins {
    patterns: Vec<String>,
}

impl TrustedOrigins {
    pub fn new(base_origin: &str, extra: &[String]) -> Self {
        let mut patterns = vec![base_origin.trim_end_matches('/').to_owned()];
        patterns.extend(
            extra
                .iter()
                .map(|p| p.trim().trim_end_matches('/').to_owned())
                .filter(|p| !p.is_empty()),
        );
        Self { patterns }
    }

    /// The trusted origins, for the start-up log.
    pub fn describe(&self) -> String {
        self.patterns.join(", ")
    }

    /// Whether a request's `Origin` (or `Referer`, a full URL) is trusted.
    pub fn is_trusted_origin(&self, url: &str) -> bool {
        !url.starts_with('/') && self.is_trusted_url(url)
    }

    /// Whether a callback URL is trusted: a trusted origin, or a safe same-site relative path.
    pub fn is_trusted_callback(&self, url: &str) -> bool {
        if url.starts_with('/') {
            return url.len() <= MAX_URL_LENGTH && is_safe_relative(url);
        }
        self.is_trusted_url(url)
    }

    /// Anything longer than [`MAX_URL_LENGTH`] is untrusted: the work per request stays bounded.
    fn is_trusted_url(&self, url: &str) -> bool {
        if url.len() > MAX_URL_LENGTH {
            return false;
        }
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        self.patterns.iter().any(|p| matches_pattern(&parsed, p))
    }
}

fn matches_pattern(url: &url::Url, pattern: &str) -> bool {
    let web = matches!(url.scheme(), "http" | "https");
    if pattern.contains('*') || pattern.contains('?') {
        let subject = if pattern.contains("://") {
            url.origin().ascii_serialization()
        } else if web {
            let host = url.host_str().unwrap_or("").to_owned();
            url.port().map_or(host.clone(), |p| format!("{host}:{p}"))
        } else {
            // A host-only pattern names web hosts: `javascript://x.example.org/…` or a `data:`
            // URL must not pass because its "host" happens to match.
            return false;
        };
        return glob(pattern.as_bytes(), subject.as_bytes());
    }
    if web {
        return url.origin().ascii_serialization() == pattern;
    }
    // Custom schemes (`myapp://`): the scheme must match, then any authority and path given.
    let Ok(p) = url::Url::parse(pattern) else {
        return false;
    };
    if p.scheme() != url.scheme() {
        return false;
    }
    if p.host_str().is_some_and(|h| !h.is_empty()) && p.host_str() != url.host_str() {
        return false;
    }
    let base = p.path().trim_end_matches('/');
    base.is_empty() || url.path() == base || url.path().starts_with(&format!("{base}/"))
}

/// `*` is any run of characters other than `/` and `\`; `?` is one such character; other
/// characters match themselves, ignoring ASCII case. Runs the pattern as a set of positions
/// over the subject, one pass: time is subject length × pattern length whatever the input,
/// where a backtracking matcher is exponential in the number of `*`.
fn glob(pattern: &[u8], subject: &[u8]) -> bool {
    let m = pattern.len();
    let segment_char = |c: u8| !b"/\\".contains(&c);
    // Positions reachable so far; a `*` may also match nothing, so it lets the next one in.
    let close = |set: &mut Vec<bool>| {
        for p in 0..m {
            if set[p] && pattern[p] == b'*' {
                set[p + 1] = true;
            }
        }
    };
    let mut current = vec![false; m + 1];
    current[0] = true;
    close(&mut current);
    for &c in subject {
        let mut next = vec![false; m + 1];
        for p in (0..m).filter(|&p| current[p]) {
            match pattern[p] {
                b'*' if segment_char(c) => next[p] = true,
                b'*' => {}
                b'?' if segment_char(c) => next[p + 1] = true,
                b'?' => {}
                lit if lit.eq_ignore_ascii_case(&c) => next[p + 1] = true,
                _ => {}
            }
        }
        close(&mut next);
        if !next.contains(&true) {
            return false;
        }
        current = next;
    }
    current[m]
}

/// A same-site path: `/` not followed by `/`, `\` or an encoded slash, then only path and query
/// characters better-auth allows.
fn is_safe_relative(url: &str) -> bool {
    let rest = &url[1..];
    let lower = rest.to_ascii_lowercase();
    if rest.starts_with('/')
        || rest.starts_with('\\')
        || lower.starts_with("%2f")
        || lower.starts_with("%5c")
    {
        return false;
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.+/@".contains(&b));
    let query_ok = query.is_none_or(|q| {
        q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.+/=&%@".contains(&b))
    });
    path_ok && query_ok
}

/// The request's origin: `Origin`, else `Referer`.
fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
}

fn validate_origin(trusted: &TrustedOrigins, headers: &HeaderMap) -> Result<(), ApiError> {
    match request_origin(headers) {
        None | Some("") | Some("null") => Err(ErrorCode::MissingOrNullOrigin.into()),
        Some(o) if trusted.is_trusted_origin(o) => Ok(()),
        Some(_) => Err(ErrorCode::InvalidOrigin.into()),
    }
}

/// The URL fields better-auth validates, with the label used in its messages and their codes.
const URL_FIELDS: [(&str, &str, ErrorCode); 4] = [
    ("callbackURL", "callbackURL", ErrorCode::InvalidCallbackUrl),
    ("redirectTo", "redirectURL", ErrorCode::InvalidRedirectUrl),
    (
        "errorCallbackURL",
        "errorCallbackURL",
        ErrorCode::InvalidErrorCallbackUrl,
    ),
    (
        "newUserCallbackURL",
        "newUserCallbackURL",
        ErrorCode::InvalidNewUserCallbackUrl,
    ),
];

/// better-auth's router-wide origin middleware for every non-GET request: a request that
/// carries cookies must come from a trusted origin, and every callback-style URL in the body
/// (or `callbackURL` in the query) must point at a trusted origin or a safe relative path.
/// `disable_csrf_check` turns off the first part only, as better-auth's `disableCSRFCheck`
/// does: the URL checks are what stop open redirects.
pub fn check_request(
    trusted: &TrustedOrigins,
    ex: &Exchange,
    csrf: CsrfCheck,
) -> Result<(), ApiError> {
    if matches!(ex.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if csrf == CsrfCheck::On && ex.headers.contains_key(header::COOKIE) {
        validate_origin(trusted, &ex.headers)?;
    }
    let body = ex.body.as_ref();
    let query_callback = ex.query.get("callbackURL").map(String::as_str);
    for (key, label, code) in URL_FIELDS {
        let from_body = body.and_then(|b| b.get(key));
        let value = match (from_body, key) {
            (Some(v), _) => Some(v.clone()),
            (None, "callbackURL") => query_callback.map(|q| Value::String(q.to_owned())),
            _ => None,
        };
        match value {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() || trusted.is_trusted_callback(&s) => {}
            Some(Value::String(_)) => return Err(code.into()),
            Some(_) => {
                return Err(ApiError::message(format!(
                    "Invalid {label}: expected a string"
                )));
            }
        }
    }
    Ok(())
}

/// better-auth's `formCsrfMiddleware` for sign-in and sign-up, which a browser form could post
/// cross-site without cookies: block cross-site navigations, and check the origin whenever the
/// browser says where the request came from. Plain server-to-server calls pass.
pub fn check_form_csrf(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let trusted = &app.origins;
    if app.policy.csrf == CsrfCheck::Off || headers.contains_key(header::COOKIE) {
        return Ok(()); // With cookies the router-wide check has already run.
    }
    let fetch = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (site, mode, dest) = (
        fetch("sec-fetch-site"),
        fetch("sec-fetch-mode"),
        fetch("sec-fetch-dest"),
    );
    if site.is_some() || mode.is_some() || dest.is_some() {
        if site == Some("cross-site") && mode == Some("navigate") {
            return Err(ErrorCode::CrossSiteNavigationLoginBlocked.into());
        }
        return validate_origin(trusted, headers);
    }
    if request_origin(headers).is_some() {
        return validate_origin(trusted, headers);
    }
    Ok(())
}

/// Logs why a request was refused by an origin check, with the origin it came from, so a
/// CORS or trusted-origins mistake can be found from the log. Other refusals log nothing here.
pub fn log_refusal(e: &ApiError, headers: &HeaderMap) {
    match e.code_str() {
        Some(code) if code == ErrorCode::InvalidOrigin.as_str() => {
            log_refusal_of(ErrorCode::InvalidOrigin, headers)
        }
        Some(code) if code == ErrorCode::MissingOrNullOrigin.as_str() => {
            log_refusal_of(ErrorCode::MissingOrNullOrigin, headers)
        }
        _ => {}
    }
}

pub fn log_refusal_of(code: ErrorCode, headers: &HeaderMap) {
    if code == ErrorCode::MissingOrNullOrigin {
        tracing::info!(
            code = code.as_str(),
            "refused: a request with cookies came without an Origin (or Referer) header; browsers send one, \
             a script must too (curl: -H 'origin: <the base URL>')"
        );
        return;
    }
    // Only the origin: a Referer's path and query can carry tokens. The caller's text is cut
    // short; the JSON or text log escapes it.
    let raw = request_origin(headers).unwrap_or("");
    let origin: String = match url::Url::parse(raw) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => raw.chars().take(100).collect(),
    };
    tracing::info!(
        code = code.as_str(),
        origin,
        "refused: the origin is not trusted (add it to trusted_origins / BETTER_AUTH_TRUSTED_ORIGINS if it should be)"
    );
}

/// A query parameter a GET endpoint requires, with better-call's message when it is missing.
pub fn required_query(ex: &Exchange, name: &str) -> Result<String, ApiError> {
    ex.query.get(name).cloned().ok_or_else(|| {
        ApiError::validation(format!(
            "[query.{name}] Invalid input: expected string, received undefined"
        ))
    })
}

/// A callback URL from the query of a GET endpoint (better-auth's `originCheck` on GETs checks
/// only the URL): absent is fine, untrusted is 403 `INVALID_CALLBACK_URL`.
pub fn checked_callback(app: &App, ex: &Exchange, name: &str) -> Result<Option<String>, ApiError> {
    match ex.query.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(url) if app.origins.is_trusted_callback(url) => Ok(Some(normalized(url))),
        Some(_) => Err(ErrorCode::InvalidCallbackUrl.into()),
    }
}

/// A trusted callback as it will be sent in `Location`: a safe relative path as given, an
/// absolute URL as its parsed form. The check above ran on the parsed form; echoing the raw
/// text instead would let clients that parse differently (`http://host\@evil`) go elsewhere.
pub fn normalized(url: &str) -> String {
    if url.starts_with('/') {
        return url.to_owned();
    }
    url::Url::parse(url).map_or_else(|_| url.to_owned(), |u| u.to_string())
}

/// `url` with `error=<code>` appended, as better-auth builds its error redirects.
pub fn with_error(url: &str, code: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}error={code}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> TrustedOrigins {
        TrustedOrigins::new(
            "http://localhost:3000",
            &[
                "https://*.example.com".into(),
                "app.test:*".into(),
                "myapp://".into(),
            ],
        )
    }

    #[test]
    fn exact_and_wildcard_origins() {
        let t = t();
        assert!(t.is_trusted_origin("http://localhost:3000"));
        assert!(t.is_trusted_origin("http://localhost:3000/some/page?x=1"));
        assert!(!t.is_trusted_origin("http://localhost:3001"));
        assert!(!t.is_trusted_origin("https://localhost:3000"));
        assert!(t.is_trusted_origin("https://a.example.com"));
        assert!(!t.is_trusted_origin("https://example.com"));
        assert!(!t.is_trusted_origin("http://a.example.com"));
        assert!(!t.is_trusted_origin("https://a.example.com.evil.io"));
        assert!(t.is_trusted_origin("http://app.test:5173"));
        assert!(t.is_trusted_origin("myapp://callback"));
        assert!(
            !t.is_trusted_callback("javascript://app.test:1/%0aalert(1)"),
            "a host-only pattern matches web URLs only"
        );
        assert!(!t.is_trusted_callback("data://app.test:1/,x"));
        assert!(!t.is_trusted_origin("evil://x"));
    }

    #[test]
    fn globs_match_in_linear_time() {
        assert!(glob(b"https://*.example.com", b"https://a.b.example.com"));
        assert!(!glob(b"https://*.example.com", b"https://a/.example.com"));
        assert!(glob(b"*.example.com", b"a.example.com"));
        assert!(glob(b"a?c", b"ABC"));
        assert!(!glob(b"a?c", b"a/c"));
        assert!(!glob(b"*", b"a/b"));
        assert!(glob(b"**", b""));
        // Exponential for a backtracking matcher; one pass here.
        let pattern = "*a".repeat(30) + "!";
        assert!(!glob(pattern.as_bytes(), "a".repeat(5000).as_bytes()));
        assert!(!t().is_trusted_origin(&format!(
            "https://{}.example.com",
            "a".repeat(MAX_URL_LENGTH)
        )));
    }

    #[test]
    fn relative_callbacks() {
        let t = t();
        assert!(t.is_trusted_callback("/dashboard"));
        assert!(t.is_trusted_callback("/a/b?x=1&y=%20"));
        assert!(!t.is_trusted_origin("/dashboard"));
        assert!(!t.is_trusted_callback("//evil.com"));
        assert!(!t.is_trusted_callback("/\\evil.com"));
        assert!(!t.is_trusted_callback("/%2Fevil.com"));
        assert!(!t.is_trusted_callback("/a<script>"));
        assert!(!t.is_trusted_callback("javascript:alert(1)"));
    }
}
