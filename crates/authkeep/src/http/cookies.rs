//! better-auth's cookies: names (`better-auth.session_token`, `__Secure-` on https), signed
//! values, attributes, the `dont_remember` marker, and reading them back.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, COOKIE};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::auth::Lifetime;
use crate::crypto::HmacKey;

/// JavaScript's `encodeURIComponent` keeps these unescaped.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

const SESSION_TOKEN: &str = "session_token";
const SESSION_DATA: &str = "session_data";
const DONT_REMEMBER: &str = "dont_remember";
/// The admin plugin's saved admin session while impersonating.
const ADMIN_SESSION: &str = "admin_session";
/// The OAuth flow's `state`, signed, for 5 minutes (better-auth's `state` cookie).
const OAUTH_STATE: &str = "state";
const OAUTH_STATE_MAX_AGE: i64 = 300;

#[derive(Debug, Clone)]
pub struct CookieSettings {
    /// Signs and checks the cookie values.
    pub key: HmacKey,
    pub prefix: String,
    /// Names start with `__Secure-` (`advanced.useSecureCookies`, or an https base URL).
    pub secure: bool,
    /// `Max-Age` of a remembered session cookie, in seconds (`session.expiresIn`).
    pub session_max_age: i64,
    pub attributes: CookieAttributes,
    /// The session cookie cache (`session.cookieCache`), when enabled.
    pub cache: Option<super::cookie_cache::CookieCache>,
}

/// `SameSite`, as better-auth's `sameSite` option spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    #[default]
    Lax,
    Strict,
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
            SameSite::None => "None",
        }
    }
}

/// The attributes every cookie gets (better-auth's `advanced.defaultCookieAttributes` and
/// `crossSubDomainCookies`).
#[derive(Debug, Clone, Default)]
pub struct CookieAttributes {
    pub same_site: SameSite,
    /// `Secure` (forced on by `SameSite=None` and `Partitioned`, as browsers require).
    pub secure: bool,
    /// CHIPS: the cookie is kept per top-level site, which is what lets a cross-site frontend
    /// keep its session where third-party cookies are blocked.
    pub partitioned: bool,
    pub domain: Option<String>,
}

impl CookieSettings {
    pub fn name(&self, logical: &str) -> String {
        let secure = if self.secure { "__Secure-" } else { "" };
        format!("{secure}{}.{logical}", self.prefix)
    }

    pub fn session_token_name(&self) -> String {
        self.name(SESSION_TOKEN)
    }

    pub(super) fn serialize(&self, logical: &str, value: &str, max_age: Option<i64>) -> String {
        let mut c = format!(
            "{}={}",
            self.name(logical),
            utf8_percent_encode(value, URI_COMPONENT)
        );
        // better-call's attribute order.
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        let a = &self.attributes;
        if let Some(domain) = &a.domain {
            c.push_str(&format!("; Domain={domain}"));
        }
        c.push_str("; Path=/; HttpOnly");
        if self.secure || a.secure || a.partitioned || a.same_site == SameSite::None {
            c.push_str("; Secure");
        }
        c.push_str("; SameSite=");
        c.push_str(a.same_site.as_str());
        if a.partitioned {
            c.push_str("; Partitioned");
        }
        c
    }

    /// The signed `token.signature` string, as sent in the cookie and the `set-auth-token` header.
    pub fn signed_token(&self, token: &str) -> String {
        self.key.signed(token)
    }

    /// `Set-Cookie` values for a session. A "don't remember" session gets a browser-session
    /// cookie (no `Max-Age`) and the signed `dont_remember` marker.
    pub fn set_session(&self, token: &str, lifetime: Lifetime) -> Vec<String> {
        let signed = self.signed_token(token);
        if lifetime == Lifetime::BrowserSession {
            vec![
                self.serialize(SESSION_TOKEN, &signed, None),
                self.serialize(DONT_REMEMBER, &self.key.signed("true"), None),
            ]
        } else {
            vec![self.serialize(SESSION_TOKEN, &signed, Some(self.session_max_age))]
        }
    }

    /// The admin plugin's `admin_session` cookie: the admin's own session token and the
    /// "don't remember" marker it had (`<token>:<"true" or "">`), signed, with the session
    /// cookie's lifetime.
    pub fn set_admin_session(&self, value: &str) -> String {
        self.serialize(
            ADMIN_SESSION,
            &self.key.signed(value),
            Some(self.session_max_age),
        )
    }

    pub fn clear_dont_remember(&self) -> String {
        self.serialize(DONT_REMEMBER, "", Some(0))
    }

    pub fn clear_admin_session(&self) -> String {
        self.serialize(ADMIN_SESSION, "", Some(0))
    }

    /// The value of a correctly signed `admin_session` cookie.
    pub fn admin_session(&self, headers: &HeaderMap) -> Option<String> {
        let raw = read_cookie(headers, &self.name(ADMIN_SESSION))?;
        self.key.verify_signed(&raw).map(str::to_owned)
    }

    /// Expires every session cookie, in better-auth's order.
    pub fn clear_session(&self) -> Vec<String> {
        [SESSION_TOKEN, SESSION_DATA, DONT_REMEMBER]
            .iter()
            .map(|n| self.serialize(n, "", Some(0)))
            .collect()
    }

    /// `Set-Cookie` for a new OAuth flow's `state`.
    pub fn set_oauth_state(&self, state: &str) -> String {
        self.serialize(
            OAUTH_STATE,
            &self.key.signed(state),
            Some(OAUTH_STATE_MAX_AGE),
        )
    }

