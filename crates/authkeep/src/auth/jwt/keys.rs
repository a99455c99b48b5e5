//! Signing keys for better-auth's jwt plugin: EdDSA (Ed25519, the default), ES256 and RS256,
//! as JWKs, and JWS signatures over them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value, json};

pub use crate::model::JwtAlgorithm as Algorithm;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the private JWK is not a valid {0} key")]
    Invalid(&'static str),
    #[error("key algorithm {0} is not supported")]
    Unsupported(String),
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn field(jwk: &Map<String, Value>, name: &str, alg: &'static str) -> Result<Vec<u8>, KeyError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .and_then(|s| B64.decode(s).ok())
        .ok_or(KeyError::Invalid(alg))
}

/// A private key able to sign JWTs.
pub enum SigningKey {
    Ed25519(ed25519_compact::KeyPair),
    P256(p256::ecdsa::SigningKey),
    Rsa(
        Box<rsa::pkcs1v15::SigningKey<sha2_010::Sha256>>,
        Box<rsa::RsaPrivateKey>,
    ),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.algorithm().as_str())
    }
}

impl SigningKey {
    /// A new random key. RSA keys are 2048 bits.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        Ok(match alg {
            Algorithm::EdDSA => {
                let mut seed = [0u8; 32];
                rand::fill(&mut seed);
                SigningKey::Ed25519(ed25519_compact::KeyPair::from_seed(
                    ed25519_compact::Seed::new(seed),
                ))
            }
            Algorithm::ES256 => loop {
                let mut d = [0u8; 32];
                rand::fill(&mut d);
                if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&d) {
                    break SigningKey::P256(k);
                }
            },
            Algorithm::RS256 => {
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
                    .map_err(|_| KeyError::Invalid("RSA"))?;
                Self::rsa(key)
            }
        })
    }

    fn rsa(key: rsa::RsaPrivateKey) -> Self {
        SigningKey::Rsa(
            Box::new(rsa::pkcs1v15::SigningKey::new(key.clone())),
            Box::new(key),
        )
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            SigningKey::Ed25519(_) => Algorithm::EdDSA,
            SigningKey::P256(_) => Algorithm::ES256,
            SigningKey::Rsa(..) => Algorithm::RS256,
        }
    }

    /// The public JWK as better-auth stores it in `jwks.publicKey`.
    pub fn public_jwk(&self) -> Value {
        Value::Object(self.public_members())
    }

    fn public_members(&self) -> Map<String, Value> {
        let jwk = match self {
            SigningKey::Ed25519(kp) => {
                json!({ "crv": "Ed25519", "x": b64(kp.pk.as_ref()), "kty": "OKP" })
            }
            SigningKey::P256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({
                    "kty": "EC", "crv": "P-256",
                    "x": b64(point.x().map(|x| &x[..]).unwrap_or_default()),
                    "y": b64(point.y().map(|y| &y[..]).unwrap_or_default()),
                })
            }
            SigningKey::Rsa(_, key) => {
                use rsa::traits::PublicKeyParts;
                json!({ "kty": "RSA", "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()) })
            }
        };
        match jwk {
            Value::Object(members) => members,
            _ => Map::new(),
        }
    }

    /// The private JWK (public members plus the private ones), as better-auth encrypts it.
    pub fn private_jwk(&self) -> Value {
        let mut obj = self.public_members();
        match self {
            SigningKey::Ed25519(kp) => {
                obj.insert("d".into(), b64(kp.sk.seed().as_ref()).into());
            }
            SigningKey::P256(k) => {
                obj.insert("d".into(), b64(&k.to_bytes()).into());
            }
            SigningKey::Rsa(_, key) => {
                use rsa::traits::PrivateKeyParts;
                let primes = key.primes();
                obj.insert("d".into(), b64(&key.d().to_bytes_be()).into());
                if primes.len() == 2 {
                    obj.insert("p".into(), b64(&primes[0].to_bytes_be()).into());
                    obj.insert("q".into(), b64(&primes[1].to_bytes_be()).into());
                }
                if let (Some(dp), Some(dq), Some(qi)) = (key.dp(), key.dq(), key.crt_coefficient())
                {
                    obj.insert("dp".into(), b64(&dp.to_bytes_be()).into());
                    obj.insert("dq".into(), b64(&dq.to_bytes_be()).into());
                    obj.insert("qi".into(), b64(&qi.to_bytes_be()).into());
                }
            }
        }
        Value::Object(obj)
    }

    /// Reads a private JWK (the decrypted `jwks.privateKey` of better-auth or authkeep).
    pub fn from_private_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let obj = jwk.as_object().ok_or(KeyError::Invalid("JWK"))?;
        match (
            obj.get("kty").and_then(Value::as_str),
            obj.get("crv").and_then(Value::as_str),
        ) {
            (Some("OKP"), Some("Ed25519")) => {
                let d = field(obj, "d", "Ed25519")?;
                let seed = ed25519_compact::Seed::from_slice(&d)
                    .map_err(|_| KeyError::Invalid("Ed25519"))?;
                Ok(SigningKey::Ed25519(ed25519_compact::KeyPair::from_seed(
                    seed,
                )))
            }
            (Some("EC"), Some("P-256")) => {
                let d = field(obj, "d", "P-256")?;
                Ok(SigningKey::P256(
                    p256::ecdsa::SigningKey::from_slice(&d)
                        .map_err(|_| KeyError::Invalid("P-256"))?,
                ))
            }
            (Some("RSA"), _) => {
                let big = |n: &str| field(obj, n, "RSA").map(|b| rsa::BigUint::from_bytes_be(&b));
                let primes = vec![big("p")?, big("q")?];
                let key =
                    rsa::RsaPrivateKey::from_components(big("n")?, big("e")?, big("d")?, primes)
                        .map_err(|_| KeyError::Invalid("RSA"))?;
                Ok(Self::rsa(key))
            }
            (kty, crv) => Err(KeyError::Unsupported(format!("{kty:?}/{crv:?}"))),
        }
    }

    /// A JWS signature over `message` (`header.payload`), in the JWS encoding of the algorithm.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            SigningKey::Ed25519(kp) => kp.sk.sign(message, None).as_ref().to_vec(),
            SigningKey::P256(k) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.to_bytes().to_vec()
            }
            SigningKey::Rsa(signer, _) => {
                use rsa::signature::{SignatureEncoding, Signer};
                signer.sign(message).to_vec()
            }
        }
    }
}

/// Signs `claims` as a compact JWS with header `{"alg":…,"kid":…}` (no `typ`, as better-auth).
pub fn sign_jwt(key: &SigningKey, kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": key.algorithm().as_str(), "kid": kid });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_private_jwks() {
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let key = SigningKey::generate(alg).unwrap();
            let again = SigningKey::from_private_jwk(&key.private_jwk()).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk(), "{alg:?}");
            assert!(key.private_jwk().get("d").is_some());
            assert!(key.public_jwk().get("d").is_none());
        }
    }

    #[test]
    fn ed25519_signatures_verify() {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let token = sign_jwt(&key, "kid1", &json!({"sub": "u1"}));
        let (input, sig) = token.rsplit_once('.').unwrap();
        let SigningKey::Ed25519(kp) = &key else {
            unreachable!()
        };
        let sig = ed25519_compact::Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
        assert!(kp.pk.verify(input.as_bytes(), &sig).is_ok());
        let header: Value =
            serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "EdDSA", "kid": "kid1"}));
    }
}
