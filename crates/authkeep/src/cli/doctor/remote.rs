//! `authkeep doctor --url …`: a deployed server checked from outside, as a browser on the
//! frontend's origin would meet it: reachable over valid TLS, `/ok` and `/jwks` answering,
//! CORS preflights allowed for the frontend, cookies a browser will keep, and its clock.

use std::time::Duration;

use reqwest::header::{self, HeaderMap};

use super::{Finding, cookies, local};

/// Beyond this, JWTs minted by the server look not-yet-valid or expired to API servers.
const MAX_SKEW_SECS: i64 = 60;

/// A test account to sign in with, to see the real session cookie.
pub(super) struct Account {
    pub email: String,
    pub password: String,
}

pub(super) async fn check(
    url: &str,
    origins: &[String],
    account: Option<&Account>,
) -> Vec<Finding> {
    let base = match auth_base(url) {
        Ok(b) => b,
        Err(f) => return vec![f],
    };
    let client = match authkeep_verify::http_client_builder().and_then(|b| {
        b.timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())
    }) {
        Ok(c) => c,
        Err(e) => return vec![Finding::error("remote", format!("no HTTP client: {e}"))],
    };
    let mut out = Vec::new();
    let Some(headers) = ok_endpoint(&client, &base, &mut out).await else {
        return out;
    };
    out.push(clock(&headers));
    out.push(jwks(&client, &base).await);
    let server = origin_of(&base);
    let frontends: Vec<url::Url> = origins
        .iter()
        .filter_map(|o| url::Url::parse(o).ok())
        .collect();
    if frontends.len() < origins.len() {
        out.push(Finding::error(
            "remote",
            "an --origin is not a URL (scheme://host[:port])",
        ));
    }
    let mut cors = Vec::new();
    for front in &frontends {
        let allowed = preflight(&client, &base, front).await;
        cors.push(allowed);
        out.push(cors_finding(front, allowed));
    }
    match account {
        // A password is sent only where it cannot be read on the way.
        Some(_) if base.scheme() != "https" && !local::is_loopback(&base) => out.push(
            Finding::error(
                "remote",
                "the test account's password was not sent: the URL is plain http",
            )
            .fix("check the https:// URL"),
        ),
        Some(account) => {
            out.extend(session_cookie(&client, &base, &server, &frontends, &cors, account).await)
        }
        None => out.extend(failed_sign_in(&client, &base, &server).await),
    }
    out
}

/// The auth API's base: the URL as given when it has a path, else with `/api/auth`.
fn auth_base(url: &str) -> Result<url::Url, Finding> {
    let mut u = url::Url::parse(url).map_err(|e| {
        Finding::error("remote", format!("{url:?} is not a URL: {e}"))
            .fix("--url https://auth.example.com")
    })?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(Finding::error("remote", format!("{url}: not http(s)")));
    }
    // Credentials in the URL would be printed in every finding and sent as Basic auth.
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Finding::error(
            "remote",
            "the URL carries a user name or password: give the server's address only",
        ));
    }
    if matches!(u.path(), "" | "/") {
        u.set_path("/api/auth");
    }
    Ok(u)
}

fn origin_of(u: &url::Url) -> url::Url {
    url::Url::parse(&u.origin().ascii_serialization()).unwrap_or_else(|_| u.clone())
}

fn endpoint(base: &url::Url, path: &str) -> String {
    format!("{}{path}", base.as_str().trim_end_matches('/'))
}

/// The chain of causes: reqwest's own message hides the TLS reason.
fn reason(e: &reqwest::Error) -> String {
    crate::report::Report(e).to_string()
}

