//! [`create`] and [`update`]: apply a [`HookInput`] to a hook and check the result as a
//! whole, GitLab's way (the saved record must be valid, not just the fields sent).
//!
//! Limits, GitLab's where it has one:
//! - `url`: required, at most 8192 characters, `http` or `https`, parses once its `{name}`
//!   placeholders are filled; every placeholder needs a URL variable.
//! - `name` ≤ 255 characters, `description` ≤ 2048, `custom_webhook_template` ≤ 4096,
//!   `push_events_branch_filter` ≤ 4000 (and a valid branch name with `*` for `wildcard`,
//!   a valid regular expression for `regex`; `all_branches` clears it).
//! - `token`: no control characters (it travels in a header).
//! - `signing_token`: a `whsec_` secret with a non-empty base64 key.
//! - `custom_headers`: at most 20; names a letter then letters, digits and single `.`, `_`,
//!   `-` between them (GitLab's pattern, minus its quirk of refusing a letter after a digit),
//!   at most 255 characters, not a header WVS sets itself, no name twice (in any case);
//!   values 1 to 2048 characters without control characters.
//! - `url_variables`: at most 20; keys `[A-Za-z_][A-Za-z0-9_]*`, each once; values 1 to 100
//!   characters without control characters.

use wvs_events::headers::{IDEMPOTENCY_KEY, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};
use wvs_events::{Flavor, Scope, SigningSecret};

use crate::url_template::{self, is_variable_name};
use crate::{
    BranchFilterStrategy, HookInput, HookSettings, NewHookParts, Secrets, ValidationError,
    branch_filter,
};

/// GitLab's hook model validates the URL's presence and destination but sets no length (its
/// column is unbounded text), so this is WVS's own limit: 8192 characters, the request-line
/// size most HTTP servers and proxies accept, beyond which a receiver could not be reached.
pub const MAX_URL_CHARS: usize = 8192;
pub const MAX_NAME_CHARS: usize = 255;
pub const MAX_DESCRIPTION_CHARS: usize = 2048;
pub const MAX_TEMPLATE_CHARS: usize = 4096;
pub const MAX_CUSTOM_HEADERS: usize = 20;
pub const MAX_HEADER_NAME_CHARS: usize = 255;
pub const MAX_HEADER_VALUE_CHARS: usize = 2048;
pub const MAX_URL_VARIABLES: usize = 20;
pub const MAX_URL_VARIABLE_VALUE_CHARS: usize = 100;

/// Headers a delivery sets itself (or that frame the request): a custom header may not
/// replace them, or it could forge the event, the token or the signature.
const FRAMING_HEADERS: [&str; 10] = [
    "Content-Type",
    "Content-Length",
    "Transfer-Encoding",
    "Connection",
    "Host",
    "User-Agent",
    IDEMPOTENCY_KEY,
    WEBHOOK_ID,
    WEBHOOK_TIMESTAMP,
    WEBHOOK_SIGNATURE,
];

/// A new hook of `scope` from a create request: the scope's default flags, then the
/// request's fields. `url` is required.
pub fn create(scope: Scope, input: HookInput) -> Result<NewHookParts, ValidationError> {
    if input.url.is_none() {
        return Err(ValidationError::new("url", "is missing"));
    }
    let blank = NewHookParts {
        url: String::new(),
        secrets: Secrets::default(),
        settings: HookSettings::for_scope(scope),
    };
    apply(scope, blank, input)
}

/// `current` with the fields of an update request applied.
///
/// Secrets are bound to where they go, as in GitLab: a new URL drops the URL variables, and
/// a new destination (the filled URL, so a changed variable counts) drops the token and the
/// custom headers, which travel in clear to it; whichever of them the same request gives is
/// kept. Signing secrets stay: a receiver learns nothing of the key from a signature.
pub fn update(
    scope: Scope,
    current: &NewHookParts,
    input: HookInput,
) -> Result<NewHookParts, ValidationError> {
    let mut next = current.clone();
    let url_changed = input
        .url
        .as_deref()
        .is_some_and(|url| url.trim() != current.url);
    if url_changed && input.url_variables.is_none() {
        next.secrets.url_variables.clear();
    }
    let token_given = input.token.is_some();
    let headers_given = input.custom_headers.is_some();
    let mut next = apply(scope, next, input)?;
    if destination(&next) != destination(current) {
        if !token_given {
            next.secrets.token = None;
        }
        if !headers_given {
            next.secrets.custom_headers.clear();
        }
    }
    Ok(next)
}