    /// `Set-Cookie` expiring the OAuth `state` once its flow has used it.
    pub fn clear_oauth_state(&self) -> String {
        self.serialize(OAUTH_STATE, "", Some(0))
    }

    /// The `state` from a correctly signed state cookie.
    pub fn oauth_state(&self, headers: &HeaderMap) -> Option<String> {
        let raw = read_cookie(headers, &self.name(OAUTH_STATE))?;
        self.key.verify_signed(&raw).map(str::to_owned)
    }

    /// better-auth's bearer plugin: the session token from `Authorization: Bearer`, either the
    /// signed `token.signature` form (percent-decoded if needed) or, unless signatures are
    /// required, a bare token. A bad signature is ignored, as better-auth ignores it.
    pub fn bearer_token(&self, headers: &HeaderMap, require_signature: bool) -> Option<String> {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_at_checked(7)?;
        if !scheme.eq_ignore_ascii_case("bearer ") {
            return None;
        }
        let token = token.trim();
        if token.is_empty() {
            return None;
        }
        if token.contains('.') {
            let decoded = if token.contains('%') {
                percent_decode_str(token).decode_utf8().ok()?.into_owned()
            } else {
                token.to_owned()
            };
            return self.key.verify_signed(&decoded).map(str::to_owned);
        }
        (!require_signature).then(|| token.to_owned())
    }

    /// The session token from a correctly signed session cookie.
    pub fn session_token(&self, headers: &HeaderMap) -> Option<String> {
        let raw = read_cookie(headers, &self.session_token_name())?;
        self.key.verify_signed(&raw).map(str::to_owned)
    }

    /// Whether the request carries a valid `dont_remember` marker.
    pub fn dont_remember(&self, headers: &HeaderMap) -> bool {
        read_cookie(headers, &self.name(DONT_REMEMBER))
            .is_some_and(|raw| self.key.verify_signed(&raw) == Some("true"))
    }
}

/// The names of the cookies in the request.
pub fn cookie_names(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    cookie_pairs(headers).map(|(k, _)| k)
}

/// The first cookie called `name` in the request, trimmed, unquoted and percent-decoded.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let (_, raw) = cookie_pairs(headers).find(|(k, _)| *k == name)?;
    cookie_value(raw)
}

/// Every `name=value` pair of the request's cookies, in order, names trimmed, values raw.
pub fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim(), v))
        })
}

/// A raw cookie value trimmed, unquoted and percent-decoded.
pub fn cookie_value(raw: &str) -> Option<String> {
    let v = raw.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v);
    Some(if v.contains('%') {
        percent_decode_str(v).decode_utf8().ok()?.into_owned()
    } else {
        v.to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn settings(secure: bool) -> CookieSettings {
        CookieSettings {
            key: HmacKey::new(&crate::crypto::Secret::new(
                "peer-dev-secret-0123456789abcdef0123456789abcdef",
            )),
            prefix: "better-auth".into(),
            secure,
            session_max_age: 604_800,
            attributes: CookieAttributes {
                secure,
                ..CookieAttributes::default()
            },
            cache: None,
        }
    }

    #[test]
    fn session_cookie_matches_better_auth_capture() {
        let c =
            settings(false).set_session("0Q8EFRf4F7INzAuKUJk3ebtNWcN5xZFv", Lifetime::Remembered);
        assert_eq!(
            c,
            vec![
                "better-auth.session_token=0Q8EFRf4F7INzAuKUJk3ebtNWcN5xZFv.CddrPbltYGMWbdq5XcdjSqLcqrL%2Fc1DgrQRduZT%2BJU4%3D; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"
            ]
        );
    }

    #[test]
    fn dont_remember_and_secure_prefix() {
        let c = settings(true).set_session("abc", Lifetime::BrowserSession);
        assert!(c[0].starts_with("__Secure-better-auth.session_token=abc."));
        assert!(!c[0].contains("Max-Age"));
        assert!(c[0].ends_with("; Path=/; HttpOnly; Secure; SameSite=Lax"));
        assert!(c[1].starts_with("__Secure-better-auth.dont_remember=true."));
        assert_eq!(
            settings(false).clear_session()[0],
            "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn cross_site_attributes_in_better_calls_order() {
        let mut s = settings(false);
        s.attributes = CookieAttributes {
            same_site: SameSite::None,
            secure: false,
            partitioned: true,
            domain: Some("example.com".into()),
        };
        assert_eq!(
            s.set_session("abc", Lifetime::Remembered)[0]
                .split_once(';')
                .unwrap()
                .1,
            " Max-Age=604800; Domain=example.com; Path=/; HttpOnly; Secure; SameSite=None; Partitioned"
        );
    }

    #[test]
    fn reads_back_what_it_writes() {
        let s = settings(false);
        let set = s.set_session("tok123", Lifetime::BrowserSession);
        let header = set
            .iter()
            .map(|c| c.split(';').next().unwrap())
            .collect::<Vec<_>>()
            .join("; ");
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; {header}")).unwrap(),
        );
        assert_eq!(s.session_token(&h).as_deref(), Some("tok123"));
        assert!(s.dont_remember(&h));
        let mut bad = HeaderMap::new();
        bad.insert(
            COOKIE,
            HeaderValue::from_static("better-auth.session_token=abc.def"),
        );
        assert_eq!(s.session_token(&bad), None);
    }
}
