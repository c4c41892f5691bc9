//! The one place where hook secrets become a stored value and back. Today that is plain
//! JSON; encryption at rest replaces these two functions and nothing else. Nothing here
//! logs, and the errors name the column, never the content.

use super::sql::{from_json, to_json};
use crate::Result;
use crate::model::HookSecrets;

/// The stored form of a hook's secrets.
pub fn seal(secrets: &HookSecrets) -> Result<String> {
    to_json(secrets, "hooks.secrets")
}

/// A hook's secrets from their stored form.
pub fn open(stored: &str) -> Result<HookSecrets> {
    from_json(stored, "hooks.secrets")
}