/// Where deliveries go: the URL with its variables filled.
fn destination(parts: &NewHookParts) -> Option<String> {
    url_template::interpolate(&parts.url, &parts.secrets.url_variables).ok()
}

fn apply(
    scope: Scope,
    mut parts: NewHookParts,
    input: HookInput,
) -> Result<NewHookParts, ValidationError> {
    let HookInput {
        url,
        name,
        description,
        token,
        signing_token,
        generate_signing_token,
        events,
        malformed_events,
        push_events_branch_filter,
        branch_filter_strategy,
        enable_ssl_verification,
        custom_webhook_template,
        custom_headers,
        url_variables,
        flavor,
        max_in_flight,
        ordered,
    } = input;
    if let Some(url) = url {
        parts.url = url.trim().to_owned();
    }
    let (settings, secrets) = (&mut parts.settings, &mut parts.secrets);
    set_text(&mut settings.name, name);
    set_text(&mut settings.description, description);
    set_text(
        &mut settings.custom_webhook_template,
        custom_webhook_template,
    );
    // GitLab squishes the filter; a branch name has no surrounding blanks.
    set_text(
        &mut settings.push_events_branch_filter,
        push_events_branch_filter.map(|filter| filter.trim().to_owned()),
    );
    set_text(&mut secrets.token, token);
    let signing_token_given = signing_token.is_some();
    if let Some(signing_token) = signing_token {
        let signing_token = signing_token.trim();
        secrets.signing_tokens = if signing_token.is_empty() {
            Vec::new()
        } else {
            vec![signing_token.to_owned()]
        };
    }
    if generate_signing_token == Some(true) {
        if signing_token_given {
            return Err(ValidationError::new(
                "generate_signing_token",
                "cannot be combined with signing_token",
            ));
        }
        secrets.signing_tokens = vec![SigningSecret::generate().expose()];
    }
    // A flag the scope does not have is ignored, as GitLab ignores unknown attributes.
    if let Some(flag) = malformed_events.iter().find(|flag| flag.in_scope(scope)) {
        return Err(ValidationError::invalid(flag.name()));
    }
    for (flag, on) in events {
        if flag.in_scope(scope) {
            settings.events.turn(flag, on);
        }
    }
    if let Some(strategy) = branch_filter_strategy {
        settings.branch_filter_strategy = strategy;
    }
    if settings.branch_filter_strategy == BranchFilterStrategy::AllBranches {
        settings.push_events_branch_filter = None;
    }
    if let Some(verify) = enable_ssl_verification {
        settings.enable_ssl_verification = verify;
    }
    if let Some(flavor) = flavor {
        settings.flavor = flavor;
    }
    if let Some(max_in_flight) = max_in_flight {
        settings.max_in_flight = max_in_flight;
    }
    if let Some(ordered) = ordered {
        settings.ordered = ordered;
    }
    if let Some(headers) = custom_headers {
        secrets.custom_headers = headers;
    }
    if let Some(variables) = url_variables {
        secrets.url_variables = variables;
    }
    check(&parts)?;
    Ok(parts)
}

/// An empty value clears the field.
fn set_text(slot: &mut Option<String>, value: Option<String>) {
    if let Some(value) = value {
        *slot = (!value.is_empty()).then_some(value);
    }
}

