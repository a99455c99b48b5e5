//! Who the user is, as a provider says it (the ID token, the user-info endpoint, or GitHub's
//! `/user` and `/user/emails`), mapped as better-auth maps each provider.

use base64::Engine;
use serde_json::Value;

use super::client::OAuthHttp;
use super::exchange::{ExchangeError, Tokens, hosted_domain_allowed};
use super::provider::{Endpoints, Kind, Provider};

/// Who the provider says the user is.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The provider's id for the user (better-auth's `accountId`).
    pub account_id: String,
    pub name: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub image: Option<String>,
    /// The provider's own profile document (`/account-info`'s `data`).
    pub raw: Value,
}

/// better-auth's `parseStringBoolean`: `true`, `false` and their text forms.
pub fn string_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// An account subject as better-auth's `String(subject)` gives it, refused when empty or
/// `undefined`/`null` (better-auth's `OAUTH_ACCOUNT_SUBJECT_INVALID`).
fn subject(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.trim().is_empty() && s != "undefined" && s != "null").then_some(s)
}

/// The claims of a JWT, unverified (for a token that came straight from the token endpoint
/// over TLS, where better-auth reads it so too; authkeep verifies it as well where it can).
fn decode_claims(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_, claims) = (parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok().filter(Value::is_object)
}

/// The `sub` of an ID token, read without verification (to compare with a stored account).
pub fn id_token_subject(token: &str) -> Option<String> {
    decode_claims(token).and_then(|c| subject(&c["sub"]))
}

impl Provider {
    /// Who signed in, after a code exchange. `expected_nonce` is the one the state carries.
    pub async fn user_info(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        tokens: &Tokens,
        expected_nonce: Option<&str>,
    ) -> Result<Profile, ExchangeError> {
        match self.settings.kind {
            Kind::Google => {
                let id_token = tokens
                    .id_token
                    .as_deref()
                    .ok_or(ExchangeError::UserInfo("no id_token"))?;
                // better-auth trusts the token endpoint's ID token unverified; authkeep checks
                // it too (signature, issuer, audience, expiry) when it has Google's keys.
                let claims = if endpoints.id_tokens.is_some() {
                    self.verify_id_token(endpoints, id_token, None).await?
                } else {
                    decode_claims(id_token).ok_or(ExchangeError::UserInfo("malformed id_token"))?
                };
                if !hosted_domain_allowed(self.settings.hd.as_deref(), &claims) {
                    return Err(ExchangeError::UserInfo("hosted domain (hd) not allowed"));
                }
                google_profile(claims)
            }
            Kind::GitHub => self.github_profile(http, endpoints, tokens).await,
            Kind::Generic => {
                self.generic_profile(http, endpoints, tokens, expected_nonce)
                    .await
            }
        }
    }

    /// Who the stored tokens belong to, for `/account-info`: Google's stored ID token read as
    /// it is (better-auth makes no network call for it), the others asked again.
    pub async fn account_info(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        tokens: &Tokens,
    ) -> Result<Profile, ExchangeError> {
        match self.settings.kind {
            Kind::Google => google_profile(
                tokens
                    .id_token
                    .as_deref()
                    .and_then(decode_claims)
                    .ok_or(ExchangeError::UserInfo("no stored id_token"))?,
            ),
            _ => self.user_info(http, endpoints, tokens, None).await,
        }
    }

    /// The profile an ID token describes, for ID-token sign-in (`idToken` in the body) once
    /// the token is verified.
    pub async fn profile_from_id_token(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        claims: Value,
        token: &str,
    ) -> Result<Profile, ExchangeError> {
        match self.settings.kind {
            Kind::Google => google_profile(claims),
            _ => {
                let tokens = Tokens {
                    id_token: Some(token.to_owned()),
                    ..Tokens::default()
                };
                self.generic_from(http, endpoints, &tokens, Some(claims))
                    .await
            }
        }
    }

    async fn github_profile(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        tokens: &Tokens,
    ) -> Result<Profile, ExchangeError> {
        let token = tokens
            .access_token
            .as_deref()
            .ok_or(ExchangeError::UserInfo("no access_token"))?;
        let user_url = endpoints
            .user_info
            .as_deref()
            .ok_or(ExchangeError::UserInfo("no user endpoint"))?;
        // GitHub refuses API requests without a User-Agent.
        let agent = Some("better-auth");
        let mut user = http.get_json(user_url, Some(token), agent).await?;
        if !user.is_object() {
            return Err(ExchangeError::UserInfo("the user is not an object"));
        }
        let emails = match &endpoints.emails {
            // Errors here are ignored, as better-auth ignores them: the public email may do.
            Some(url) => http.get_json(url, Some(token), agent).await.ok(),
            None => None,
        };
        let emails = emails.as_ref().and_then(Value::as_array);
        if user["email"].as_str().is_none_or(str::is_empty)
            && let Some(list) = emails
        {
            let chosen = list
                .iter()
                .find(|e| e["primary"].as_bool() == Some(true))
                .or_else(|| list.first());
            if let Some(email) = chosen.and_then(|e| e.get("email")) {
                user["email"] = email.clone();
            }
        }
        let email = user["email"].as_str().map(str::to_owned);
        let email_verified = emails
            .and_then(|list| {
                list.iter().find(|e| {
                    e["email"].as_str().is_some() && e["email"].as_str() == email.as_deref()
                })
            })
            .and_then(|e| e["verified"].as_bool())
            .unwrap_or(false);
        let name = [&user["name"], &user["login"]]
            .into_iter()
            .filter_map(Value::as_str)
            .find(|s| !s.is_empty())
            .unwrap_or("")
            .to_owned();
        Ok(Profile {
            account_id: subject(&user["id"]).ok_or(ExchangeError::UserInfo("no user id"))?,
            name,
            email,
            email_verified,
            image: user["avatar_url"].as_str().map(str::to_owned),
            raw: user,
        })
    }

