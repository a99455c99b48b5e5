//! Password hashing in better-auth's format: `hex(salt):hex(scrypt(NFKC(password)))` with
//! N=16384, r=16, p=1, dkLen=64, where the scrypt salt is the 32-character hex *string*.
//!
//! Hashing is CPU- and memory-bound (32 MiB per hash), so it never runs on the async executor:
//! every hash goes to tokio's blocking pool behind a semaphore sized to the machine, which bounds
//! both the threads and the memory that hashing can take at once.

use std::sync::Arc;

use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use unicode_normalization::UnicodeNormalization;

const LOG_N: u8 = 14;
const R: u32 = 16;
const P: u32 = 1;
const KEY_LEN: usize = 64;
/// Memory one hash needs (128 * N * r bytes), used to size the pool.
const BYTES_PER_HASH: u64 = 128 * (1 << LOG_N) * R as u64;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the stored password hash is not in better-auth's scrypt format")]
    MalformedHash,
    #[error("the password hashing pool is gone")]
    PoolClosed,
}

// The parameters are constants that scrypt accepts; a failure here is a bug in this file, caught
// by the unit tests, not something a request can cause.
#[allow(clippy::expect_used)]
fn derive(password: &str, salt_hex: &str) -> [u8; KEY_LEN] {
    let normalized: String = password.nfkc().collect();
    let params = scrypt::Params::new(LOG_N, R, P).expect("constant scrypt parameters are valid");
    let mut out = [0u8; KEY_LEN];
    scrypt::scrypt(
        normalized.as_bytes(),
        salt_hex.as_bytes(),
        &params,
        &mut out,
    )
    .expect("64 bytes is a valid scrypt output length");
    out
}

/// Hashes with a fresh random salt. Blocking: call through [`Hasher`].
pub fn hash_blocking(password: &str) -> String {
    let salt = crate::crypto::random_hex(16);
    let key = derive(password, &salt);
    format!("{salt}:{}", hex::encode(key))
}

/// Verifies against a stored `salt:key` hash in constant time. Blocking: call through [`Hasher`].
pub fn verify_blocking(password: &str, stored: &str) -> Result<bool, PasswordError> {
    let (salt, key_hex) = stored.split_once(':').ok_or(PasswordError::MalformedHash)?;
    let expected = hex::decode(key_hex).map_err(|_| PasswordError::MalformedHash)?;
    if salt.is_empty() || expected.len() != KEY_LEN {
        return Err(PasswordError::MalformedHash);
    }
    let key = derive(password, salt);
    Ok(bool::from(key.as_slice().ct_eq(&expected)))
}

/// A bounded pool for password hashing, plus a dummy hash so that a sign-in for an unknown
/// email costs exactly what a wrong password costs.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    dummy: Arc<str>,
}

impl Hasher {
    /// Sizes the pool to the cores, capped so concurrent hashes fit in a quarter of `memory_bytes`.
    pub fn new(memory_bytes: Option<u64>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let by_memory =
            memory_bytes.map_or(usize::MAX, |m| ((m / 4) / BYTES_PER_HASH).max(1) as usize);
        Self {
            permits: Arc::new(Semaphore::new(cores.min(by_memory).max(1))),
            dummy: hash_blocking("authkeep-dummy-password-for-timing").into(),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| PasswordError::PoolClosed)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| PasswordError::PoolClosed)
    }

    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = password.to_owned();
        self.run(move || hash_blocking(&password)).await
    }

    pub async fn verify(&self, password: &str, stored: &str) -> Result<bool, PasswordError> {
        let (password, stored) = (password.to_owned(), stored.to_owned());
        self.run(move || verify_blocking(&password, &stored))
            .await?
    }

    /// Burns one verification's worth of work and always fails.
    pub async fn verify_dummy(&self, password: &str) -> Result<bool, PasswordError> {
        let (password, stored) = (password.to_owned(), self.dummy.to_string());
        self.run(move || verify_blocking(&password, &stored))
            .await??;
        Ok(false)
    }
}

/// Password length as better-auth measures it: JavaScript string length (UTF-16 code units).
pub fn js_length(s: &str) -> usize {
    s.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_format() {
        let h = hash_blocking("password1234");
        let (salt, key) = h.split_once(':').unwrap();
        assert_eq!(salt.len(), 32);
        assert_eq!(key.len(), 128);
        assert!(verify_blocking("password1234", &h).unwrap());
        assert!(!verify_blocking("password1235", &h).unwrap());
    }

    #[test]
    fn nfkc_normalisation_is_applied() {
        // U+FB01 (ﬁ ligature) normalises to "fi" under NFKC.
        let h = hash_blocking("\u{FB01}lename-secret");
        assert!(verify_blocking("filename-secret", &h).unwrap());
    }

    #[test]
    fn malformed_hashes_are_errors_not_panics() {
        assert!(verify_blocking("x", "nocolon").is_err());
        assert!(verify_blocking("x", "abcd:zz").is_err());
        assert!(verify_blocking("x", "abcd:00").is_err());
    }

    #[test]
    fn length_counts_utf16_units() {
        assert_eq!(js_length("abc"), 3);
        assert_eq!(js_length("😀"), 2);
    }
}
