//! JWS signature checks over public JWKs: EdDSA (Ed25519), ES256 and RS256 only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::Value;

/// A public key from a JWKS, bound to the one algorithm it may verify.
#[derive(Debug, Clone)]
pub(crate) enum PublicKey {
    Ed25519(ed25519_compact::PublicKey),
    P256(p256::ecdsa::VerifyingKey),
    Rsa(Box<rsa::pkcs1v15::VerifyingKey<sha2_010::Sha256>>),
}

impl PublicKey {
    /// Reads one JWKS entry. The key's own `alg` must be one this crate verifies.
    pub(crate) fn from_jwk(jwk: &Value) -> Option<(String, PublicKey)> {
        let kid = jwk.get("kid")?.as_str()?.to_owned();
        let field = |n: &str| {
            jwk.get(n)
                .and_then(Value::as_str)
                .and_then(|s| B64.decode(s).ok())
        };
        let key = match (
            jwk.get("kty")?.as_str()?,
            jwk.get("alg").and_then(Value::as_str),
        ) {
            ("OKP", Some("EdDSA") | None) if jwk.get("crv")? == "Ed25519" => {
                PublicKey::Ed25519(ed25519_compact::PublicKey::from_slice(&field("x")?).ok()?)
            }
            ("EC", Some("ES256") | None) if jwk.get("crv")? == "P-256" => {
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return None;
                }
                let point = p256::EncodedPoint::from_affine_coordinates(
                    x.as_slice().into(),
                    y.as_slice().into(),
                    false,
                );
                PublicKey::P256(p256::ecdsa::VerifyingKey::from_encoded_point(&point).ok()?)
            }
            ("RSA", Some("RS256") | None) => {
                let n = rsa::BigUint::from_bytes_be(&field("n")?);
                let e = rsa::BigUint::from_bytes_be(&field("e")?);
                let key = rsa::RsaPublicKey::new(n, e).ok()?;
                PublicKey::Rsa(Box::new(rsa::pkcs1v15::VerifyingKey::new(key)))
            }
            _ => return None,
        };
        Some((kid, key))
    }

    pub(crate) fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Ed25519(_) => "EdDSA",
            PublicKey::P256(_) => "ES256",
            PublicKey::Rsa(_) => "RS256",
        }
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(pk) => ed25519_compact::Signature::from_slice(signature)
                .is_ok_and(|sig| pk.verify(message, &sig).is_ok()),
            PublicKey::P256(vk) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|sig| vk.verify(message, &sig).is_ok())
            }
            PublicKey::Rsa(vk) => {
                use rsa::signature::Verifier;
                rsa::pkcs1v15::Signature::try_from(signature)
                    .is_ok_and(|sig| vk.verify(message, &sig).is_ok())
            }
        }
    }
}

/// A compact JWS split and decoded: header, claims, signing input and signature.
pub(crate) struct Parts {
    pub(crate) header: Value,
    pub(crate) claims: Value,
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
}

pub(crate) fn split(token: &str) -> Option<Parts> {
    let mut it = token.split('.');
    let (h, c, s) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    Some(Parts {
        header: serde_json::from_slice(&B64.decode(h).ok()?).ok()?,
        claims: serde_json::from_slice(&B64.decode(c).ok()?).ok()?,
        signing_input: format!("{h}.{c}"),
        signature: B64.decode(s).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_better_auth_jwt_verifies_against_its_jwks() {
        let v: Value = serde_json::from_str(include_str!(
            "../../../docs/vectors/better-auth-1.7.25.json"
        ))
        .unwrap();
        let (kid, key) = PublicKey::from_jwk(&v["jwt"]["jwks"]["keys"][0]).unwrap();
        let parts = split(v["jwt"]["token"].as_str().unwrap()).unwrap();
        assert_eq!(parts.header["kid"], kid.as_str());
        assert_eq!(key.algorithm(), "EdDSA");
        assert!(key.verify(parts.signing_input.as_bytes(), &parts.signature));
        assert!(!key.verify(b"something else", &parts.signature));
    }

    #[test]
    fn jwks_entries_with_foreign_algorithms_are_skipped() {
        assert!(
            PublicKey::from_jwk(
                &serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "x", "alg": "HS256"})
            )
            .is_none()
        );
        assert!(PublicKey::from_jwk(&serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "x", "alg": "ES256"})).is_none());
    }
}
