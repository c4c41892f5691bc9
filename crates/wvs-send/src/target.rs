//! The URL of a delivery: `{name}` placeholders filled in from the hook's URL variables,
//! `user:pass@` taken out to become `Authorization: Basic`, and the form that is logged.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use url::Url;

use crate::policy::Hidden;

/// Everything but RFC 3986's unreserved characters is encoded in a variable's value. A value
/// is data, not URL syntax: a `/`, `?`, `#`, `@` or `:` in it must not move the request to
/// another host, port or path than the template names. Encoded credentials are decoded
/// again for `Authorization`, so a password may hold any character.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a hook URL cannot be sent to. Messages quote neither the URL nor a variable's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UrlError {
    #[error("invalid URL: {0}")]
    Parse(#[from] url::ParseError),
    #[error("invalid URL: the scheme must be http or https")]
    Scheme,
    #[error("invalid URL: no value for the URL variable `{{{0}}}`")]
    MissingVariable(String),
}

/// Where an attempt goes.
#[derive(Debug)]
pub(crate) struct Target {
    /// The URL to request, variables filled in and credentials removed.
    pub url: Url,
    /// `Basic <base64>` when the URL carried `user:pass@`.
    pub basic_auth: Option<String>,
}

/// Fills in the variables of `template`, parses it, and moves its credentials out.
pub(crate) fn resolve(template: &str, variables: &[(String, String)]) -> Result<Target, UrlError> {
    let mut url = Url::parse(&substitute(template, variables)?)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    let basic_auth = take_credentials(&mut url);
    Ok(Target { url, basic_auth })
}

/// The URL as the delivery log and the API show it: the template itself, so URL variables
/// still read `{name}`, with any `user:pass@` removed.
///
/// It works on the template rather than masking values in the final URL, so it never sees a
/// value and cannot leak one (a short value such as `1` would also be impossible to mask
/// reliably). It is plain text work, not parsing, so an invalid URL is masked too.
pub fn log_url(url: &str) -> String {
    match authority(url) {
        Some((start, authority)) => match authority.rfind('@') {
            Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Where the authority of `url` starts, and the authority itself. It starts after
/// `scheme:` and any run of slashes (URL parsers accept backslashes and missing slashes for
/// http) and ends at the first `/`, `\`, `?` or `#`; its userinfo is everything up to its
/// last `@`. Text work, not parsing, so it works on templates and invalid URLs alike.
fn authority(url: &str) -> Option<(usize, &str)> {
    let colon = url.find(':')?;
    let rest = url[colon + 1..].trim_start_matches(['/', '\\']);
    let start = url.len() - rest.len();
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    Some((start, &rest[..end]))
}

/// Which parts of the destination come from URL variables: an address reached through a
/// host from a variable tells the variable's value, and so does a port.
pub(crate) fn hidden_parts(template: &str) -> Hidden {
    let (host, port) = split_host_port(template);
    Hidden {
        host: placeholders(host).next().is_some(),
        port: placeholders(port).next().is_some(),
    }
}

/// The names of the placeholders in the host of `template` (not its port).
pub(crate) fn host_variables(template: &str) -> Vec<&str> {
    placeholders(split_host_port(template).0).collect()
}

/// The host and the port (with its `:`) of `template`, as text; empty if it has none.
fn split_host_port(template: &str) -> (&str, &str) {
    let Some(host_port) = host_and_port(template) else {
        return ("", "");
    };
    let host_end = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed
            .find(']')
            .map_or(host_port.len(), |close| close + 2),
        None => host_port.find(':').unwrap_or(host_port.len()),
    };
    host_port.split_at(host_end)
}

/// The authority of `template` without its userinfo.
fn host_and_port(template: &str) -> Option<&str> {
    let (_, authority) = authority(template)?;
    Some(
        authority
            .rfind('@')
            .map_or(authority, |at| &authority[at + 1..]),
    )
}

/// `text` (a URL in log form) with the values of the variables `template` uses replaced
/// by their `{name}`, raw or percent-encoded, ignoring ASCII case (a URL parser may
/// lowercase a host or a percent-escape). For URLs the template did not produce itself,
/// such as a redirect target built from it: where a value shows up there is not known, so
/// every occurrence is masked, which can mask more than the value but never less of it.
pub(crate) fn mask_variables(text: &str, template: &str, variables: &[(String, String)]) -> String {
    let mut forms: Vec<(String, &str)> = Vec::new();
    for name in placeholders(template) {
        if let Some((_, value)) = variables.iter().find(|(key, _)| key == name)
            && !value.is_empty()
        {
            forms.push((utf8_percent_encode(value, VALUE).to_string(), name));
            forms.push((value.clone(), name));
        }
    }
    // Longest first, so that a value inside another is not masked half.
    forms.sort_by_key(|(form, _)| std::cmp::Reverse(form.len()));
    let mut masked = text.to_owned();
    for (form, name) in forms {
        masked = replace_ignoring_case(&masked, &form, &format!("{{{name}}}"));
    }
    masked
}

fn replace_ignoring_case(text: &str, from: &str, to: &str) -> String {
    let lower_text = text.to_ascii_lowercase();
    let lower_from = from.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    // ASCII lowercasing keeps every byte offset, so offsets found in the lowercase copy
    // are valid in `text`.
    for (at, _) in lower_text.match_indices(&lower_from) {
        if at < copied {
            continue;
        }
        out.push_str(&text[copied..at]);
        out.push_str(to);
        copied = at + from.len();
    }
    out.push_str(&text[copied..]);
    out
}

/// The names of the `{name}` placeholders of `template`, in order.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    let mut rest = template;
    std::iter::from_fn(move || {
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) if is_variable_name(&after[..close]) => {
                    rest = &after[close + 1..];
                    return Some(&after[..close]);
                }
                _ => rest = after,
            }
        }
        None
    })
}

