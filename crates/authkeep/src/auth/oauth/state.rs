//! The OAuth `state` as better-auth 1.7.21+ keeps it by default (its "database" strategy): a
//! random 32-character value sent to the provider, a signed `state` cookie holding the same
//! value (5 minutes), and a verification row `auth-state:<state>` whose value is the flow's
//! JSON (callback URLs, PKCE verifier, link, nonce; 10 minutes). Same names and JSON, so a
//! flow started on better-auth finishes on authkeep over one database, and the reverse.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::super::{Auth, AuthError};
use crate::crypto::{self, ct_eq_str};
use crate::model::{Verification, now_ms};

const PREFIX: &str = "auth-state:";
/// better-auth's `generateRandomString` alphabet.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";
const LIFETIME_MS: i64 = 10 * 60 * 1000;

/// A link-social flow: the user to link to, and (encrypted) the session that asked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LinkState {
    pub email: String,
    #[serde(deserialize_with = "coerce_string")]
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_session_token: Option<String>,
}

/// The flow's data, in better-auth's key order (`JSON.stringify` of its state object).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StateData {
    /// The caller's `additionalData`, at the top level as better-auth puts it.
    #[serde(flatten)]
    pub additional: Map<String, Value>,
    #[serde(rename = "callbackURL")]
    pub callback_url: String,
    pub code_verifier: String,
    #[serde(rename = "errorURL", skip_serializing_if = "Option::is_none")]
    pub error_url: Option<String>,
    #[serde(rename = "newUserURL", skip_serializing_if = "Option::is_none")]
    pub new_user_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkState>,
    /// Milliseconds since the epoch.
    pub expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_sign_up: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth_state: Option<String>,
}

/// better-auth's own keys; `additionalData` cannot shadow them.
const INTERNAL_KEYS: [&str; 11] = [
    "callbackURL",
    "codeVerifier",
    "errorURL",
    "newUserURL",
    "expiresAt",
    "oauthState",
    "link",
    "requestSignUp",
    "idTokenNonce",
    "serverContext",
    "additional",
];

fn coerce_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Why a callback's state was refused: the `error` of the redirect and, when the state was
/// read far enough to know it, the flow's own error URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub code: &'static str,
    pub error_url: Option<String>,
}

impl StateData {
    /// A new flow's data, expiring in 10 minutes, with a fresh PKCE verifier.
    pub fn new(callback_url: String, additional: Map<String, Value>) -> Self {
        let additional = additional
            .into_iter()
            .filter(|(k, _)| !INTERNAL_KEYS.contains(&k.as_str()))
            .collect();
        StateData {
            additional,
            callback_url,
            code_verifier: crypto::random_string(128, ALPHABET),
            error_url: None,
            new_user_url: None,
            link: None,
            expires_at: now_ms().timestamp_millis() + LIFETIME_MS,
            request_sign_up: None,
            id_token_nonce: None,
            oauth_state: None,
        }
    }
}

/// A fresh value for a `nonce` (OpenID Connect) or the `state` itself.
pub fn random_value() -> String {
    crypto::random_string(32, ALPHABET)
}

/// Stores the flow and returns the `state` to send (and to put in the signed cookie).
pub async fn create(auth: &Auth, mut data: StateData) -> Result<String, AuthError> {
    let state = random_value();
    data.oauth_state = Some(state.clone());
    let value = serde_json::to_string(&data)
        .map_err(|_| AuthError::Message("Unable to create verification"))?;
    let row = Verification::new(
        format!("{PREFIX}{state}"),
        value,
        now_ms(),
        chrono::Duration::milliseconds(LIFETIME_MS),
    );
    auth.store.replace_verification(&row).await?;
    Ok(state)
}

/// Reads and uses up the flow named by `state`. `cookie` is the value of the signed `state`
/// cookie (`None` when absent or badly signed): it must equal `state`, so a callback only
/// completes in the browser that started the flow.
pub async fn consume(
    auth: &Auth,
    state: &str,
    cookie: Option<&str>,
) -> Result<Result<StateData, StateError>, AuthError> {
    let refused = |error_url: Option<String>| {
        Ok(Err(StateError {
            code: "state_mismatch",
            error_url,
        }))
    };
    let Some(row) = auth
        .store
        .find_verification(&format!("{PREFIX}{state}"))
        .await?
    else {
        return refused(None);
    };
    let Ok(data) = serde_json::from_str::<StateData>(&row.value) else {
        return Ok(Err(StateError {
            code: "internal_server_error",
            error_url: None,
        }));
    };
    if data.oauth_state.as_deref().is_some_and(|s| s != state) {
        return refused(data.error_url);
    }
    if !cookie.is_some_and(|c| ct_eq_str(c, state)) {
        return refused(data.error_url);
    }
    // Used once: of two callbacks racing with the same state, one wins.
    if !auth.store.delete_verification_if(&row, &row.value).await? {
        return refused(data.error_url);
    }
    if data.expires_at < now_ms().timestamp_millis() {
        return refused(data.error_url);
    }
    Ok(Ok(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_has_better_auths_keys_in_its_order() {
        let mut extra = Map::new();
        extra.insert("plan".into(), json!("pro"));
        extra.insert("callbackURL".into(), json!("https://evil.test"));
        let mut d = StateData::new("/dashboard".into(), extra);
        d.error_url = Some("/err".into());
        d.oauth_state = Some("s".into());
        let text = serde_json::to_string(&d).unwrap();
        let keys: Vec<String> = serde_json::from_str::<Map<String, Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "plan",
                "callbackURL",
                "codeVerifier",
                "errorURL",
                "expiresAt",
                "oauthState"
            ]
        );
        assert!(
            text.contains("\"callbackURL\":\"/dashboard\""),
            "additionalData cannot shadow: {text}"
        );
        assert_eq!(d.code_verifier.len(), 128);
    }

    #[test]
    fn better_auths_state_json_reads() {
        let v = r#"{"callbackURL":"/dashboard","codeVerifier":"abc","errorURL":"/err","newUserURL":"/welcome","link":{"email":"a@b.c","userId":42},"expiresAt":1795758348144,"oauthState":"XiPm"}"#;
        let d: StateData = serde_json::from_str(v).unwrap();
        assert_eq!(d.link.unwrap().user_id, "42");
        assert_eq!(d.new_user_url.as_deref(), Some("/welcome"));
    }
}
