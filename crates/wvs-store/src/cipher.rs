//! Encryption at rest of what the store keeps secret (hook secrets and hook URLs, which may
//! carry credentials): XChaCha20-Poly1305 with a random 24-byte nonce per value, stored as
//! `v1:` + base64(nonce ‖ ciphertext). The key never appears in `Debug` output or errors.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::{Result, StoreError};

const VERSION: &str = "v1:";
const NONCE_LEN: usize = 24;

/// A 256-bit key for the store's encryption at rest.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

/// Why a key could not be read. Never contains the key.
#[derive(Debug, thiserror::Error)]
#[error("a secret key is 32 bytes in base64 (44 characters)")]
pub struct BadKey;

impl SecretKey {
    /// A new random key.
    pub fn generate() -> SecretKey {
        let mut key = [0u8; 32];
        rand::fill(&mut key);
        SecretKey(key)
    }

    pub fn from_base64(text: &str) -> Result<SecretKey, BadKey> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| BadKey)?;
        Ok(SecretKey(bytes.try_into().map_err(|_| BadKey)?))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([REDACTED])")
    }
}

/// Seals and opens stored values with one key.
#[derive(Clone)]
pub struct Cipher(XChaCha20Poly1305);

impl Cipher {
    pub fn new(key: &SecretKey) -> Cipher {
        Cipher(XChaCha20Poly1305::new((&key.0).into()))
    }

    /// The stored form of `plaintext`.
    pub fn seal(&self, plaintext: &[u8], column: &'static str) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .map_err(|_| StoreError::Corrupt(column))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{VERSION}{}", BASE64.encode(out)))
    }

    /// The plaintext of a stored value; a value sealed with another key (or damaged) is
    /// corrupt data of `column`.
    pub fn open(&self, stored: &str, column: &'static str) -> Result<Vec<u8>> {
        let corrupt = || StoreError::Corrupt(column);
        let encoded = stored.strip_prefix(VERSION).ok_or_else(corrupt)?;
        let bytes = BASE64.decode(encoded).map_err(|_| corrupt())?;
        if bytes.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        self.0
            .decrypt(XNonce::from_slice(nonce), sealed)
            .map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_round_trips_and_each_sealing_differs() {
        let cipher = Cipher::new(&SecretKey::generate());
        let a = cipher.seal(b"tok-1", "c").unwrap();
        let b = cipher.seal(b"tok-1", "c").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("tok-1"));
        assert_eq!(cipher.open(&a, "c").unwrap(), b"tok-1");
    }

    #[test]
    fn another_key_or_damage_is_corrupt_data_not_garbage() {
        let sealed = Cipher::new(&SecretKey::generate()).seal(b"x", "c").unwrap();
        let other = Cipher::new(&SecretKey::generate());
        assert!(matches!(
            other.open(&sealed, "c"),
            Err(StoreError::Corrupt("c"))
        ));
        assert!(matches!(
            other.open("plain", "c"),
            Err(StoreError::Corrupt("c"))
        ));
        assert!(matches!(
            other.open("v1:AAAA", "c"),
            Err(StoreError::Corrupt("c"))
        ));
    }

    #[test]
    fn keys_read_from_base64_and_never_show() {
        let key = SecretKey::generate();
        let again = SecretKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(again.0, key.0);
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
        assert_eq!(format!("{key:?}"), "SecretKey([REDACTED])");
    }
}