/// Replaces each `{name}` (letters, digits, `_`, `.`, `-`) with the percent-encoded value of
/// that variable. A brace that does not open such a name is kept as it is; a name without
/// a variable is an error, as sending to a URL with a hole in it would reach the wrong place.
fn substitute(template: &str, variables: &[(String, String)]) -> Result<String, UrlError> {
    substitute_with(template, |name| {
        variables
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| UrlError::MissingVariable(name.to_owned()))
    })
}

/// [`substitute`] with the values given by `value`, which may fill in a stand-in.
pub(crate) fn substitute_with<'v, E>(
    template: &str,
    mut value: impl FnMut(&str) -> Result<&'v str, E>,
) -> Result<String, E> {
    let mut filled = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        filled.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if is_variable_name(&after[..close]) => {
                filled.extend(utf8_percent_encode(value(&after[..close])?, VALUE));
                rest = &after[close + 1..];
            }
            _ => {
                filled.push('{');
                rest = after;
            }
        }
    }
    filled.push_str(rest);
    Ok(filled)
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Removes `user:pass@` from `url` and returns it as an `Authorization` value. The parts are
/// percent-decoded byte for byte, as a browser or curl would send them.
fn take_credentials(url: &mut Url) -> Option<String> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let mut credentials: Vec<u8> = percent_decode_str(url.username()).collect();
    credentials.push(b':');
    credentials.extend(percent_decode_str(url.password().unwrap_or_default()));
    // Only URLs without a host refuse these, and an http(s) URL always has one. Even if they
    // did fail, userinfo never goes on the request line: reqwest would move it to
    // `Authorization` itself.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Some(format!("Basic {}", BASE64.encode(credentials)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_are_encoded_so_they_cannot_change_the_host() {
        let target = resolve(
            "https://example.com/{path}?q={q}",
            &vars(&[("path", "evil.com/@x"), ("q", "a&b=c d")]),
        )
        .unwrap();
        assert_eq!(target.url.host_str(), Some("example.com"));
        assert_eq!(
            target.url.as_str(),
            "https://example.com/evil.com%2F%40x?q=a%26b%3Dc%20d"
        );
    }

    #[test]
    fn credentials_become_basic_auth_decoded() {
        let target = resolve(
            "https://{user}:{pass}@example.com/",
            &vars(&[("user", "alice"), ("pass", "p@ss:w/rd")]),
        )
        .unwrap();
        assert_eq!(target.url.as_str(), "https://example.com/");
        assert_eq!(
            target.basic_auth.as_deref(),
            Some(format!("Basic {}", BASE64.encode("alice:p@ss:w/rd")).as_str())
        );
        let literal = resolve("http://bob%20b:s%3Acret@example.com/x", &[]).unwrap();
        assert_eq!(
            literal.basic_auth.as_deref(),
            Some(format!("Basic {}", BASE64.encode("bob b:s:cret")).as_str())
        );
        assert!(
            resolve("http://example.com/", &[])
                .unwrap()
                .basic_auth
                .is_none()
        );
    }

    #[test]
    fn braces_that_are_not_placeholders_stay() {
        assert_eq!(
            substitute("http://h/{}/{a b}", &[]).unwrap(),
            "http://h/{}/{a b}"
        );
        assert_eq!(substitute("{{x}}", &vars(&[("x", "1")])).unwrap(), "{1}");
    }

    #[test]
    fn invalid_urls_name_the_problem_not_the_value() {
        let missing = resolve("http://h/{token}", &[]).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "invalid URL: no value for the URL variable `{token}`"
        );
        assert_eq!(resolve("ftp://h/", &[]).unwrap_err(), UrlError::Scheme);
        assert!(
            resolve("not a url", &[])
                .unwrap_err()
                .to_string()
                .starts_with("invalid URL: ")
        );
    }

    #[test]
    fn placeholders_in_the_host_are_told_from_the_others() {
        let hidden = |host, port| Hidden { host, port };
        assert_eq!(hidden_parts("http://{host}/x"), hidden(true, false));
        assert_eq!(hidden_parts("http://h:{port}/x"), hidden(false, true));
        assert_eq!(hidden_parts("http://[{h}]:{p}/x"), hidden(true, true));
        assert_eq!(
            hidden_parts("http://{user}:{pass}@h/{path}?q={q}"),
            hidden(false, false)
        );
        assert_eq!(host_variables("http://{a}.{b}.example:{port}/"), ["a", "b"]);
        assert!(host_variables("http://u:{p}@h:{port}/{x}").is_empty());
        assert_eq!(host_variables("http://[{v6}]:{port}/"), ["v6"]);
        assert!(host_variables("not a url").is_empty());
    }

    #[test]
    fn variable_values_are_masked_raw_or_encoded_in_any_case() {
        let variables = vars(&[("path", "a b/C"), ("unused", "x"), ("port", "8080")]);
        let masked = mask_variables(
            "http://h:8080/a%20b%2fc/x?next=a b/C",
            "http://h:{port}/{path}/x",
            &variables,
        );
        assert_eq!(masked, "http://h:{port}/{path}/x?next={path}");
    }

    #[test]
    fn log_url_strips_userinfo_and_keeps_placeholders() {
        assert_eq!(
            log_url("https://u:p@h.example/x?y#z"),
            "https://h.example/x?y#z"
        );
        assert_eq!(
            log_url("https://{user}:{pass}@h.example:{port}/{path}"),
            "https://h.example:{port}/{path}"
        );
        assert_eq!(log_url("http:u:p@h/x"), "http:h/x");
        assert_eq!(log_url("http:\\\\u:p@h\\x"), "http:\\\\h\\x");
        assert_eq!(log_url("https://h/a@b"), "https://h/a@b");
        assert_eq!(log_url("no scheme"), "no scheme");
    }
}
