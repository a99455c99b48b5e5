//! Requests to providers: bounded in time and size, never following redirects (a redirect from
//! a token or user-info endpoint is refused, as better-auth refuses it, so a compromised
//! endpoint cannot point the server at an internal address), and logged without bodies (they
//! carry tokens).

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

/// The most of a provider's answer that is read (documents and token responses are a few KB).
const MAX_BODY: usize = 256 * 1024;

/// Why a request to a provider failed. The text is safe to log: URLs and statuses, no bodies.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error("{url}: {cause}")]
    Transport { url: String, cause: String },
    #[error("{url}: answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: answered a redirect, which is not followed")]
    Redirect { url: String },
    #[error("{url}: the answer is larger than {MAX_BODY} bytes")]
    TooLarge { url: String },
    #[error("{url}: the answer is not JSON")]
    NotJson { url: String },
}

/// The HTTP client for provider requests. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OAuthHttp {
    client: Result<reqwest::Client, String>,
    timeout: Duration,
}

/// Client credentials at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_post`: `client_id` and `client_secret` in the form.
    Post,
    /// `client_secret_basic`: `Authorization: Basic`, each part form-encoded first (RFC 6749 §2.3.1).
    Basic,
}

impl OAuthHttp {
    /// `timeout` bounds each request, from connecting to the last byte.
    pub fn new(timeout: Duration) -> Self {
        let client = authkeep_verify::http_client_builder().and_then(|b| {
            b.redirect(reqwest::redirect::Policy::none())
                .connect_timeout(timeout)
                .timeout(timeout)
                .user_agent(concat!("authkeep/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| chain(&e))
        });
        OAuthHttp { client, timeout }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn client(&self) -> Result<&reqwest::Client, FetchError> {
        self.client
            .as_ref()
            .map_err(|e| FetchError::Client(e.clone()))
    }

    /// POSTs `form` and reads the JSON answer. With `basic`, the client authenticates with
    /// `Authorization: Basic` instead of form fields.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Value, FetchError> {
        // Built before any await: the serializer is not `Send`.
        let body = {
            let mut body = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                body.append_pair(k, v);
            }
            body.finish()
        };
        let mut req = self
            .client()?
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        if let Some((id, secret)) = basic {
            req = req.header("authorization", basic_credentials(id, secret));
        }
        self.read_json(url, req).await
    }

    /// GETs JSON, with a bearer token and a `User-Agent` when given.
    pub async fn get_json(
        &self,
        url: &str,
        bearer: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<Value, FetchError> {
        let mut req = self.client()?.get(url).header("accept", "application/json");
        if let Some(token) = bearer {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if let Some(agent) = user_agent {
            req = req.header("user-agent", agent);
        }
        self.read_json(url, req).await
    }

    async fn read_json(
        &self,
        url: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<Value, FetchError> {
        let url = without_query(url);
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: url.clone(),
            cause: chain(&e),
        };
        let mut response = req.send().await.map_err(transport)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::Redirect { url });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::TooLarge { url });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url,
                status: status.as_u16(),
            });
        }
        serde_json::from_slice(&body).map_err(|_| FetchError::NotJson { url })
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))`, as RFC 6749 §2.3.1 asks and better-auth sends.
fn basic_credentials(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// A URL for logs: a query may carry codes or tokens.
fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_owned()
}

/// An error and its sources, `: `-separated (reqwest's own message leaves out the cause).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    crate::report::Report(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        // RFC 6749 §2.3.1: "a b" → "a+b", ":" → "%3A" before base64.
        let h = basic_credentials("client:1", "s e/cret");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(h.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "client%3A1:s+e%2Fcret");
        assert_eq!(
            without_query("https://x.test/t?code=abc"),
            "https://x.test/t"
        );
    }
}
