//! better-auth's rate limiter in front of every endpoint: which rule a path falls under
//! (global, the built-in special rules, the plugins' rules, then custom rules, later ones
//! winning), the bucket `"<ip>|<path>"`, and the 429 answer.

use super::error::ApiError;
use crate::auth::AuthError;
use crate::auth::rate_limit::{Counters, Decision, Rule};
use crate::model::now_ms;

/// A custom rule (`rateLimit.customRules`): an exact path, or a pattern when it holds a `*`
/// (`*` within one segment, `**` across segments, `?` one character, as better-auth's
/// `wildcardMatch`); `None` turns limiting off there.
#[derive(Debug, Clone)]
pub struct CustomRule {
    pub pattern: String,
    pub rule: Option<Rule>,
}

#[derive(Debug, Clone)]
pub struct RateLimiter {
    pub global: Rule,
    /// The magic-link plugin's rule applies (the plugin is on).
    pub magic_link: bool,
    /// The email-otp plugin's rules apply.
    pub email_otp: bool,
    /// The two-factor plugin's rule applies (`/two-factor/*`: 10 s / 3).
    pub two_factor: bool,
    /// Exact paths first, then patterns in the order given.
    pub custom: Vec<CustomRule>,
    pub counters: Counters,
}

/// The bucket of clients whose address is unknown (better-auth's shared production bucket).
const NO_IP: &str = "no-trusted-ip";

/// The email-otp plugin's paths, each 60 s / 3.
const OTP_PATHS: [&str; 9] = [
    "/email-otp/send-verification-otp",
    "/email-otp/check-verification-otp",
    "/email-otp/verify-email",
    "/sign-in/email-otp",
    "/email-otp/request-password-reset",
    "/email-otp/reset-password",
    "/forget-password/email-otp",
    "/email-otp/request-email-change",
    "/email-otp/change-email",
];

impl RateLimiter {
    /// The rule for `path` (below the base path, no trailing slash); `None`: not limited.
    pub fn rule_for(&self, path: &str) -> Option<Rule> {
        let mut rule = self.global;
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| path.starts_with(p));
        if starts(&["/sign-in", "/sign-up", "/change-password", "/change-email"]) {
            rule = Rule { window: 10, max: 3 };
        }
        if matches!(
            path,
            "/request-password-reset"
                | "/send-verification-email"
                | "/email-otp/send-verification-otp"
                | "/email-otp/request-password-reset"
        ) || path.starts_with("/forget-password")
        {
            rule = Rule { window: 60, max: 3 };
        }
        if self.magic_link && starts(&["/sign-in/magic-link", "/magic-link/verify"]) {
            rule = Rule { window: 60, max: 5 };
        } else if self.email_otp && OTP_PATHS.contains(&path) {
            rule = Rule { window: 60, max: 3 };
        } else if self.two_factor && path.starts_with("/two-factor/") {
            rule = Rule { window: 10, max: 3 };
        }
        let custom = self
            .custom
            .iter()
            .find(|c| !c.pattern.contains('*') && c.pattern == path)
            .or_else(|| {
                self.custom.iter().find(|c| {
                    c.pattern.contains('*') && glob(c.pattern.as_bytes(), path.as_bytes())
                })
            });
        match custom {
            Some(c) => c.rule,
            None => Some(rule),
        }
    }

    /// Counts the request; `Err` is the 429 to answer (or the store's failure).
    pub async fn check(&self, ip: Option<&str>, path: &str) -> Result<(), ApiError> {
        let Some(rule) = self.rule_for(path) else {
            return Ok(());
        };
        let key = format!("{}|{path}", ip.unwrap_or(NO_IP));
        let now = now_ms().timestamp_millis();
        match self.counters.consume(&key, rule, now).await {
            Ok(Decision::Allowed) => Ok(()),
            Ok(Decision::Refused { retry_after }) => Err(ApiError::TooManyRequests { retry_after }),
            Err(e) => Err(AuthError::from(e).into()),
        }
    }

    /// The longest window of any rule, for pruning stored counters.
    pub fn longest_window(global: Rule, custom: &[CustomRule]) -> u64 {
        custom
            .iter()
            .filter_map(|c| c.rule.map(|r| r.window))
            .chain([global.window, 60])
            .max()
            .unwrap_or(60)
    }
}

