//! [`NewHookParts`] and [`Secrets`]: a validated hook, ready for the store.

use std::fmt;

use crate::{HookSettings, redact};

/// A hook's secrets, in the shape the store keeps them (`wvs_store::HookSecrets`; the API
/// converts, so that this crate knows nothing of storage). `Debug` shows which secrets are
/// set and the header and variable keys, never a value.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secrets {
    /// Sent as is in `X-WVS-Token` / `X-Gitlab-Token`.
    pub token: Option<String>,
    /// `whsec_` secrets for Standard Webhooks signatures; the first signs.
    pub signing_tokens: Vec<String>,
    /// Extra request headers, name and value.
    pub custom_headers: Vec<(String, String)>,
    /// Values of the URL's `{name}` placeholders.
    pub url_variables: Vec<(String, String)>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("token", &redact::presence(&self.token))
            .field(
                "signing_tokens",
                &vec![redact::Redacted; self.signing_tokens.len()],
            )
            .field("custom_headers", &redact::keys(&self.custom_headers))
            .field("url_variables", &redact::keys(&self.url_variables))
            .finish()
    }
}

/// A hook as `create` and `update` leave it: its URL (a template when it has placeholders),
/// secrets and settings.
#[derive(Clone, PartialEq)]
pub struct NewHookParts {
    pub url: String,
    pub secrets: Secrets,
    pub settings: HookSettings,
}

impl fmt::Debug for NewHookParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewHookParts")
            .field("url", &redact::url(&self.url))
            .field("secrets", &self.secrets)
            .field("settings", &self.settings)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let parts = NewHookParts {
            url: "https://user:hunter2@example.com/{path}".into(),
            secrets: Secrets {
                token: Some("tok-value".into()),
                signing_tokens: vec!["whsec_c2VjcmV0".into()],
                custom_headers: vec![("X-Auth".into(), "header-value".into())],
                url_variables: vec![("path".into(), "var-value".into())],
            },
            settings: HookSettings::default(),
        };
        let debug = format!("{parts:?}");
        for secret in [
            "hunter2",
            "tok-value",
            "whsec_",
            "header-value",
            "var-value",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(
            debug.contains("X-Auth") && debug.contains("path"),
            "{debug}"
        );
        assert!(debug.contains("token: Some([REDACTED])"), "{debug}");
        assert!(format!("{:?}", Secrets::default()).contains("token: None"));
    }
}
