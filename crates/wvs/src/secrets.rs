//! Tokens and signing secrets come in on the command line and must never go out again: not in
//! an error message, not in what `trigger` prints, not in the listener's log.

use anyhow::{Context, Result};
use reqwest::Url;
use wvs_events::headers::WEBHOOK_SIGNATURE;
use wvs_events::{Flavor, SigningSecret};

/// What a secret value is replaced with wherever wvs shows a header.
pub const REDACTED: &str = "[REDACTED]";

/// Reads every `--signing-token`. This is done after clap rather than as a clap value parser
/// because clap quotes the rejected value in its error, and that value is a secret.
pub fn parse_signing_tokens(values: &[String]) -> Result<Vec<SigningSecret>> {
    values
        .iter()
        .map(|value| SigningSecret::parse(value).context("--signing-token"))
        .collect()
}

/// Whether a header carries a secret: the token of either flavor, the signatures (which would
/// let anyone replay the delivery), and the generic credential headers.
pub fn is_secret_header(name: &str) -> bool {
    Flavor::ALL
        .map(Flavor::token)
        .into_iter()
        .chain([
            WEBHOOK_SIGNATURE,
            "Authorization",
            "Proxy-Authorization",
            "Cookie",
        ])
        .any(|secret| secret.eq_ignore_ascii_case(name))
}

/// The header value as it may be shown.
pub fn shown<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_header(name) {
        REDACTED
    } else {
        value
    }
}

/// The URL as it may be shown: without user name and password.
pub fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // These only fail for URLs that cannot carry credentials, which then have none to strip.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}