    async fn generic_profile(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        tokens: &Tokens,
        expected_nonce: Option<&str>,
    ) -> Result<Profile, ExchangeError> {
        // An ID token from a provider with a key set is verified (nonce included); one from a
        // provider without is read as it is (better-auth's `fetchUserInfo`).
        let claims = match (&tokens.id_token, &endpoints.id_tokens) {
            (Some(t), Some(_)) => Some(self.verify_id_token(endpoints, t, expected_nonce).await?),
            _ => None,
        };
        self.generic_from(http, endpoints, tokens, claims).await
    }

    async fn generic_from(
        &self,
        http: &OAuthHttp,
        endpoints: &Endpoints,
        tokens: &Tokens,
        verified: Option<Value>,
    ) -> Result<Profile, ExchangeError> {
        let claims = verified
            .clone()
            .or_else(|| tokens.id_token.as_deref().and_then(decode_claims));
        let has = |c: &Value, k: &str| c.get(k).is_some_and(|v| !v.is_null() && v != "");
        // The profile document as better-auth's generic provider builds it (`/account-info`
        // shows it as `data`): the ID token's claims when they name the user and an email,
        // else the user-info answer, with better-auth's `id`/`emailVerified`/`image` keys.
        let raw = match &claims {
            Some(c) if has(c, "sub") && has(c, "email") => {
                let mut raw = serde_json::Map::new();
                raw.insert("id".into(), c["sub"].clone());
                raw.insert(
                    "emailVerified".into(),
                    Value::Bool(string_bool(&c["email_verified"]).unwrap_or(false)),
                );
                // An absent picture stays absent (better-auth's `undefined` is not serialized).
                if let Some(p) = c.get("picture").filter(|p| !p.is_null()) {
                    raw.insert("image".into(), p.clone());
                }
                if let Some(map) = c.as_object() {
                    raw.extend(map.clone());
                }
                Value::Object(raw)
            }
            _ => {
                let url = endpoints
                    .user_info
                    .as_deref()
                    .ok_or(ExchangeError::UserInfo(
                        "no ID token claims and no userinfo endpoint",
                    ))?;
                let token = tokens
                    .access_token
                    .as_deref()
                    .ok_or(ExchangeError::UserInfo("no access_token"))?;
                let info = http.get_json(url, Some(token), None).await?;
                let Some(map) = info.as_object() else {
                    return Err(ExchangeError::UserInfo("the user info is not an object"));
                };
                // The user info must describe the ID token's subject (OIDC Core §5.3.2).
                if let Some(sub) = verified.as_ref().and_then(|c| c["sub"].as_str())
                    && info.get("sub").is_some()
                    && subject(&info["sub"]).as_deref() != Some(sub)
                {
                    return Err(ExchangeError::UserInfo(
                        "the user info names another subject",
                    ));
                }
                let mut raw = map.clone();
                raw.insert(
                    "emailVerified".into(),
                    Value::Bool(string_bool(&info["email_verified"]).unwrap_or(false)),
                );
                if let Some(p) = info.get("picture").filter(|p| !p.is_null()) {
                    raw.insert("image".into(), p.clone());
                }
                Value::Object(raw)
            }
        };
        let account_id = if !endpoints.oidc {
            subject(&raw["id"])
        } else if let (Some(c), Some(_)) = (&claims, &endpoints.id_tokens) {
            subject(&c["sub"])
        } else {
            subject(&raw["sub"])
        };
        Ok(Profile {
            account_id: account_id.ok_or(ExchangeError::UserInfo("no subject"))?,
            name: raw["name"].as_str().unwrap_or("").to_owned(),
            email: raw["email"].as_str().map(str::to_owned),
            email_verified: string_bool(&raw["emailVerified"]).unwrap_or(false),
            image: raw["image"].as_str().map(str::to_owned),
            raw,
        })
    }
}

/// Google's claims as better-auth maps them.
fn google_profile(claims: Value) -> Result<Profile, ExchangeError> {
    Ok(Profile {
        account_id: subject(&claims["sub"]).ok_or(ExchangeError::UserInfo("no sub"))?,
        name: claims["name"].as_str().unwrap_or("").to_owned(),
        email: claims["email"].as_str().map(str::to_owned),
        email_verified: string_bool(&claims["email_verified"]).unwrap_or(false),
        image: claims["picture"].as_str().map(str::to_owned),
        raw: claims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_follow_better_auths_string_rules() {
        assert_eq!(subject(&json!(42)).as_deref(), Some("42"));
        assert_eq!(subject(&json!("null")), None);
        assert_eq!(subject(&json!(" ")), None);
        assert_eq!(subject(&Value::Null), None);
    }
}
