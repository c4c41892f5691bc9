//! URL templates: a hook URL may hold `{name}` placeholders filled from the hook's URL
//! variables (GitLab's `url_variables`), so that secret parts of a URL are stored as secrets
//! and never shown. Validation checks the filled URL; the sender fills it again per delivery.

use std::ops::Range;

/// URL variables used by a URL but not defined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing url variables: {}", .0.join(", "))]
pub struct MissingVariables(pub Vec<String>);

/// Whether `name` can name a URL variable: GitLab's `^[A-Za-z_][A-Za-z0-9_]*$`.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The placeholders of `url`: each `{name}` whose name is a variable name, with its byte
/// range. Other braces are literal text.
fn placeholders(url: &str) -> Vec<(Range<usize>, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = url[from..].find('{').map(|at| from + at) {
        let name_start = open + 1;
        match url[name_start..].find('}').map(|at| name_start + at) {
            Some(close) if is_variable_name(&url[name_start..close]) => {
                found.push((open..close + 1, &url[name_start..close]));
                from = close + 1;
            }
            Some(_) => from = name_start,
            None => break,
        }
    }
    found
}

/// `url` with every placeholder replaced by its variable's value, as is (a variable may
/// hold a host, a path or credentials, as in GitLab).
pub fn interpolate(url: &str, variables: &[(String, String)]) -> Result<String, MissingVariables> {
    let mut filled = String::with_capacity(url.len());
    let mut missing = Vec::new();
    let mut copied = 0;
    for (range, name) in placeholders(url) {
        filled.push_str(&url[copied..range.start]);
        match variables.iter().find(|(key, _)| key == name) {
            Some((_, value)) => filled.push_str(value),
            None if !missing.iter().any(|m: &String| m == name) => missing.push(name.to_owned()),
            None => {}
        }
        copied = range.end;
    }
    filled.push_str(&url[copied..]);
    if missing.is_empty() {
        Ok(filled)
    } else {
        Err(MissingVariables(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_placeholders() {
        let url = "https://{host}/hooks/{key}?again={key}";
        let filled = interpolate(url, &vars(&[("host", "example.com"), ("key", "s3cr3t")]));
        assert_eq!(
            filled.unwrap(),
            "https://example.com/hooks/s3cr3t?again=s3cr3t"
        );
    }

    #[test]
    fn other_braces_stay_literal() {
        let url = "https://x/{not-a-var}/{1x}/{a{b}/{";
        assert_eq!(
            interpolate(url, &vars(&[("b", "B")])).unwrap(),
            "https://x/{not-a-var}/{1x}/{aB/{"
        );
    }

    #[test]
    fn names_every_missing_variable_once() {
        let err = interpolate("https://{a}/{b}/{a}", &[]).unwrap_err();
        assert_eq!(err, MissingVariables(vec!["a".into(), "b".into()]));
        assert_eq!(err.to_string(), "missing url variables: a, b");
    }

    #[test]
    fn variable_names() {
        for good in ["a", "_a", "A_1", "host"] {
            assert!(is_variable_name(good), "{good}");
        }
        for bad in ["", "1a", "a-b", "a.b", "é"] {
            assert!(!is_variable_name(bad), "{bad}");
        }
    }
}