/// The rate-limit path of a request path: below `base`, without trailing slashes, `/` for the
/// base path itself; `None` outside it.
pub fn limited_path<'a>(request_path: &'a str, base: &str) -> Option<&'a str> {
    let rest = request_path.strip_prefix(base)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let trimmed = rest.trim_end_matches('/');
    Some(if trimmed.is_empty() { "/" } else { trimmed })
}

/// Glob match: `**` any run of characters, `*` any run without `/`, `?` one character but `/`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        [b'*', rest @ ..] => {
            for i in 0..=s.len() {
                if glob(rest, &s[i..]) {
                    return true;
                }
                if s.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        [b'?', rest @ ..] => s.first().is_some_and(|c| *c != b'/') && glob(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(custom: &[(&str, Option<(u64, u64)>)]) -> RateLimiter {
        RateLimiter {
            global: Rule {
                window: 10,
                max: 100,
            },
            magic_link: true,
            email_otp: true,
            two_factor: true,
            custom: custom
                .iter()
                .map(|(p, r)| CustomRule {
                    pattern: (*p).into(),
                    rule: r.map(|(window, max)| Rule { window, max }),
                })
                .collect(),
            counters: Counters::memory(),
        }
    }

    fn rule(l: &RateLimiter, path: &str) -> Option<(u64, u64)> {
        l.rule_for(path).map(|r| (r.window, r.max))
    }

    #[test]
    fn better_auths_rules() {
        let l = limiter(&[]);
        assert_eq!(rule(&l, "/get-session"), Some((10, 100)));
        assert_eq!(rule(&l, "/sign-in/email"), Some((10, 3)));
        assert_eq!(rule(&l, "/sign-up/email"), Some((10, 3)));
        assert_eq!(rule(&l, "/change-password"), Some((10, 3)));
        assert_eq!(rule(&l, "/change-email"), Some((10, 3)));
        assert_eq!(rule(&l, "/request-password-reset"), Some((60, 3)));
        assert_eq!(rule(&l, "/forget-password/x"), Some((60, 3)));
        assert_eq!(rule(&l, "/send-verification-email"), Some((60, 3)));
        assert_eq!(rule(&l, "/sign-in/magic-link"), Some((60, 5)));
        assert_eq!(rule(&l, "/magic-link/verify"), Some((60, 5)));
        assert_eq!(rule(&l, "/email-otp/verify-email"), Some((60, 3)));
        assert_eq!(rule(&l, "/sign-in/email-otp"), Some((60, 3)));
        assert_eq!(rule(&l, "/two-factor/verify-totp"), Some((10, 3)));
        let off = RateLimiter {
            magic_link: false,
            email_otp: false,
            two_factor: false,
            ..limiter(&[])
        };
        assert_eq!(rule(&off, "/sign-in/magic-link"), Some((10, 3)));
        assert_eq!(rule(&off, "/email-otp/verify-email"), Some((10, 100)));
        assert_eq!(rule(&off, "/two-factor/verify-totp"), Some((10, 100)));
    }

    #[test]
    fn custom_rules_override() {
        let l = limiter(&[
            ("/get-session", Some((60, 2))),
            ("/sign-in/*", None),
            ("/api-keys/**", Some((1, 1))),
        ]);
        assert_eq!(rule(&l, "/get-session"), Some((60, 2)));
        assert_eq!(rule(&l, "/sign-in/email"), None);
        assert_eq!(rule(&l, "/sign-in"), Some((10, 3)));
        assert_eq!(rule(&l, "/sign-in/a/b"), Some((10, 3)));
        assert_eq!(rule(&l, "/api-keys/a/b"), Some((1, 1)));
    }

    #[test]
    fn paths() {
        assert_eq!(
            limited_path("/api/auth/sign-in/email/", "/api/auth"),
            Some("/sign-in/email")
        );
        assert_eq!(limited_path("/api/auth", "/api/auth"), Some("/"));
        assert_eq!(limited_path("/api/authx", "/api/auth"), None);
        assert_eq!(limited_path("/other", "/api/auth"), None);
    }
}
