//! Whether a frontend keeps its session: the cookie attributes authkeep sends (from the
//! configuration, or read off a real `Set-Cookie`) judged against the frontend's site.

use super::{Finding, site};
use crate::http::cookies::{CookieAttributes, SameSite};

pub(super) fn judge(
    base: &url::Url,
    front: &url::Url,
    a: &crate::http::cookies::CookieAttributes,
    trusted: bool,
) -> Vec<Finding> {
    let origin = front.origin().ascii_serialization();
    let mut out = Vec::new();
    if !trusted {
        out.push(
            Finding::error(
                "cookies",
                "not a trusted origin: sign-in and every other POST from it is refused (403 INVALID_ORIGIN)",
            )
            .about(&origin)
            .fix(format!("trusted_origins = [\"{origin}\"] (or BETTER_AUTH_TRUSTED_ORIGINS)")),
        );
    }
    if site::same_site(base, front) {
        out.push(
            Finding::ok(
                "cookies",
                format!(
                    "same site as {}: first-party cookies, SameSite={:?} works",
                    base.origin().ascii_serialization(),
                    a.same_site
                ),
            )
            .about(&origin),
        );
        return out;
    }
    let cross = format!(
        "cross-site with {} (different scheme or registrable domain)",
        base.origin().ascii_serialization()
    );
    if a.same_site != SameSite::None {
        out.push(
            Finding::error(
                "cookies",
                format!("{cross}: browsers do not send SameSite={:?} cookies on its fetch calls, so the session is lost after sign-in", a.same_site),
            )
            .about(&origin)
            .fix(
                "best: serve the frontend and /api/auth from one site (one reverse proxy, docs/deployment.md)\n\
                 or: [advanced.default_cookie_attributes] same_site = \"none\" (Secure and Partitioned follow; https required)\n\
                 or: sign in with the bearer plugin / JWTs instead of cookies",
            ),
        );
    } else if !a.secure {
        out.push(
            Finding::error(
                "cookies",
                format!("{cross}: SameSite=None cookies without Secure are rejected by browsers"),
            )
            .about(&origin)
            .fix("serve authkeep over https (base_url https://…), or [advanced.default_cookie_attributes] secure = true"),
        );
    } else {
        out.push(
            Finding::ok(
                "cookies",
                format!(
                    "{cross}: SameSite=None; Secure{} cookies will be sent",
                    if a.partitioned { "; Partitioned" } else { "" }
                ),
            )
            .about(&origin),
        );
        if !a.partitioned {
            out.push(
                Finding::warning(
                    "cookies",
                    "third-party cookies that are not Partitioned are blocked by browsers that block third-party cookies (Safari, Firefox's strict mode, Chrome's opt-out)",
                )
                .about(&origin)
                .fix("[advanced.default_cookie_attributes] partitioned = true"),
            );
        }
    }
    out
}

/// A `Set-Cookie` value's attributes, as a browser reads them (`SameSite` defaults to Lax).
pub(super) fn parse_attributes(set_cookie: &str) -> CookieAttributes {
    let mut a = CookieAttributes::default();
    for part in set_cookie.split(';').skip(1).map(str::trim) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k.to_ascii_lowercase().as_str() {
            "secure" => a.secure = true,
            "partitioned" => a.partitioned = true,
            "domain" => a.domain = Some(v.to_owned()),
            "samesite" => {
                a.same_site = match v.to_ascii_lowercase().as_str() {
                    "none" => SameSite::None,
                    "strict" => SameSite::Strict,
                    _ => SameSite::Lax,
                }
            }
            _ => {}
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_attributes_are_read() {
        let a = parse_attributes(
            "__Secure-better-auth.session_token=x.y; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=None; Partitioned",
        );
        assert_eq!(a.same_site, SameSite::None);
        assert!(a.secure && a.partitioned);
        assert_eq!(parse_attributes("a=b; Path=/").same_site, SameSite::Lax);
    }
}
