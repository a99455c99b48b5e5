//! better-auth's stateless email token: an HS256 JWT (header exactly `{"alg":"HS256"}`, key =
//! the secret) over the flow's claims plus `iat` and `exp`. Email verification and change of
//! email use it, so a link issued by either server verifies on the other when they share the
//! secret. Also the link-building helper both flows share.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use super::ErrorCode;
use crate::crypto::HmacKey;

/// A token for email verification: `email` and `userId`.
pub fn verification_token(key: &HmacKey, email: &str, user_id: &str, expires_in: i64) -> String {
    sign(
        key,
        json!({ "email": email, "userId": user_id }),
        expires_in,
    )
}

/// Signs `claims` plus `iat`/`exp` (`expires_in` seconds from now).
pub fn sign(key: &HmacKey, mut claims: Value, expires_in: i64) -> String {
    let iat = chrono::Utc::now().timestamp();
    claims["iat"] = iat.into();
    claims["exp"] = (iat + expires_in).into();
    let header = B64.encode(r#"{"alg":"HS256"}"#);
    let input = format!("{header}.{}", B64.encode(claims.to_string()));
    format!("{input}.{}", B64.encode(key.mac(input.as_bytes())))
}

/// The claims of a valid, unexpired token (no clock tolerance, as better-auth).
pub fn verify(key: &HmacKey, token: &str) -> Result<Value, ErrorCode> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ErrorCode::InvalidToken);
    };
    let header: Value = B64
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(ErrorCode::InvalidToken)?;
    if header["alg"] != "HS256" {
        return Err(ErrorCode::InvalidToken);
    }
    let sig = B64.decode(s).map_err(|_| ErrorCode::InvalidToken)?;
    if !key.verify(format!("{h}.{c}").as_bytes(), &sig) {
        return Err(ErrorCode::InvalidToken);
    }
    let claims: Value = B64
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(ErrorCode::InvalidToken)?;
    let exp = claims["exp"].as_i64().ok_or(ErrorCode::InvalidToken)?;
    if exp <= chrono::Utc::now().timestamp() {
        return Err(ErrorCode::TokenExpired);
    }
    Ok(claims)
}

/// A query value as JavaScript's `encodeURIComponent` writes it (space as `%20`), so links
/// look exactly like better-auth's.
pub fn url_component(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Secret;

    fn key(s: &str) -> HmacKey {
        HmacKey::new(&Secret::new(s))
    }

    #[test]
    fn tokens_round_trip_and_fail_closed() {
        let t = verification_token(&key("s3cret"), "a@b.co", "u1", 60);
        assert_eq!(verify(&key("s3cret"), &t).unwrap()["email"], "a@b.co");
        assert_eq!(verify(&key("other"), &t), Err(ErrorCode::InvalidToken));
        assert_eq!(
            verify(
                &key("s3cret"),
                &verification_token(&key("s3cret"), "a@b.co", "u1", -1)
            ),
            Err(ErrorCode::TokenExpired)
        );
        assert_eq!(verify(&key("s3cret"), "abc"), Err(ErrorCode::InvalidToken));
        let none = format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none"}"#),
            t.split('.').nth(1).unwrap()
        );
        assert_eq!(verify(&key("s3cret"), &none), Err(ErrorCode::InvalidToken));
    }

    #[test]
    fn the_header_is_better_auths() {
        let t = verification_token(&key("k"), "x@y.co", "id", 3600);
        let header: Value =
            serde_json::from_slice(&B64.decode(t.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "HS256"}));
    }

    #[test]
    fn components_are_encoded_like_javascript() {
        assert_eq!(url_component("/a b?c=d&e"), "%2Fa%20b%3Fc%3Dd%26e");
    }
}
