//! Secrets and the primitives built on them, in the exact formats better-auth produces, so
//! tokens, signed cookies and encrypted keys are interchangeable between the two servers.
//!
//! The configured secret is turned into keys once, at start-up ([`Keys::derive`]); every type
//! here that holds secret material prints as `***`, so no `{:?}` anywhere can leak it.

pub mod jwe;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit as _};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret that never prints (better-auth's `secret`, an SMTP URL with a password, ...).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself; call only where it is turned into a key or a connection.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The keys derived from better-auth's secret.
#[derive(Clone, Debug)]
pub struct Keys {
    /// Signs session cookies (better-call's format) and email-verification tokens (HS256).
    pub hmac: HmacKey,
    /// Encrypts JWT signing keys and (with `encrypt_oauth_tokens`) provider tokens at rest
    /// (better-auth's `symmetricEncrypt` with the secret itself).
    pub sealing: SealingKey,
    /// Encrypts the session token a link-social flow carries in its state (better-auth's
    /// purpose key `oauth-link-session-token`).
    pub link_session: SealingKey,
    /// Encrypts the session cookie cache (`strategy = "jwe"`; salt `better-auth-session`).
    pub cookie_cache: jwe::JweKey,
}

impl Keys {
    pub fn derive(secret: &Secret) -> Keys {
        Keys {
            hmac: HmacKey::new(secret),
            sealing: SealingKey::new(secret),
            link_session: SealingKey::new(&purpose_secret(secret, "oauth-link-session-token")),
            cookie_cache: jwe::JweKey::derive(secret, "better-auth-session"),
        }
    }
}

/// better-auth's `derivePurposeKey`: a separate secret per kind of OAuth ciphertext,
/// hex(HKDF-SHA256(secret, salt `better-auth:oauth-encryption:v1`, info
/// `better-auth:<purpose>:v1`, 32 bytes)), used in place of the secret.
fn purpose_secret(secret: &Secret, purpose: &str) -> Secret {
    let hmac = |key: &[u8], parts: &[&[u8]]| -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    };
    // RFC 5869: extract, then one block of expand (32 bytes is one SHA-256 output).
    let prk = hmac(
        b"better-auth:oauth-encryption:v1",
        &[secret.expose().as_bytes()],
    );
    let info = format!("better-auth:{purpose}:v1");
    let okm = hmac(&prk, &[info.as_bytes(), &[1]]);
    Secret::new(hex::encode(okm))
}

/// HMAC-SHA256 keyed with the secret's bytes, as better-call signs cookies and better-auth
/// signs its email tokens.
#[derive(Clone)]
pub struct HmacKey(Hmac<Sha256>);

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(***)")
    }
}

impl HmacKey {
    pub fn new(secret: &Secret) -> Self {
        // HMAC accepts keys of any length, so this cannot fail; the fallback keeps the
        // signature total without a panic path.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose().as_bytes())
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        HmacKey(mac)
    }

    pub fn mac(&self, msg: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the MAC of `msg`, in constant time.
    pub fn verify(&self, msg: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.0.clone();
        mac.update(msg);
        mac.verify_slice(tag).is_ok()
    }

    /// `value.signature`, the plaintext form of a better-call signed cookie (padded standard
    /// base64 of the MAC), before percent-encoding.
    pub fn signed(&self, value: &str) -> String {
        format!("{value}.{}", STANDARD.encode(self.mac(value.as_bytes())))
    }

    /// Splits `value.signature` at the last dot and checks the signature in constant time.
    /// Returns the value when the signature has better-call's shape (44 characters ending in
    /// `=`, standard or URL-safe alphabet, as bearer clients send either) and is valid.
    pub fn verify_signed<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, sig) = signed.rsplit_once('.')?;
        if sig.len() != 44 || !sig.ends_with('=') {
            return None;
        }
        let sig: String = sig
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        let given = STANDARD.decode(sig).ok()?;
        self.verify(value.as_bytes(), &given).then_some(value)
    }
}

/// better-auth's `symmetricEncrypt`: XChaCha20-Poly1305 keyed with SHA-256(secret), written as
/// hex(nonce ‖ ciphertext ‖ tag). Versioned secrets wrap the hex as `$ba$<version>$<hex>`;
/// that form is read with the one secret there is.
#[derive(Clone)]
pub struct SealingKey(XChaCha20Poly1305);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("the encrypted value is not valid hex")]
    Encoding,
    #[error("the value does not decrypt with this secret")]
    Decrypt,
}

impl SealingKey {
    pub fn new(secret: &Secret) -> Self {
        let digest: [u8; 32] = Sha256::digest(secret.expose().as_bytes()).into();
        SealingKey(XChaCha20Poly1305::new(&Key::from(digest)))
    }

