//! Verifying a JWT against a remote key set, for any issuer: the checks [`Verifier`] makes on
//! authkeep's own tokens, and the ones an OpenID Connect relying party makes on a provider's
//! ID tokens (the authkeep server uses this for Google and generic OIDC sign-in).
//!
//! [`Verifier`]: crate::Verifier

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use crate::jwks::{self, Cache};
use crate::jws::{self, PublicKey};
use crate::{VerifyError, error_chain};

/// What a token must satisfy beyond its signature.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Accepted `alg` values, from `EdDSA`, `ES256` and `RS256`; taken from configuration,
    /// never from the token.
    pub algorithms: Vec<&'static str>,
    /// Accepted `iss` values (one must match exactly).
    pub issuers: Vec<String>,
    /// Accepted audiences: the token's `aud` (a string or an array) must contain one.
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`.
    pub leeway: Duration,
    /// The oldest `iat` accepted, if any (Google's ID tokens: one hour).
    pub max_age: Option<Duration>,
    /// Claims that must be present (OpenID Connect: `iss`, `sub`, `aud`, `exp`, `iat`).
    pub required: Vec<&'static str>,
}

impl Expectations {
    /// The checks OpenID Connect Core §3.1.3.7 asks of an ID token (without the nonce, which
    /// the caller compares): `iss`, `aud`, a signature by one of `algorithms`, `exp` and `iat`
    /// present, 30 s of clock skew.
    pub fn id_token(
        issuers: Vec<String>,
        audiences: Vec<String>,
        algorithms: Vec<&'static str>,
    ) -> Self {
        Expectations {
            algorithms,
            issuers,
            audiences,
            leeway: Duration::from_secs(30),
            max_age: None,
            required: vec!["iss", "sub", "aud", "exp", "iat"],
        }
    }
}

/// Checks the claims of a token whose signature is already verified. The reason is short and
/// safe to log.
pub(crate) fn check_claims(c: &Value, expect: &Expectations) -> Result<(), &'static str> {
    for name in &expect.required {
        if c.get(*name).is_none_or(Value::is_null) {
            return Err("a required claim is missing");
        }
    }
    let now = Utc::now().timestamp();
    let leeway = i64::try_from(expect.leeway.as_secs()).unwrap_or(i64::MAX);
    if c["exp"]
        .as_i64()
        .is_none_or(|exp| exp.saturating_add(leeway) <= now)
    {
        return Err("token expired");
    }
    if c["nbf"]
        .as_i64()
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err("token not yet valid");
    }
    if let Some(iat) = c["iat"].as_i64() {
        if iat > now.saturating_add(leeway) {
            return Err("token issued in the future");
        }
        if let Some(max_age) = expect.max_age {
            let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            if iat.saturating_add(max_age).saturating_add(leeway) < now {
                return Err("token too old");
            }
        }
    } else if expect.max_age.is_some() {
        return Err("token has no iat");
    }
    let iss = c["iss"].as_str();
    if !expect.issuers.iter().any(|i| Some(i.as_str()) == iss) {
        return Err("wrong issuer");
    }
    let aud_ok = match &c["aud"] {
        Value::String(a) => expect.audiences.iter().any(|x| x == a),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|a| expect.audiences.iter().any(|x| x == a)),
        _ => false,
    };
    if !aud_ok {
        return Err("wrong audience");
    }
    Ok(())
}

/// The signing key of `token` (looked up by `kid`) checks its signature, with an algorithm
/// the caller allows. Returns the claims.
pub(crate) async fn verify_signature<F, Fut>(
    token: &str,
    algorithms: &[&'static str],
    key: F,
) -> Result<Value, VerifyError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Option<PublicKey>, VerifyError>>,
{
    use VerifyError::Unauthenticated as No;
    let parts = jws::split(token).ok_or(No("malformed token"))?;
    let alg = parts.header["alg"].as_str().unwrap_or("");
    if !algorithms.contains(&alg) {
        return Err(No("algorithm not allowed"));
    }
    let kid = parts.header["kid"].as_str().ok_or(No("token has no kid"))?;
    let key = key(kid.to_owned())
        .await?
        .ok_or(No("unknown signing key"))?;
    if key.algorithm() != alg || !key.verify(parts.signing_input.as_bytes(), &parts.signature) {
        return Err(No("bad signature"));
    }
    Ok(parts.claims)
}

/// A remote JWKS (a provider's `jwks_uri`) and the tokens it signs. Cheap to share: keys are
/// cached, refetched when stale or when a token names an unknown `kid` (at most every 10 s),
/// and a failing endpoint is backed off (1 s doubling to 15 s), as for [`crate::Verifier`].
#[derive(Debug)]
pub struct KeySet {
    url: String,
    http: reqwest::Client,
    timeout: Duration,
    policy: jwks::Policy,
    cache: Cache,
}

impl KeySet {
    /// Keys from `url`, fetched with `http`; each fetch is bounded by `timeout`.
    pub fn new(url: impl Into<String>, http: reqwest::Client, timeout: Duration) -> Self {
        KeySet {
            url: url.into(),
            http,
            timeout,
            policy: jwks::Policy {
                ttl: Duration::from_secs(300),
                min_refetch: Duration::from_secs(10),
                backoff_initial: Duration::from_secs(1),
                backoff_max: Duration::from_secs(15),
            },
            cache: Cache::default(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The verified claims of `token`. `Unauthenticated` says why a token was refused;
    /// `Unavailable` that the key set could not be fetched.
    pub async fn verify(&self, token: &str, expect: &Expectations) -> Result<Value, VerifyError> {
        let claims = verify_signature(token, &expect.algorithms, |kid| async move {
            self.cache
                .key(&kid, &self.policy, || {
                    fetch_key_set(&self.http, &self.url, self.timeout)
                })
                .await
        })
        .await?;
        check_claims(&claims, expect).map_err(VerifyError::Unauthenticated)?;
        Ok(claims)
    }
}

/// The most of a key set that is read: real ones are a few KB.
const MAX_KEY_SET: usize = 256 * 1024;

/// The usable keys of the JWKS document at `url` (at most 256 KiB of it). The error is the
/// cause with its source chain.
pub(crate) async fn fetch_key_set(
    http: &reqwest::Client,
    url: &str,
    timeout: Duration,
) -> Result<HashMap<String, PublicKey>, String> {
    let mut response = http
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| error_chain(&e))?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        if body.len() + chunk.len() > MAX_KEY_SET {
            return Err(format!("the key set is larger than {MAX_KEY_SET} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let doc: Value =
        serde_json::from_slice(&body).map_err(|e| format!("the key set is not JSON: {e}"))?;
    Ok(doc["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(PublicKey::from_jwk)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect() -> Expectations {
        let mut e = Expectations::id_token(
            vec!["https://idp.test".into()],
            vec!["client".into()],
            vec!["RS256"],
        );
        e.max_age = Some(Duration::from_secs(3600));
        e
    }

    #[test]
    fn id_token_claims_are_checked_as_openid_connect_asks() {
        let now = Utc::now().timestamp();
        let good = json!({"iss": "https://idp.test", "sub": "1", "aud": "client", "exp": now + 60, "iat": now});
        assert_eq!(check_claims(&good, &expect()), Ok(()));
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            check_claims(&c, &expect())
        };
        assert_eq!(with("aud", json!(["other", "client"])), Ok(()));
        assert_eq!(with("aud", json!("other")), Err("wrong audience"));
        assert_eq!(with("iss", json!("https://evil.test")), Err("wrong issuer"));
        assert_eq!(with("exp", json!(now - 31)), Err("token expired"));
        assert_eq!(with("exp", json!(now - 10)), Ok(()), "within the leeway");
        assert_eq!(with("iat", json!(now - 7200)), Err("token too old"));
        assert_eq!(
            with("iat", json!(now + 600)),
            Err("token issued in the future")
        );
        assert_eq!(with("sub", Value::Null), Err("a required claim is missing"));
    }
}
