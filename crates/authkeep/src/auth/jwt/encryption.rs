//! better-auth's `symmetricEncrypt`, used for `jwks.privateKey`: XChaCha20-Poly1305 with the
//! key SHA-256(secret), written as hex(nonce ‖ ciphertext ‖ tag). Versioned secrets wrap the hex
//! as `$ba$<version>$<hex>`; authkeep reads that form with its one secret.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum EncryptionError {
    #[error("the encrypted value is not valid hex")]
    Encoding,
    #[error("the value does not decrypt with this secret")]
    Decrypt,
}

fn cipher(secret: &str) -> XChaCha20Poly1305 {
    let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
    XChaCha20Poly1305::new(&Key::from(digest))
}

pub fn encrypt(secret: &str, plaintext: &str) -> String {
    let mut nonce = [0u8; 24];
    rand::fill(&mut nonce);
    let sealed = cipher(secret)
        .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
        .expect("XChaCha20-Poly1305 encryption of in-memory data cannot fail");
    let mut out = nonce.to_vec();
    out.extend(sealed);
    hex::encode(out)
}

pub fn decrypt(secret: &str, data: &str) -> Result<String, EncryptionError> {
    let hex_part = match data.strip_prefix("$ba$") {
        Some(rest) => rest
            .split_once('$')
            .map(|(_, h)| h)
            .ok_or(EncryptionError::Encoding)?,
        None => data,
    };
    let bytes = hex::decode(hex_part).map_err(|_| EncryptionError::Encoding)?;
    if bytes.len() < 24 + 16 {
        return Err(EncryptionError::Encoding);
    }
    let (nonce, sealed) = bytes.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| EncryptionError::Encoding)?;
    let plain = cipher(secret)
        .decrypt(&XNonce::from(nonce), sealed)
        .map_err(|_| EncryptionError::Decrypt)?;
    String::from_utf8(plain).map_err(|_| EncryptionError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_secret() {
        let sealed = encrypt("secret-one", "{\"d\":\"x\"}");
        assert_eq!(decrypt("secret-one", &sealed).unwrap(), "{\"d\":\"x\"}");
        assert_eq!(
            decrypt("secret-one", &format!("$ba$2${sealed}")).unwrap(),
            "{\"d\":\"x\"}"
        );
        assert!(decrypt("secret-two", &sealed).is_err());
        assert!(decrypt("secret-one", "zz").is_err());
        assert!(decrypt("secret-one", "00").is_err());
    }
}
