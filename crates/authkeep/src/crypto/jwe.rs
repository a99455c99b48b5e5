//! The compact JWE better-auth puts in its session cookie cache (`strategy = "jwe"`):
//! `alg = dir`, `enc = A256CBC-HS512` (RFC 7518 §5.2.5), the 64-byte content key derived from
//! the secret with HKDF-SHA256 and a purpose salt, and `kid` the RFC 7638 thumbprint of that key
//! as an `oct` JWK, so a reader with several secrets can tell which one sealed a cookie.

use std::fmt;

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::Secret;

/// The HKDF info better-auth uses for every symmetric JWE key.
const HKDF_INFO: &[u8] = b"BetterAuth.js Generated Encryption Key";

/// A content key for `dir` + `A256CBC-HS512`: the first half authenticates, the second encrypts.
#[derive(Clone)]
pub struct JweKey {
    mac: [u8; 32],
    enc: [u8; 32],
    kid: String,
}

impl fmt::Debug for JweKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JweKey(***)")
    }
}

impl JweKey {
    /// better-auth's `deriveEncryptionSecret(secret, salt)`.
    pub fn derive(secret: &Secret, salt: &str) -> JweKey {
        let mut cek = [0u8; 64];
        // 64 bytes is far below HKDF-SHA256's 255 × 32 limit, so expand cannot fail.
        let _ = hkdf::Hkdf::<Sha256>::new(Some(salt.as_bytes()), secret.expose().as_bytes())
            .expand(HKDF_INFO, &mut cek);
        let jwk = format!(r#"{{"k":"{}","kty":"oct"}}"#, B64URL.encode(cek));
        let kid = B64URL.encode(Sha256::digest(jwk.as_bytes()));
        let (mac, enc) = cek.split_at(32);
        JweKey {
            mac: mac.try_into().unwrap_or_default(),
            enc: enc.try_into().unwrap_or_default(),
            kid,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Seals `plaintext` (the JWT claims as JSON) as a compact JWE with a fresh IV.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut iv = [0u8; 16];
        rand::fill(&mut iv);
        self.seal_with_iv(plaintext, iv)
    }

    fn seal_with_iv(&self, plaintext: &[u8], iv: [u8; 16]) -> String {
        let header = B64URL.encode(format!(
            r#"{{"alg":"dir","enc":"A256CBC-HS512","kid":"{}"}}"#,
            self.kid
        ));
        let ciphertext = cbc::Encryptor::<Aes256>::new(&self.enc.into(), &iv.into())
            .encrypt_padded_vec::<Pkcs7>(plaintext);
        let tag = self.tag(header.as_bytes(), &iv, &ciphertext);
        format!(
            "{header}..{}.{}.{}",
            B64URL.encode(iv),
            B64URL.encode(&ciphertext),
            B64URL.encode(tag)
        )
    }

    /// The plaintext of a compact JWE sealed with this key, or `None` for anything else: another
    /// key id, another algorithm, a bad tag (checked in constant time before decrypting).
    pub fn open(&self, token: &str) -> Option<Vec<u8>> {
        let mut parts = token.split('.');
        let (header, key, iv, ciphertext, tag) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if parts.next().is_some() || !key.is_empty() {
            return None;
        }
        let h: serde_json::Value = serde_json::from_slice(&B64URL.decode(header).ok()?).ok()?;
        let kid_matches = h.get("kid").is_none_or(|k| k.as_str() == Some(&self.kid));
        if h["alg"] != "dir" || h["enc"] != "A256CBC-HS512" || !kid_matches {
            return None;
        }
        let iv: [u8; 16] = B64URL.decode(iv).ok()?.try_into().ok()?;
        let ciphertext = B64URL.decode(ciphertext).ok()?;
        let tag = B64URL.decode(tag).ok()?;
        let expected = self.tag(header.as_bytes(), &iv, &ciphertext);
        if !bool::from(expected.as_slice().ct_eq(&tag)) {
            return None;
        }
        cbc::Decryptor::<Aes256>::new(&self.enc.into(), &iv.into())
            .decrypt_padded_vec::<Pkcs7>(&ciphertext)
            .ok()
    }

    /// RFC 7518 §5.2.2.1: HMAC-SHA-512 over AAD ‖ IV ‖ ciphertext ‖ AAD length in bits (64-bit
    /// big-endian), truncated to 32 bytes. The AAD is the encoded protected header.
    fn tag(&self, aad: &[u8], iv: &[u8], ciphertext: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(&self.mac)
            .unwrap_or_else(|_| <Hmac<Sha512> as KeyInit>::new(&Default::default()));
        mac.update(aad);
        mac.update(iv);
        mac.update(ciphertext);
        mac.update(&((aad.len() as u64) * 8).to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 32];
        out.copy_from_slice(&full[..32]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // compat/fixtures/cookie-cache-vectors.json, captured from better-auth 1.7.25.
    const SECRET: &str = "compat-secret-0123456789abcdef0123456789abcdef";

    #[test]
    fn the_key_and_kid_are_better_auths() {
        let key = JweKey::derive(&Secret::new(SECRET), "better-auth-session");
        assert_eq!(key.kid(), "oSFONNwr4oxoiS_O_wwvSZQV33DyESs90YWH5Cb_xHo");
        assert_eq!(
            hex::encode([key.mac, key.enc].concat()),
            "9ec3535fdc8803f8189a30b812c0268246cc7ca907183dfa1140eacab24469c3b239fa6e14d212889b9d1106a55e50ac69e009a71ddf14787bfbae64ee7a3b31"
        );
    }

    #[test]
    fn sealed_values_open_and_tampering_is_refused() {
        let key = JweKey::derive(&Secret::new(SECRET), "better-auth-session");
        let token = key.seal(br#"{"a":1}"#);
        assert_eq!(key.open(&token).as_deref(), Some(&br#"{"a":1}"#[..]));
        let other = JweKey::derive(&Secret::new("another-secret"), "better-auth-session");
        assert_eq!(other.open(&token), None);
        let mut flipped = token.clone().into_bytes();
        let at = token.rfind('.').unwrap() - 3;
        flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open(std::str::from_utf8(&flipped).unwrap()), None);
    }
}