fn check(parts: &NewHookParts) -> Result<(), ValidationError> {
    check_url(parts)?;
    let settings = &parts.settings;
    check_length("name", settings.name.as_deref(), MAX_NAME_CHARS)?;
    check_length(
        "description",
        settings.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
    )?;
    check_length(
        "custom_webhook_template",
        settings.custom_webhook_template.as_deref(),
        MAX_TEMPLATE_CHARS,
    )?;
    if !(1..=HookSettings::MAX_IN_FLIGHT).contains(&settings.max_in_flight) {
        return Err(ValidationError::new(
            "max_in_flight",
            format!("must be between 1 and {}", HookSettings::MAX_IN_FLIGHT),
        ));
    }
    if let Some(template) = &settings.custom_webhook_template
        && let Err(error) = crate::template::check(template)
    {
        return Err(ValidationError::new(
            "custom_webhook_template",
            format!("is invalid: {error}"),
        ));
    }
    if let Some(filter) = &settings.push_events_branch_filter
        && let Some(problem) = branch_filter::problem(settings.branch_filter_strategy, filter)
    {
        return Err(ValidationError::new("push_events_branch_filter", problem));
    }
    check_secrets(&parts.secrets)
}

fn check_url(parts: &NewHookParts) -> Result<(), ValidationError> {
    let invalid = |why: &str| ValidationError::new("url", format!("is invalid: {why}"));
    if parts.url.is_empty() {
        return Err(ValidationError::new("url", "can't be blank"));
    }
    check_length("url", Some(&parts.url), MAX_URL_CHARS)?;
    if parts.url.chars().any(char::is_control) {
        return Err(invalid("it contains control characters"));
    }
    let filled =
        url_template::interpolate(&parts.url, &parts.secrets.url_variables).map_err(|missing| {
            ValidationError::new(
                "url_variables",
                format!(
                    "must define every variable the url uses; missing: {}",
                    missing.0.join(", ")
                ),
            )
        })?;
    // The parser's messages describe the problem without quoting the URL, whose filled form
    // may hold variable values.
    let parsed = url::Url::parse(&filled).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs are allowed"));
    }
    Ok(())
}

fn check_length(field: &str, value: Option<&str>, max: usize) -> Result<(), ValidationError> {
    match value {
        Some(value) if value.chars().count() > max => Err(ValidationError::new(
            field,
            format!("is too long (maximum is {max} characters)"),
        )),
        _ => Ok(()),
    }
}

fn check_secrets(secrets: &Secrets) -> Result<(), ValidationError> {
    if secrets.token.as_deref().is_some_and(has_control) {
        return Err(ValidationError::new(
            "token",
            "is invalid: it must not contain line breaks or other control characters",
        ));
    }
    for secret in &secrets.signing_tokens {
        // `SignatureError` messages describe the format, never the secret.
        SigningSecret::parse(secret).map_err(|error| {
            ValidationError::new("signing_token", format!("is invalid: {error}"))
        })?;
    }
    check_pairs(
        "custom_headers",
        &secrets.custom_headers,
        &Pairs {
            max: MAX_CUSTOM_HEADERS,
            key_problem: header_name_problem,
            same_key: |a, b| a.eq_ignore_ascii_case(b),
            max_value_chars: MAX_HEADER_VALUE_CHARS,
        },
    )?;
    check_pairs(
        "url_variables",
        &secrets.url_variables,
        &Pairs {
            max: MAX_URL_VARIABLES,
            key_problem: |key| {
                (!is_variable_name(key)).then(|| format!("`{key}` is not a valid variable name"))
            },
            same_key: |a, b| a == b,
            max_value_chars: MAX_URL_VARIABLE_VALUE_CHARS,
        },
    )
}

/// The rules of a key-value secret list.
struct Pairs {
    max: usize,
    /// Why a key is refused, if it is.
    key_problem: fn(&str) -> Option<String>,
    same_key: fn(&str, &str) -> bool,
    max_value_chars: usize,
}

