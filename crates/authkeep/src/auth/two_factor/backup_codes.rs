//! Backup codes as better-auth makes and stores them: `amount` codes of `length` characters
//! from `a-zA-Z0-9`, written `xxxxx-xxxxx`, kept as `symmetricEncrypt(JSON array)`.

use subtle::ConstantTimeEq;

use super::{TwoFactor, TwoFactorPolicy};
use crate::auth::AuthError;
use crate::crypto;

pub(super) const ALPHANUMERIC: &[u8] =
    b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

pub fn generate(policy: &TwoFactorPolicy) -> Vec<String> {
    (0..policy.backup_code_amount)
        .map(|_| {
            let code = crypto::random_string(policy.backup_code_length, ALPHANUMERIC);
            let (head, tail) = code.split_at(code.len().min(5));
            format!("{head}-{tail}")
        })
        .collect()
}

/// The stored form: better-auth's `JSON.stringify` of the list, encrypted.
pub fn seal(tf: &TwoFactor, codes: &[String]) -> Result<String, AuthError> {
    let json = serde_json::to_string(codes)
        .map_err(|_| AuthError::Message("Failed to encode backup codes"))?;
    tf.sealing
        .seal(&json)
        .map_err(|_| AuthError::Message("Failed to encrypt backup codes"))
}

/// The codes in the stored form; `None` when it does not decrypt or parse (better-auth's
/// `safeJSONParse` answers null then, and the code is refused).
pub fn open(tf: &TwoFactor, stored: &str) -> Option<Vec<String>> {
    let json = tf.sealing.open(stored).ok()?;
    serde_json::from_str(&json).ok()
}

/// The codes without `code`, when `code` is one of them. Every code is compared, in constant
/// time, so timing does not tell which (or whether one) matched.
pub fn use_code(codes: &[String], code: &str) -> Option<Vec<String>> {
    let mut found = false;
    for c in codes {
        found |= bool::from(c.as_bytes().ct_eq(code.as_bytes()));
    }
    found.then(|| codes.iter().filter(|c| *c != code).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_used_once() {
        let codes = vec!["abcde-12345".to_owned(), "ABCDE-67890".to_owned()];
        let left = use_code(&codes, "abcde-12345").unwrap();
        assert_eq!(left, vec!["ABCDE-67890".to_owned()]);
        assert!(use_code(&left, "abcde-12345").is_none());
        assert!(use_code(&codes, "abcde-1234").is_none());
        assert!(use_code(&codes, "").is_none());
    }
}
