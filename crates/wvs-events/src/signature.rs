//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed by the base64 part of a `whsec_` secret.
//!
//! WVS signs with this module and receivers verify with it, so both sides share one
//! implementation. Several signatures may be sent space-separated (key rotation); one valid
//! signature from any known secret is enough.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// How far a `webhook-timestamp` may lie from the receiver's clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// Bytes of key material in a generated secret.
const GENERATED_KEY_LEN: usize = 32;

/// Why a secret could not be used or a signature did not verify. Messages never contain
/// the secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    #[error("a signing secret must start with `whsec_`")]
    MissingPrefix,
    #[error("a signing secret must be base64 after `whsec_`")]
    InvalidBase64,
    #[error("a signing secret must not be empty")]
    EmptyKey,
    #[error("`webhook-timestamp` is not a number of seconds")]
    InvalidTimestamp,
    #[error("`webhook-timestamp` is {0} seconds away from now (more than 5 minutes)")]
    TimestampOutOfTolerance(i64),
    #[error("no `v1,` signature in `webhook-signature` matches")]
    NoMatch,
}

/// A signing secret (`whsec_<base64 key>`). Its `Debug` output hides the key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(whsec_…)")
    }
}

impl SigningSecret {
    /// Reads a `whsec_` secret.
    pub fn parse(secret: &str) -> Result<Self, SignatureError> {
        let encoded = secret
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SignatureError::MissingPrefix)?;
        let key = BASE64
            .decode(encoded)
            .map_err(|_| SignatureError::InvalidBase64)?;
        if key.is_empty() {
            return Err(SignatureError::EmptyKey);
        }
        Ok(SigningSecret { key })
    }

    /// A new random secret (32 bytes from the operating system's generator).
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_KEY_LEN];
        rand::fill(&mut key[..]);
        SigningSecret { key }
    }

    /// The secret in its `whsec_` form, to show once or to store encrypted.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(&self.key))
    }

    /// One `v1,<base64>` signature of `body` for message `msg_id` sent at `timestamp`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(self.mac(msg_id, timestamp, body)))
    }

    fn mac(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key)
            .expect("HMAC-SHA256 accepts keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

/// The `webhook-signature` value: one signature per secret, space-separated (several during
/// a key rotation).
pub fn signature_header(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a delivery's `webhook-timestamp` and `webhook-signature` against every known
/// secret, `now` being the receiver's clock in Unix seconds. Signatures of versions other
/// than `v1` are ignored, as the specification says.
pub fn verify(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::InvalidTimestamp)?;
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > TOLERANCE_SECS {
        return Err(SignatureError::TimestampOutOfTolerance(skew));
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|signature| signature.strip_prefix("v1,"))
        .filter_map(|encoded| BASE64.decode(encoded).ok())
        .collect();
    let matches = secrets.iter().any(|secret| {
        let expected = secret.mac(msg_id, timestamp, body);
        candidates
            .iter()
            .any(|candidate| bool::from(candidate.ct_eq(&expected)))
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::NoMatch)
    }
}

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}