fn check_pairs(
    field: &str,
    pairs: &[(String, String)],
    rules: &Pairs,
) -> Result<(), ValidationError> {
    let invalid = |why: String| ValidationError::new(field, format!("is invalid: {why}"));
    if pairs.len() > rules.max {
        return Err(invalid(format!("at most {} are allowed", rules.max)));
    }
    for (at, (key, value)) in pairs.iter().enumerate() {
        if let Some(problem) = (rules.key_problem)(key) {
            return Err(invalid(problem));
        }
        if pairs[..at]
            .iter()
            .any(|(earlier, _)| (rules.same_key)(earlier, key))
        {
            return Err(invalid(format!("`{key}` is given twice")));
        }
        let chars = value.chars().count();
        if chars == 0 || chars > rules.max_value_chars || has_control(value) {
            return Err(invalid(format!(
                "the value of `{key}` must be 1 to {} characters without control characters",
                rules.max_value_chars
            )));
        }
    }
    Ok(())
}

fn header_name_problem(name: &str) -> Option<String> {
    let well_formed = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().count() <= MAX_HEADER_NAME_CHARS
        && name
            .split(['.', '_', '-'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if !well_formed {
        return Some(format!("`{name}` is not a valid header name"));
    }
    let flavored = Flavor::ALL.iter().flat_map(|flavor| {
        [
            flavor.event(),
            flavor.token(),
            flavor.event_uuid(),
            flavor.webhook_uuid(),
            flavor.instance(),
        ]
    });
    FRAMING_HEADERS
        .into_iter()
        .chain(flavored)
        .any(|reserved| reserved.eq_ignore_ascii_case(name))
        .then(|| format!("`{name}` is set by WVS itself"))
}

/// Control characters other than tab cannot travel in a header value.
fn has_control(value: &str) -> bool {
    value.chars().any(|c| c.is_control() && c != '\t')
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::Flag;

    const URL: &str = "https://example.com/hook";
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn input(body: Value) -> HookInput {
        HookInput::from_json(&body).unwrap()
    }

    fn create_json(scope: Scope, body: Value) -> Result<NewHookParts, ValidationError> {
        create(scope, input(body))
    }

    fn error(scope: Scope, body: Value) -> String {
        create_json(scope, body).unwrap_err().to_string()
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn create_needs_a_url() {
        assert_eq!(
            error(Scope::Project, json!({"name": "x"})),
            "url is missing"
        );
        assert_eq!(
            error(Scope::Project, json!({"url": ""})),
            "url can't be blank"
        );
        assert_eq!(
            error(Scope::Project, json!({"url": null})),
            "url can't be blank"
        );
    }

    #[test]
    fn create_starts_from_the_scopes_defaults() {
        let parts = create_json(Scope::Project, json!({"url": URL})).unwrap();
        assert_eq!(parts.url, URL);
        assert_eq!(parts.settings, HookSettings::for_scope(Scope::Project));
        assert_eq!(parts.secrets, Secrets::default());
        let system = create_json(Scope::System, json!({"url": URL})).unwrap();
        assert!(system.settings.events.repository_update_events);
        assert!(!system.settings.events.push_events);
    }

    #[test]
    fn create_takes_every_field() {
        let parts = create_json(
            Scope::Group,
            json!({
                "url": format!(" {URL}/{{path}} "),
                "name": "n", "description": "d", "token": "t", "signing_token": SECRET,
                "push_events": "false", "member_events": true, "subgroup_events": "1",
                "push_events_branch_filter": " release-* ", "enable_ssl_verification": false,
                "custom_webhook_template": "{\"event\": \"{{object_kind}}\"}",
                "custom_headers": [{"key": "X-Custom", "value": "v"}],
                "url_variables": [{"key": "path", "value": "p"}],
                "flavor": "gitlab"
            }),
        )
        .unwrap();
        assert_eq!(parts.url, "https://example.com/hook/{path}");
        let settings = &parts.settings;
        assert_eq!(settings.name.as_deref(), Some("n"));
        assert_eq!(settings.description.as_deref(), Some("d"));
        assert!(
            !settings.events.push_events
                && settings.events.member_events
                && settings.events.subgroup_events
        );
        assert_eq!(
            settings.push_events_branch_filter.as_deref(),
            Some("release-*")
        );
        assert!(!settings.enable_ssl_verification);
        assert!(settings.custom_webhook_template.is_some());
        assert_eq!(settings.flavor, Some(Flavor::Gitlab));
        assert_eq!(
            parts.secrets,
            Secrets {
                token: Some("t".into()),
                signing_tokens: vec![SECRET.into()],
                custom_headers: pairs(&[("X-Custom", "v")]),
                url_variables: pairs(&[("path", "p")]),
            }
        );
    }

    #[test]
    fn a_form_creates_the_same_hook() {
        let fields: Vec<(String, String)> = [
            ("url", URL),
            ("tag_push_events", "true"),
            ("custom_headers[][key]", "X-Custom"),
            ("custom_headers[][value]", "v"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let from_form = create(Scope::Project, HookInput::from_form(&fields).unwrap()).unwrap();
        let from_json = create_json(
            Scope::Project,
            json!({"url": URL, "tag_push_events": true, "custom_headers": {"X-Custom": "v"}}),
        )
        .unwrap();
        assert_eq!(from_form, from_json);
    }

    #[test]
    fn urls_must_be_http_and_parse() {
        let cases = [
            (
                "ftp://example.com/",
                "url is invalid: only http and https URLs are allowed",
            ),
            (
                "example.com/hook",
                "url is invalid: relative URL without a base",
            ),
            ("https://", "url is invalid: empty host"),
            (
                "https://exa mple.com/",
                "url is invalid: invalid international domain name",
            ),
            (
                "https://example.com/\nx",
                "url is invalid: it contains control characters",
            ),
        ];
        for (url, message) in cases {
            assert_eq!(error(Scope::Project, json!({"url": url})), message, "{url}");
        }
        assert!(create_json(Scope::System, json!({"url": "http://127.0.0.1:8080/x"})).is_ok());
    }

    #[test]
    fn placeholders_need_variables() {
        let message = error(
            Scope::Project,
            json!({"url": "https://{host}/{path}", "url_variables": {"host": "h.example"}}),
        );
        assert_eq!(
            message,
            "url_variables must define every variable the url uses; missing: path"
        );
        // The filled URL is what must parse; the error does not show the variable's value.
        let message = error(
            Scope::Project,
            json!({"url": "https://{host}/", "url_variables": {"host": "bad host"}}),
        );
        assert_eq!(message, "url is invalid: invalid international domain name");
        assert!(
            create_json(
                Scope::Project,
                json!({"url": "https://{host}/", "url_variables": {"host": "h.example"}})
            )
            .is_ok()
        );
    }

    #[test]
    fn flags_the_scope_does_not_have_are_ignored() {
        for (scope, flag) in [
            (Scope::Project, "member_events"),
            (Scope::Group, "repository_update_events"),
            (Scope::System, "issues_events"),
        ] {
            let parts = create_json(scope, json!({"url": URL, flag: true})).unwrap();
            assert_eq!(parts.settings, HookSettings::for_scope(scope), "{flag}");
            // Whatever its value: the scope has no such attribute.
            assert!(create_json(scope, json!({"url": URL, flag: "maybe"})).is_ok());
        }
        assert_eq!(
            error(Scope::System, json!({"url": URL, "push_events": "maybe"})),
            "push_events is invalid"
        );
    }

    #[test]
    fn secrets_are_checked_without_being_echoed() {
        let message = error(
            Scope::Project,
            json!({"url": URL, "signing_token": "not-a-secret-value"}),
        );
        assert_eq!(
            message,
            "signing_token is invalid: a signing secret must start with `whsec_`"
        );
        let message = error(
            Scope::Project,
            json!({"url": URL, "signing_token": "whsec_%%%secret%%%"}),
        );
        assert!(
            message.starts_with("signing_token is invalid") && !message.contains("secret%"),
            "{message}"
        );
        let message = error(
            Scope::Project,
            json!({"url": URL, "token": "abc\r\nX-Evil: 1"}),
        );
        assert!(
            message.starts_with("token is invalid") && !message.contains("abc"),
            "{message}"
        );
        let message = error(
            Scope::Project,
            json!({"url": URL, "custom_headers": {"X-A": "line\nbreak-value"}}),
        );
        assert!(
            message.starts_with("custom_headers is invalid") && !message.contains("break-value"),
            "{message}"
        );
    }

    #[test]
    fn branch_filters_are_checked_by_strategy() {
        let message = error(
            Scope::Project,
            json!({"url": URL, "branch_filter_strategy": "regex", "push_events_branch_filter": "release-("}),
        );
        assert!(
            message.starts_with("push_events_branch_filter is not a valid regular expression: "),
            "{message}"
        );
        assert_eq!(
            error(
                Scope::Project,
                json!({"url": URL, "push_events_branch_filter": "a..b"})
            ),
            "push_events_branch_filter is not a valid branch name"
        );
        let parts = create_json(
            Scope::Project,
            json!({"url": URL, "branch_filter_strategy": "all_branches", "push_events_branch_filter": "a..b"}),
        )
        .unwrap();
        assert_eq!(parts.settings.push_events_branch_filter, None);
        assert!(
            create_json(
                Scope::Project,
                json!({"url": URL, "branch_filter_strategy": "regex", "push_events_branch_filter": r"^release-\d+$"})
            )
            .is_ok()
        );
    }

    #[test]
    fn a_signing_secret_can_be_generated() {
        let body = json!({"url": URL, "generate_signing_token": true});
        let parts = create_json(Scope::Project, body).unwrap();
        let secret = &parts.secrets.signing_tokens[0];
        assert!(SigningSecret::parse(secret).is_ok(), "a whsec_ secret");
        let again = create_json(
            Scope::Project,
            json!({"url": URL, "generate_signing_token": true}),
        );
        assert_ne!(&again.unwrap().secrets.signing_tokens[0], secret, "random");
        let both = json!({"url": URL, "generate_signing_token": true, "signing_token": SECRET});
        assert_eq!(
            error(Scope::Project, both),
            "generate_signing_token cannot be combined with signing_token"
        );
    }

    #[test]
    fn delivery_limits_default_and_are_checked() {
        let parts = create_json(Scope::Project, json!({"url": "https://e.x/h"})).unwrap();
        assert_eq!(
            (parts.settings.max_in_flight, parts.settings.ordered),
            (1000, false),
            "no cap of its own: the adaptive limit decides"
        );
        let parts = create_json(
            Scope::Project,
            json!({"url": "https://e.x/h", "max_in_flight": 16, "ordered": "true"}),
        )
        .unwrap();
        assert_eq!(
            (parts.settings.max_in_flight, parts.settings.ordered),
            (16, true)
        );
        for out_of_range in [0, 1001] {
            let body = json!({"url": "https://e.x/h", "max_in_flight": out_of_range});
            assert_eq!(
                error(Scope::Project, body),
                "max_in_flight must be between 1 and 1000"
            );
        }
        for malformed in [json!("many"), json!(-1), json!(true)] {
            let body = json!({"max_in_flight": malformed});
            let message = HookInput::from_json(&body).unwrap_err().to_string();
            assert_eq!(message, "max_in_flight is invalid");
        }
    }

    #[test]
    fn a_template_that_cannot_render_to_json_is_refused() {
        let body = json!({"url": URL, "custom_webhook_template": "{\"a\": {{object_kind}"});
        assert_eq!(
            error(Scope::Project, body),
            "custom_webhook_template is invalid: a placeholder `{{` is never closed"
        );
        let body = json!({"url": URL, "custom_webhook_template": "{\"a\": \"{{x}}\"}"});
        assert!(create_json(Scope::Project, body).is_ok());
    }

    #[test]
    fn lengths_are_limited() {
        let cases = [
            ("name", 255, "name is too long (maximum is 255 characters)"),
            (
                "description",
                2048,
                "description is too long (maximum is 2048 characters)",
            ),
            (
                "custom_webhook_template",
                4096,
                "custom_webhook_template is too long (maximum is 4096 characters)",
            ),
        ];
        // `n` characters; for the template, a JSON string (it must render to JSON).
        let text = |field: &str, n: usize| match field {
            "custom_webhook_template" => format!("\"{}\"", "é".repeat(n - 2)),
            _ => "é".repeat(n),
        };
        for (field, max, message) in cases {
            let body = json!({"url": URL, field: text(field, max)});
            assert!(create_json(Scope::Project, body).is_ok(), "{field}");
            assert_eq!(
                error(
                    Scope::Project,
                    json!({"url": URL, field: text(field, max + 1)})
                ),
                message
            );
        }
    }

    #[test]
    fn a_url_is_at_most_8192_characters() {
        let url = |chars: usize| format!("{URL}/{}", "a".repeat(chars - URL.len() - 1));
        assert_eq!(url(MAX_URL_CHARS).len(), MAX_URL_CHARS);
        assert!(create_json(Scope::Project, json!({"url": url(MAX_URL_CHARS)})).is_ok());
        assert_eq!(
            error(Scope::Project, json!({"url": url(MAX_URL_CHARS + 1)})),
            "url is too long (maximum is 8192 characters)"
        );
        let current = create_json(Scope::Project, json!({"url": URL})).unwrap();
        let refused = update(
            Scope::Project,
            &current,
            input(json!({"url": url(MAX_URL_CHARS + 1)})),
        );
        assert_eq!(refused.unwrap_err().field, "url");
    }

    #[test]
    fn custom_headers_follow_gitlabs_rules() {
        let too_many: Vec<Value> = (0..21)
            .map(|i| json!({"key": format!("X-H{i}"), "value": "v"}))
            .collect();
        let cases = [
            (
                json!(too_many),
                "custom_headers is invalid: at most 20 are allowed",
            ),
            (
                json!({"X A": "v"}),
                "custom_headers is invalid: `X A` is not a valid header name",
            ),
            (
                json!({"X--A": "v"}),
                "custom_headers is invalid: `X--A` is not a valid header name",
            ),
            (
                json!({"1X": "v"}),
                "custom_headers is invalid: `1X` is not a valid header name",
            ),
            (
                json!({"X-Gitlab-Token": "v"}),
                "custom_headers is invalid: `X-Gitlab-Token` is set by WVS itself",
            ),
            (
                json!({"x-wvs-event": "v"}),
                "custom_headers is invalid: `x-wvs-event` is set by WVS itself",
            ),
            (
                json!({"Webhook-Signature": "v"}),
                "custom_headers is invalid: `Webhook-Signature` is set by WVS itself",
            ),
            (
                json!([{"key": "X-A", "value": "1"}, {"key": "x-a", "value": "2"}]),
                "custom_headers is invalid: `x-a` is given twice",
            ),
            (
                json!({"X-A": ""}),
                "custom_headers is invalid: the value of `X-A` must be 1 to 2048 characters without control characters",
            ),
            (
                json!({"X-A": "v".repeat(2049)}),
                "custom_headers is invalid: the value of `X-A` must be 1 to 2048 characters without control characters",
            ),
        ];
        for (headers, message) in cases {
            assert_eq!(
                error(
                    Scope::Project,
                    json!({"url": URL, "custom_headers": headers})
                ),
                message
            );
        }
        let ok = json!({"Authorization": "Bearer x", "X-Api_Key.v2": "v\tw"});
        assert!(create_json(Scope::Project, json!({"url": URL, "custom_headers": ok})).is_ok());
    }

    #[test]
    fn url_variables_follow_gitlabs_rules() {
        let too_many: serde_json::Map<String, Value> =
            (0..21).map(|i| (format!("v{i}"), json!("x"))).collect();
        let cases = [
            (
                json!(too_many),
                "url_variables is invalid: at most 20 are allowed",
            ),
            (
                json!({"1a": "x"}),
                "url_variables is invalid: `1a` is not a valid variable name",
            ),
            (
                json!({"a": "x".repeat(101)}),
                "url_variables is invalid: the value of `a` must be 1 to 100 characters without control characters",
            ),
        ];
        for (variables, message) in cases {
            assert_eq!(
                error(
                    Scope::Project,
                    json!({"url": URL, "url_variables": variables})
                ),
                message
            );
        }
    }

    fn existing() -> NewHookParts {
        create_json(
            Scope::Project,
            json!({
                "url": "https://{host}/hook", "name": "n", "token": "t", "signing_token": SECRET,
                "custom_headers": {"X-A": "1"}, "url_variables": {"host": "a.example"},
                "issues_events": true
            }),
        )
        .unwrap()
    }

    #[test]
    fn update_applies_only_the_given_fields() {
        let current = existing();
        let next = update(
            Scope::Project,
            &current,
            input(json!({"name": "renamed", "push_events": false})),
        )
        .unwrap();
        assert_eq!(next.settings.name.as_deref(), Some("renamed"));
        assert!(!next.settings.events.push_events && next.settings.events.issues_events);
        assert_eq!(next.secrets, current.secrets);
        assert_eq!(next.url, current.url);
        assert_eq!(
            update(Scope::Project, &current, HookInput::default()).unwrap(),
            current
        );
        // The same URL again is no change.
        let same = update(Scope::Project, &current, input(json!({"url": current.url}))).unwrap();
        assert_eq!(same, current);
    }

    #[test]
    fn a_new_url_drops_secrets_bound_to_the_old_one() {
        let current = existing();
        let next = update(
            Scope::Project,
            &current,
            input(json!({"url": "https://b.example/hook"})),
        )
        .unwrap();
        assert_eq!(next.url, "https://b.example/hook");
        assert_eq!(next.secrets.token, None);
        assert_eq!(next.secrets.url_variables, []);
        assert_eq!(next.secrets.custom_headers, []);
        assert_eq!(next.secrets.signing_tokens, [SECRET]);
    }

    #[test]
    fn a_new_url_keeps_secrets_given_with_it() {
        let next = update(
            Scope::Project,
            &existing(),
            input(json!({
                "url": "https://{host}/other", "token": "new",
                "url_variables": {"host": "c.example"}, "custom_headers": {"X-B": "2"}
            })),
        )
        .unwrap();
        assert_eq!(next.secrets.token.as_deref(), Some("new"));
        assert_eq!(next.secrets.url_variables, pairs(&[("host", "c.example")]));
        assert_eq!(next.secrets.custom_headers, pairs(&[("X-B", "2")]));
    }

    #[test]
    fn a_new_url_without_its_variables_is_refused() {
        let message = update(
            Scope::Project,
            &existing(),
            input(json!({"url": "https://{host}/other"})),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            message,
            "url_variables must define every variable the url uses; missing: host"
        );
    }

    #[test]
    fn a_new_destination_through_a_variable_drops_token_and_headers() {
        let current = existing();
        let next = update(
            Scope::Project,
            &current,
            input(json!({"url_variables": {"host": "evil.example"}})),
        )
        .unwrap();
        assert_eq!(next.url, current.url);
        assert_eq!(next.secrets.token, None);
        assert_eq!(next.secrets.custom_headers, []);
        assert_eq!(next.secrets.signing_tokens, [SECRET]);
        // Same values again: same destination, nothing dropped.
        let same = update(
            Scope::Project,
            &current,
            input(json!({"url_variables": {"host": "a.example"}})),
        )
        .unwrap();
        assert_eq!(same, current);
    }

    #[test]
    fn empty_values_clear() {
        let next = update(
            Scope::Project,
            &existing(),
            input(json!({"token": "", "signing_token": "", "name": null, "custom_headers": []})),
        )
        .unwrap();
        assert_eq!(next.secrets.token, None);
        assert_eq!(next.secrets.signing_tokens, Vec::<String>::new());
        assert_eq!(next.secrets.custom_headers, []);
        assert_eq!(next.settings.name, None);
    }

    #[test]
    fn update_ignores_flags_the_scope_does_not_have() {
        let next = update(
            Scope::Project,
            &existing(),
            input(json!({"subgroup_events": true})),
        )
        .unwrap();
        assert_eq!(next.settings, existing().settings);
        let mut current = existing();
        current.settings.events.turn(Flag::PushEvents, false);
        let next = update(
            Scope::Project,
            &current,
            input(json!({"push_events": "yes"})),
        )
        .unwrap();
        assert!(next.settings.events.push_events);
    }
}
