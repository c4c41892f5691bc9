//! Debug output without secrets: what [`Secrets`](crate::Secrets),
//! [`NewHookParts`](crate::NewHookParts) and [`HookInput`](crate::HookInput) print instead
//! of tokens, header values, URL variable values and URL credentials.

use std::borrow::Cow;
use std::fmt;

/// Printed in place of a secret value.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// A secret that may be set: prints `Some([REDACTED])` or `None`.
pub(crate) fn presence<T>(secret: &Option<T>) -> Option<Redacted> {
    secret.as_ref().map(|_| Redacted)
}

/// Key-value secrets: prints the keys (the API shows them too), never the values.
pub(crate) fn keys(pairs: &[(String, String)]) -> Vec<&str> {
    pairs.iter().map(|(key, _)| key.as_str()).collect()
}

/// `url` with the user information of its authority (`user:password@`) replaced. Works on
/// templates too, which the URL parser would reject.
pub(crate) fn url(url: &str) -> Cow<'_, str> {
    let Some(scheme_end) = url.find("://") else {
        return Cow::Borrowed(url);
    };
    let authority = scheme_end + 3;
    let authority_end = url[authority..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |at| authority + at);
    match url[authority..authority_end].rfind('@') {
        Some(at) => Cow::Owned(format!(
            "{}{REDACTED}@{}",
            &url[..authority],
            &url[authority + at + 1..]
        )),
        None => Cow::Borrowed(url),
    }
}

/// Debug-prints as `[REDACTED]`.
#[derive(Clone, Copy)]
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_credentials_from_urls() {
        assert_eq!(
            url("https://u:p@h.example/x@y"),
            "https://[REDACTED]@h.example/x@y"
        );
        assert_eq!(url("https://{user}@{host}/"), "https://[REDACTED]@{host}/");
        assert_eq!(
            url("https://h.example/a?b=c@d"),
            "https://h.example/a?b=c@d"
        );
        assert_eq!(url("not a url"), "not a url");
    }
}
