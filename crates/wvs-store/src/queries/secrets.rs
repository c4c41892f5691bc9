//! The one place where what a hook keeps secret becomes a stored value and back: its
//! secrets (token, signing secrets, custom header values, URL variable values) and its URL
//! (which may carry `user:password@`), both encrypted at rest with the store's key. Nothing
//! here logs, and the errors name the column, never the content.

use super::sql::{from_json, to_json};
use crate::Result;
use crate::StoreError;
use crate::cipher::Cipher;
use crate::model::HookSecrets;

/// The stored form of a hook's secrets.
pub fn seal(cipher: &Cipher, secrets: &HookSecrets) -> Result<String> {
    cipher.seal(
        to_json(secrets, "hooks.secrets")?.as_bytes(),
        "hooks.secrets",
    )
}

/// A hook's secrets from their stored form.
pub fn open(cipher: &Cipher, stored: &str) -> Result<HookSecrets> {
    let json = cipher.open(stored, "hooks.secrets")?;
    let text = std::str::from_utf8(&json).map_err(|_| StoreError::Corrupt("hooks.secrets"))?;
    from_json(text, "hooks.secrets")
}

/// The stored form of a hook's URL.
pub fn seal_url(cipher: &Cipher, url: &str) -> Result<String> {
    cipher.seal(url.as_bytes(), "hooks.url")
}

/// A hook's URL from its stored form.
pub fn open_url(cipher: &Cipher, stored: &str) -> Result<String> {
    String::from_utf8(cipher.open(stored, "hooks.url")?)
        .map_err(|_| StoreError::Corrupt("hooks.url"))
}