    pub fn seal(&self, plaintext: &str) -> Result<String, SealError> {
        let mut nonce = [0u8; 24];
        rand::fill(&mut nonce);
        let sealed = self
            .0
            .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| SealError::Decrypt)?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(hex::encode(out))
    }

    pub fn open(&self, data: &str) -> Result<String, SealError> {
        let hex_part = match data.strip_prefix("$ba$") {
            Some(rest) => rest
                .split_once('$')
                .map(|(_, h)| h)
                .ok_or(SealError::Encoding)?,
            None => data,
        };
        let bytes = hex::decode(hex_part).map_err(|_| SealError::Encoding)?;
        if bytes.len() < 24 + 16 {
            return Err(SealError::Encoding);
        }
        let (nonce, sealed) = bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| SealError::Encoding)?;
        let plain = self
            .0
            .decrypt(&XNonce::from(nonce), sealed)
            .map_err(|_| SealError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| SealError::Decrypt)
    }
}

/// The alphabet of better-auth's `generateId`: session tokens and row ids.
const ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// `n` characters from `alphabet`, unbiased (rejection sampling over random bytes).
pub fn random_string(n: usize, alphabet: &[u8]) -> String {
    let len = alphabet.len();
    let limit = (256 / len) * len;
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        rand::fill(&mut buf[..]);
        for &b in &buf {
            if (b as usize) < limit {
                out.push(alphabet[b as usize % len] as char);
                if out.len() == n {
                    break;
                }
            }
        }
    }
    out
}

/// A 32-character id or session token, as better-auth's `generateId()` makes them.
pub fn generate_id() -> String {
    random_string(32, ID_ALPHABET)
}

/// Random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(&mut buf[..]);
    hex::encode(buf)
}

/// Constant-time equality for secrets held as strings.
pub fn ct_eq_str(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from better-auth 1.7.25 (`better-auth-wire-samples.md` §1.1):
    // secret `peer-dev-secret-0123456789abcdef0123456789abcdef`.
    fn key(secret: &str) -> HmacKey {
        HmacKey::new(&Secret::new(secret))
    }
    const SECRET: &str = "peer-dev-secret-0123456789abcdef0123456789abcdef";
    const PURPOSE_VECTOR: &str = "58145475b52b35a889c6f7eed06ddf7d5134c530547d3990c33fd5877caa7767";

    #[test]
    fn signature_matches_better_auth_capture() {
        assert_eq!(
            key(SECRET).signed("0Q8EFRf4F7INzAuKUJk3ebtNWcN5xZFv"),
            "0Q8EFRf4F7INzAuKUJk3ebtNWcN5xZFv.CddrPbltYGMWbdq5XcdjSqLcqrL/c1DgrQRduZT+JU4="
        );
    }

    #[test]
    fn verify_accepts_good_and_rejects_tampered() {
        let k = key(SECRET);
        let s = k.signed("abc");
        assert_eq!(k.verify_signed(&s), Some("abc"));
        assert_eq!(key("other-secret").verify_signed(&s), None);
        assert_eq!(k.verify_signed("abc.def"), None);
        let mut bad = s.clone();
        bad.replace_range(0..1, "x");
        assert_eq!(k.verify_signed(&bad), None);
        assert_eq!(k.verify_signed("no-dot"), None);
        let url_safe = s.replace('/', "_").replace('+', "-");
        assert_eq!(k.verify_signed(&url_safe), Some("abc"));
    }

    #[test]
    fn purpose_keys_match_better_auth() {
        // derivePurposeKey(SECRET, "oauth-link-session-token") from better-auth 1.7.25.
        assert_eq!(
            purpose_secret(&Secret::new(SECRET), "oauth-link-session-token").expose(),
            PURPOSE_VECTOR
        );
    }

    #[test]
    fn sealing_round_trips_and_refuses_the_wrong_secret() {
        let one = SealingKey::new(&Secret::new("secret-one"));
        let sealed = one.seal("{\"d\":\"x\"}").unwrap();
        assert_eq!(one.open(&sealed).unwrap(), "{\"d\":\"x\"}");
        assert_eq!(
            one.open(&format!("$ba$2${sealed}")).unwrap(),
            "{\"d\":\"x\"}"
        );
        assert!(
            SealingKey::new(&Secret::new("secret-two"))
                .open(&sealed)
                .is_err()
        );
        assert!(one.open("zz").is_err());
        assert!(one.open("00").is_err());
    }

    #[test]
    fn keys_never_print() {
        let shown = format!("{:?}", Keys::derive(&Secret::new("hunter2-hunter2")));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn ids_use_the_better_auth_alphabet() {
        let id = generate_id();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(generate_id(), id);
        assert_eq!(random_hex(16).len(), 32);
    }
}
