//! Random identifiers and HMAC signatures in the exact formats better-auth produces,
//! so tokens and signed cookies are interchangeable between the two servers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

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

fn hmac_sha256(secret: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// better-call's cookie signature: padded standard base64 of HMAC-SHA256(secret, value).
pub fn sign_value(secret: &str, value: &str) -> String {
    STANDARD.encode(hmac_sha256(secret.as_bytes(), value.as_bytes()))
}

/// `value.signature`, the plaintext form of a signed cookie (before percent-encoding).
pub fn signed(secret: &str, value: &str) -> String {
    format!("{value}.{}", sign_value(secret, value))
}

/// Splits `value.signature` at the last dot and checks the signature in constant time.
/// Returns the value when the signature is better-call's shape (44 chars ending `=`) and valid.
pub fn verify_signed<'a>(secret: &str, signed: &'a str) -> Option<&'a str> {
    let (value, sig) = signed.rsplit_once('.')?;
    if sig.len() != 44 || !sig.ends_with('=') {
        return None;
    }
    // The standard alphabet, or the URL-safe one (which bearer clients sometimes send).
    let sig: String = sig
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let given = STANDARD.decode(sig).ok()?;
    let expected = hmac_sha256(secret.as_bytes(), value.as_bytes());
    bool::from(given.as_slice().ct_eq(&expected)).then_some(value)
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
    const SECRET: &str = "peer-dev-secret-0123456789abcdef0123456789abcdef";

    #[test]
    fn signature_matches_better_auth_capture() {
        assert_eq!(
            signed(SECRET, "0Q8EFRf4F7INzAuKUJk3ebtNWcN5xZFv"),
            "0Q8EFRf4F7INzAuKUJk3ebtNWcN5xZFv.CddrPbltYGMWbdq5XcdjSqLcqrL/c1DgrQRduZT+JU4="
        );
    }

    #[test]
    fn verify_accepts_good_and_rejects_tampered() {
        let s = signed(SECRET, "abc");
        assert_eq!(verify_signed(SECRET, &s), Some("abc"));
        assert_eq!(verify_signed("other-secret", &s), None);
        assert_eq!(verify_signed(SECRET, "abc.def"), None);
        let mut bad = s.clone();
        bad.replace_range(0..1, "x");
        assert_eq!(verify_signed(SECRET, &bad), None);
        assert_eq!(verify_signed(SECRET, "no-dot"), None);
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
