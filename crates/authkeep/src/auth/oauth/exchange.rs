//! The token endpoint: the code exchange and refresh grants (client authentication as
//! configured), their answers read as better-auth reads them, and ID-token checks against the
//! provider's key set.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::client::{ClientAuth, FetchError, OAuthHttp};
use super::provider::{Endpoints, Kind, Provider};
use authkeep_verify::VerifyError;
use authkeep_verify::jose::Expectations;

/// A token endpoint's answer (better-auth's `OAuth2Tokens`).
#[derive(Clone, Default)]
pub struct Tokens {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub access_token_expires_at: Option<DateTime<Utc>>,
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Reads a token response: `expires_in` (seconds, a number or numeric text) becomes an
    /// expiry, `scope` (space-separated, or an array) a list.
    pub fn from_response(v: &Value, now: DateTime<Utc>) -> Tokens {
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let expiry = |k: &str| {
            let secs = match v.get(k) {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e10)?;
            #[allow(clippy::cast_possible_truncation)] // bounded above
            Some(now + chrono::Duration::milliseconds((secs * 1000.0) as i64))
        };
        let scopes = match v.get("scope") {
            Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        Tokens {
            access_token: text("access_token"),
            refresh_token: text("refresh_token"),
            id_token: text("id_token"),
            access_token_expires_at: expiry("expires_in"),
            refresh_token_expires_at: expiry("refresh_token_expires_in"),
            scopes,
        }
    }
}

/// Why a step with the provider failed; the text is for the log.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Provider(#[from] super::provider::ProviderError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the provider answered an error: {0}")]
    Refused(String),
    #[error("the ID token was refused: {0}")]
    IdToken(String),
    #[error("the user info was unusable: {0}")]
    UserInfo(&'static str),
}

impl Provider {
    /// The `authorization_code` grant (PKCE verifier included when PKCE is on).
    pub async fn exchange_code(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<Tokens, ExchangeError> {
        let s = &self.settings;
        let redirect = s.redirect_uri.as_deref().unwrap_or(redirect_uri);
        let mut form = vec![("grant_type", "authorization_code"), ("code", code)];
        if s.pkce {
            form.push(("code_verifier", code_verifier));
        }
        form.push(("redirect_uri", redirect));
        self.token_request(http, endpoints, form).await
    }

    /// The `refresh_token` grant.
    pub async fn refresh(
        &self,
        http: &OAuthHttp,
        refresh_token: &str,
    ) -> Result<Tokens, ExchangeError> {
        let endpoints = self.endpoints(http).await?;
        let form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        let tokens = self.token_request(http, &endpoints, form).await?;
        if tokens.access_token.as_deref().is_none_or(str::is_empty) {
            return Err(ExchangeError::Refused("no access_token".into()));
        }
        Ok(tokens)
    }

    async fn token_request(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        mut form: Vec<(&str, &str)>,
    ) -> Result<Tokens, ExchangeError> {
        let s = &self.settings;
        let secret = s.client_secret.as_ref().map(|x| x.expose());
        let basic = match (s.client_auth, secret) {
            (ClientAuth::Basic, Some(secret)) => Some((s.client_id.as_str(), secret)),
            (_, Some(secret)) => {
                form.push(("client_id", &s.client_id));
                form.push(("client_secret", secret));
                None
            }
            (_, None) => {
                form.push(("client_id", &s.client_id));
                None
            }
        };
        let answer = http.post_form(&endpoints.token, &form, basic).await?;
        // GitHub answers a bad code with 200 and `{"error": …}`; others could too.
        if let Some(e) = answer.get("error").and_then(Value::as_str) {
            return Err(ExchangeError::Refused(e.chars().take(64).collect()));
        }
        Ok(Tokens::from_response(&answer, crate::model::now_ms()))
    }

    /// Checks an ID token with the provider's key set: signature, issuer, audience (the
    /// client id), expiry, and the nonce when one is expected.
    pub async fn verify_id_token(
        &self,
        endpoints: &Endpoints,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<Value, ExchangeError> {
        let keys = endpoints
            .id_tokens
            .as_ref()
            .ok_or_else(|| ExchangeError::IdToken("the provider has no key set".into()))?;
        let mut expect = Expectations::id_token(
            keys.issuers.clone(),
            vec![self.settings.client_id.clone()],
            keys.algorithms.clone(),
        );
        expect.max_age = keys.max_age;
        let claims = keys
            .keys
            .verify(token, &expect)
            .await
            .map_err(|e| match e {
                VerifyError::Unauthenticated(why) => ExchangeError::IdToken(why.into()),
                VerifyError::Unavailable(why) => ExchangeError::IdToken(why),
            })?;
        if let Some(n) = nonce
            && claims["nonce"].as_str() != Some(n)
        {
            return Err(ExchangeError::IdToken("the nonce does not match".into()));
        }
        if self.settings.kind == Kind::Google
            && !hosted_domain_allowed(self.settings.hd.as_deref(), &claims)
        {
            return Err(ExchangeError::IdToken(
                "hosted domain (hd) not allowed".into(),
            ));
        }
        Ok(claims)
    }
}

/// Google's `hd` rule: with `hd` configured, the token's `hd` must equal it (`*`: any
/// Workspace domain, but one).
pub(super) fn hosted_domain_allowed(configured: Option<&str>, claims: &Value) -> bool {
    let Some(want) = configured.filter(|h| !h.is_empty()) else {
        return true;
    };
    match claims["hd"].as_str().filter(|h| !h.is_empty()) {
        None => false,
        Some(_) if want == "*" => true,
        Some(got) => got == want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_responses_are_read_as_better_auth_reads_them() {
        let now = crate::model::now_ms();
        let t = Tokens::from_response(
            &json!({"access_token": "a", "expires_in": "3600", "scope": "openid  email"}),
            now,
        );
        assert_eq!(t.scopes, ["openid", "email"]);
        assert_eq!(
            t.access_token_expires_at,
            Some(now + chrono::Duration::seconds(3600))
        );
        let gh = Tokens::from_response(
            &json!({"access_token": "g", "scope": "read:user,user:email"}),
            now,
        );
        assert_eq!(
            gh.scopes,
            ["read:user,user:email"],
            "GitHub's comma list stays one scope"
        );
        assert!(
            Tokens::from_response(&json!({"expires_in": -5}), now)
                .access_token_expires_at
                .is_none()
        );
    }

    #[test]
    fn hosted_domain() {
        assert!(hosted_domain_allowed(None, &json!({})));
        assert!(!hosted_domain_allowed(Some("a.com"), &json!({})));
        assert!(hosted_domain_allowed(Some("*"), &json!({"hd": "b.com"})));
        assert!(!hosted_domain_allowed(
            Some("a.com"),
            &json!({"hd": "b.com"})
        ));
    }
}