async fn ok_endpoint(
    client: &reqwest::Client,
    base: &url::Url,
    out: &mut Vec<Finding>,
) -> Option<HeaderMap> {
    let url = endpoint(base, "/ok");
    let https = base.scheme() == "https";
    match client.get(&url).send().await {
        Err(e) => {
            let why = reason(&e);
            let tls = why.to_ascii_lowercase().contains("certificate")
                || why.to_ascii_lowercase().contains("tls");
            out.push(if tls {
                Finding::error("remote", format!("TLS handshake with {url} failed: {why}"))
                    .fix("serve a certificate from a public CA (e.g. Let's Encrypt) for this host name, with its full chain")
            } else {
                Finding::error("remote", format!("{url} does not answer: {why}"))
                    .fix("check DNS, the reverse proxy and that authkeep serve runs")
            });
            None
        }
        Ok(r) => {
            if https {
                out.push(Finding::ok(
                    "remote",
                    "TLS: the certificate is valid for this host",
                ));
            } else if !local::is_loopback(base) {
                out.push(
                    Finding::error("remote", format!("{url} is plain http: session cookies and passwords cross the network in clear"))
                        .fix("terminate TLS in front of authkeep (docs/deployment.md) and use the https:// URL"),
                );
            }
            let status = r.status();
            let headers = r.headers().clone();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            if status.is_success() && body.get("ok") == Some(&serde_json::Value::Bool(true)) {
                out.push(Finding::ok(
                    "remote",
                    format!("{url} answers {{\"ok\":true}}"),
                ));
                Some(headers)
            } else {
                out.push(
                    Finding::error("remote", format!("{url} answered {status}, not better-auth's {{\"ok\":true}}"))
                        .fix("the reverse proxy must pass /api/auth/* to authkeep unchanged (no prefix stripping)"),
                );
                None
            }
        }
    }
}

