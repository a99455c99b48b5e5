//! Same-site or cross-site: whether a browser treats a frontend and the auth server as one
//! site, which decides if `SameSite=Lax` cookies reach the server from the frontend's `fetch`.
//!
//! A site is the scheme plus the registrable domain (one label under a public suffix).
//! authkeep carries no copy of the Public Suffix List; it knows the suffixes deployments meet
//! most, including the hosting platforms (`vercel.app`, `onrender.com`, …) where two apps of
//! one team are two sites, which is the trap this check exists for. Any other name falls
//! back to "the last label is the suffix", which is the list's own default rule.

/// Public suffixes of more than one label that deployments commonly use.
const MULTI_LABEL_SUFFIXES: &[&str] = &[
    // Hosting platforms (the list's private section): every app is its own site.
    "vercel.app",
    "netlify.app",
    "pages.dev",
    "workers.dev",
    "herokuapp.com",
    "onrender.com",
    "fly.dev",
    "github.io",
    "gitlab.io",
    "web.app",
    "firebaseapp.com",
    "up.railway.app",
    "railway.app",
    "azurewebsites.net",
    "azurestaticapps.net",
    "cloudfront.net",
    "amplifyapp.com",
    "appspot.com",
    "run.app",
    "deno.dev",
    "ngrok.app",
    "ngrok-free.app",
    "ngrok.io",
    "trycloudflare.com",
    // Country-code second levels.
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "com.au",
    "net.au",
    "org.au",
    "co.nz",
    "co.jp",
    "ne.jp",
    "co.za",
    "com.br",
    "com.cn",
    "com.mx",
    "co.in",
    "co.kr",
    "com.tr",
    "com.sg",
];

/// The site of an origin: `(scheme, registrable domain)`. `None` for an origin without a host.
pub(super) fn site(origin: &url::Url) -> Option<(String, String)> {
    let host = origin
        .host_str()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let registrable = match origin.host()? {
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => host,
        url::Host::Domain(_) if host == "localhost" || host.ends_with(".localhost") => {
            "localhost".to_owned()
        }
        url::Host::Domain(_) => registrable(&host),
    };
    Some((origin.scheme().to_owned(), registrable))
}

fn registrable(host: &str) -> String {
    let suffix = MULTI_LABEL_SUFFIXES
        .iter()
        .filter(|s| host == **s || host.ends_with(&format!(".{s}")))
        .max_by_key(|s| s.len())
        .copied()
        .unwrap_or_else(|| host.rsplit('.').next().unwrap_or(host));
    if host == suffix {
        return host.to_owned();
    }
    let rest = &host[..host.len() - suffix.len() - 1];
    let label = rest.rsplit('.').next().unwrap_or(rest);
    format!("{label}.{suffix}")
}

/// Whether two origins are the same site for `SameSite` (schemeful, as browsers now apply it).
pub(super) fn same_site(a: &url::Url, b: &url::Url) -> bool {
    matches!((site(a), site(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn sites_are_registrable_domains_with_their_scheme() {
        assert!(same_site(
            &u("https://app.example.com"),
            &u("https://auth.example.com")
        ));
        assert!(same_site(
            &u("https://example.co.uk"),
            &u("https://auth.example.co.uk:8443")
        ));
        assert!(!same_site(
            &u("https://a.example.co.uk"),
            &u("https://b.other.co.uk")
        ));
        // Two apps on a hosting platform are two sites.
        assert!(!same_site(
            &u("https://web.vercel.app"),
            &u("https://api.vercel.app")
        ));
        assert!(!same_site(
            &u("https://app.onrender.com"),
            &u("https://auth.onrender.com")
        ));
        // Schemeful: http and https of one domain differ.
        assert!(!same_site(
            &u("http://app.example.com"),
            &u("https://auth.example.com")
        ));
        // Ports never matter; localhost and IP addresses are their own sites.
        assert!(same_site(
            &u("http://localhost:5173"),
            &u("http://localhost:3000")
        ));
        assert!(!same_site(
            &u("http://localhost:5173"),
            &u("http://127.0.0.1:3000")
        ));
    }
}
