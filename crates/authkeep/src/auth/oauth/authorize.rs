//! The URLs a browser is sent to: the authorization request (better-auth's parameters in its
//! order, PKCE S256) and the end-session request of OpenID Connect RP-initiated logout.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::provider::{Endpoints, Kind, Provider};

/// One authorization request.
#[derive(Debug, Default)]
pub struct AuthorizationRequest<'a> {
    pub state: &'a str,
    pub code_verifier: &'a str,
    pub nonce: Option<&'a str>,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub login_hint: Option<&'a str>,
    pub additional_params: &'a [(String, String)],
}

/// Query parameters the request sets itself; a caller's `additionalParams` may not replace them.
pub const RESERVED_PARAMS: [&str; 8] = [
    "state",
    "client_id",
    "redirect_uri",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "scope",
];

impl Provider {
    /// The authorization URL, with better-auth's parameters in better-auth's order.
    pub fn authorization_url(&self, endpoints: &Endpoints, r: &AuthorizationRequest<'_>) -> String {
        let s = &self.settings;
        let mut scopes: Vec<String> = match s.kind {
            // Generic: the request's scopes first, then the configured ones.
            Kind::Generic => r.scopes.iter().chain(&s.scopes).cloned().collect(),
            _ => s.scopes.iter().chain(r.scopes).cloned().collect(),
        };
        if s.kind == Kind::Generic && endpoints.oidc && !scopes.iter().any(|x| x == "openid") {
            scopes.insert(0, "openid".into());
        }
        let mut params: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", s.client_id.clone()),
            ("state", r.state.into()),
        ];
        if !scopes.is_empty() {
            params.push(("scope", scopes.join(" ")));
        }
        params.push((
            "redirect_uri",
            s.redirect_uri
                .clone()
                .unwrap_or_else(|| r.redirect_uri.into()),
        ));
        let optional = [
            ("login_hint", r.login_hint.map(str::to_owned)),
            ("nonce", r.nonce.map(str::to_owned)),
            ("prompt", s.prompt.clone()),
            ("hd", s.hd.clone()),
            ("access_type", s.access_type.clone()),
            ("response_mode", s.response_mode.clone()),
        ];
        params.extend(
            optional
                .into_iter()
                .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v))),
        );
        if s.pkce {
            params.push(("code_challenge_method", "S256".into()));
            params.push(("code_challenge", code_challenge(r.code_verifier)));
        }
        let extra = s.extra_params.iter().chain(r.additional_params);
        for (k, v) in extra {
            if RESERVED_PARAMS.contains(&k.as_str()) {
                continue;
            }
            match params.iter_mut().find(|(name, _)| *name == k.as_str()) {
                Some(p) => p.1 = v.clone(),
                None => params.push((k.as_str(), v.clone())),
            }
        }
        with_params(&endpoints.authorization, &params)
    }

    /// RP-initiated logout (OpenID Connect): the provider's end-session URL for sign-out.
    pub fn end_session_url(
        &self,
        endpoints: &Endpoints,
        id_token: Option<&str>,
        post_logout_redirect: Option<&str>,
        state: Option<&str>,
    ) -> Option<String> {
        let s = &self.settings;
        if s.kind != Kind::Generic || !s.provider_logout {
            return None;
        }
        let endpoint = endpoints.end_session.as_deref()?;
        url::Url::parse(endpoint).ok()?;
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(t) = id_token {
            params.push(("id_token_hint", t.to_owned()));
        }
        let redirect = post_logout_redirect
            .map(str::to_owned)
            .or_else(|| s.post_logout_redirect_uri.clone());
        match redirect {
            Some(r) => {
                params.push(("post_logout_redirect_uri", r));
                params.push(("client_id", s.client_id.clone()));
                if let Some(st) = state {
                    params.push(("state", st.to_owned()));
                }
            }
            None if id_token.is_none() => params.push(("client_id", s.client_id.clone())),
            None => {}
        }
        Some(with_params(endpoint, &params))
    }
}

/// PKCE S256: base64url(SHA-256(verifier)), unpadded.
pub fn code_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `endpoint` with `params` set: parameters of the same name already in the endpoint's query
/// are dropped, the rest of its query is kept as written (re-encoding it would break providers
/// that sign their query), and the new ones are appended form-encoded (space as `+`), as
/// better-auth's `URLSearchParams` writes them.
fn with_params(endpoint: &str, params: &[(&str, String)]) -> String {
    let (base, query) = match endpoint.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (endpoint, None),
    };
    let (query, fragment) = match query.and_then(|q| q.split_once('#')) {
        Some((q, f)) => (Some(q), Some(f)),
        None => (query, None),
    };
    let mut kept: Vec<String> = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default();
            !params.iter().any(|(k, _)| *k == name)
        })
        .map(str::to_owned)
        .collect();
    let mut added = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        added.append_pair(k, v);
    }
    kept.push(added.finish());
    let mut out = format!("{base}?{}", kept.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_rfc_7636() {
        // base64url(SHA-256), unpadded; the value from Python's hashlib and base64.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K1uQvmnKgUn2u9ZMJlPO2WKqnk"),
            "7TaBUfU_84Lgt-uBTTAgZAIa8vXn-1EYB3aTZQPA474"
        );
    }

    #[test]
    fn parameters_replace_their_namesakes_and_keep_the_rest_verbatim() {
        let url = with_params(
            "https://idp.test/auth?tenant=a%20b&state=old",
            &[("state", "new".into()), ("scope", "openid email".into())],
        );
        assert_eq!(
            url,
            "https://idp.test/auth?tenant=a%20b&state=new&scope=openid+email"
        );
    }
}