fn clock(headers: &HeaderMap) -> Finding {
    let date = headers
        .get(header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
    let Some(date) = date else {
        return Finding::info("remote", "no Date header: clock skew not measured");
    };
    let skew = (chrono::Utc::now() - date.with_timezone(&chrono::Utc)).num_seconds();
    if skew.abs() > MAX_SKEW_SECS {
        Finding::warning(
            "remote",
            format!("the server's clock is {skew:+} s off this machine's: JWTs it mints will look expired or not yet valid to API servers"),
        )
        .fix("run NTP (systemd-timesyncd or chrony) on the server and on this machine")
    } else {
        Finding::ok(
            "remote",
            format!("clock within {} s of this machine's", skew.abs().max(1)),
        )
    }
}

async fn jwks(client: &reqwest::Client, base: &url::Url) -> Finding {
    let url = endpoint(base, "/jwks");
    match client.get(&url).send().await {
        Ok(r) if r.status().is_success() => {
            let doc: serde_json::Value = r.json().await.unwrap_or_default();
            match doc.get("keys").and_then(|k| k.as_array()) {
                Some(keys) => Finding::ok("remote", format!("{url}: {} key(s)", keys.len())),
                None => Finding::error("remote", format!("{url} is not a JSON Web Key Set")),
            }
        }
        Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => Finding::info(
            "remote",
            "no /jwks: the jwt plugin is off (API servers check sessions, not JWTs)",
        ),
        Ok(r) => Finding::error("remote", format!("{url} answered {}", r.status())),
        Err(e) => Finding::error("remote", format!("{url}: {}", reason(&e))),
    }
}

/// Whether a browser on `front` may call the API with credentials.
async fn preflight(client: &reqwest::Client, base: &url::Url, front: &url::Url) -> bool {
    let origin = front.origin().ascii_serialization();
    let Ok(r) = client
        .request(reqwest::Method::OPTIONS, endpoint(base, "/sign-in/email"))
        .header(header::ORIGIN, &origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .send()
        .await
    else {
        return false;
    };
    let h = r.headers();
    let allow_origin = h
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .and_then(|v| v.to_str().ok());
    let credentials = h
        .get(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
        .and_then(|v| v.to_str().ok());
    r.status().is_success() && allow_origin == Some(origin.as_str()) && credentials == Some("true")
}

fn cors_finding(front: &url::Url, allowed: bool) -> Finding {
    let origin = front.origin().ascii_serialization();
    if allowed {
        Finding::ok("remote", "CORS preflight allowed, with credentials").about(origin)
    } else {
        Finding::error(
            "remote",
            "the CORS preflight is refused: the browser will not send sign-in requests from this origin",
        )
        .fix(format!("add it to trusted_origins (BETTER_AUTH_TRUSTED_ORIGINS={origin}); behind a proxy, let OPTIONS through to authkeep"))
        .about(origin)
    }
}

/// Without an account: a sign-in that must fail, answered in better-auth's format.
async fn failed_sign_in(
    client: &reqwest::Client,
    base: &url::Url,
    server: &url::Url,
) -> Vec<Finding> {
    let url = endpoint(base, "/sign-in/email");
    let email = format!("doctor-{}@invalid.example", crate::crypto::generate_id());
    let r = client
        .post(&url)
        .header(header::ORIGIN, server.origin().ascii_serialization())
        .json(&serde_json::json!({ "email": email, "password": "not-the-password-1" }))
        .send()
        .await;
    match r {
        Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED => vec![
            Finding::ok(
                "remote",
                "a sign-in with unknown credentials is refused with 401, as better-auth",
            ),
            Finding::info(
                "remote",
                "pass --email and --password-stdin (a test account) to inspect the session cookie",
            ),
        ],
        Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => vec![Finding::warning(
            "remote",
            "sign-in is rate limited for this machine right now; cookie checks skipped",
        )],
        Ok(r) => vec![Finding::error(
            "remote",
            format!(
                "a sign-in with unknown credentials answered {}, not 401",
                r.status()
            ),
        )],
        Err(e) => vec![Finding::error("remote", format!("{url}: {}", reason(&e)))],
    }
}

/// With an account: sign in, judge the session cookie for each frontend, sign out again.
async fn session_cookie(
    client: &reqwest::Client,
    base: &url::Url,
    server: &url::Url,
    frontends: &[url::Url],
    cors: &[bool],
    account: &Account,
) -> Vec<Finding> {
    let url = endpoint(base, "/sign-in/email");
    let from = frontends
        .first()
        .unwrap_or(server)
        .origin()
        .ascii_serialization();
    let r = match client
        .post(&url)
        .header(header::ORIGIN, &from)
        .json(&serde_json::json!({ "email": account.email, "password": account.password }))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return vec![Finding::error("remote", format!("{url}: {}", reason(&e)))],
    };
    if !r.status().is_success() {
        return vec![Finding::error(
            "remote",
            format!("signing in the test account answered {}", r.status()),
        )];
    }
    let cookies: Vec<String> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let Some(session) = cookies.iter().find(|c| {
        c.split('=')
            .next()
            .is_some_and(|n| n.ends_with("session_token"))
    }) else {
        return vec![Finding::error(
            "remote",
            "signing in set no session_token cookie",
        )];
    };
    let mut out = Vec::new();
    let attributes = cookies::parse_attributes(session);
    if !session.to_ascii_lowercase().contains("httponly") {
        out.push(Finding::error(
            "remote",
            "the session cookie is not HttpOnly: any script on the page can steal it",
        ));
    }
    if base.scheme() == "https" && !attributes.secure {
        out.push(Finding::warning(
            "remote",
            "the session cookie is not Secure on an https server",
        ));
    }
    for (front, allowed) in frontends.iter().zip(cors) {
        out.extend(cookies::judge(server, front, &attributes, *allowed));
    }
    if frontends.is_empty() {
        out.push(Finding::ok(
            "remote",
            format!(
                "session cookie: SameSite={:?}, Secure={}, Partitioned={}",
                attributes.same_site, attributes.secure, attributes.partitioned
            ),
        ));
    }
    if !sign_out(client, base, &from, session).await {
        out.push(
            Finding::warning("remote", "the test session could not be signed out again")
                .fix(format!("authkeep session revoke --email {}", account.email)),
        );
    }
    out
}

/// Ends the test session; whether the server said it did.
async fn sign_out(client: &reqwest::Client, base: &url::Url, origin: &str, session: &str) -> bool {
    let pair = session.split(';').next().unwrap_or_default();
    client
        .post(endpoint(base, "/sign-out"))
        .header(header::ORIGIN, origin)
        .header(header::COOKIE, pair)
        .json(&serde_json::json!({}))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[cfg(test)]
mod tests {
    use super::super::Level;
    use super::*;

    #[test]
    fn the_base_gets_better_auths_path_unless_given_one() {
        assert_eq!(
            auth_base("https://auth.example.com").unwrap().as_str(),
            "https://auth.example.com/api/auth"
        );
        assert_eq!(
            auth_base("https://example.com/auth/api").unwrap().as_str(),
            "https://example.com/auth/api"
        );
        assert!(auth_base("ftp://x").is_err());
        assert!(auth_base("https://op:pw@auth.example.com").is_err());
    }

    #[test]
    fn level_names_are_stable() {
        assert_eq!(serde_json::to_value(Level::Warning).unwrap(), "warning");
    }
}
