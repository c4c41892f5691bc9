//! Reading a JSON request body.
//!
//! Accepted: an object whose scalar fields are strings, numbers (read as text), booleans
//! (or the strings `"true"`/`"false"`...) and `null` (clears a text field); `custom_headers`
//! and `url_variables` as GitLab sends them, an array of `{"key": ..., "value": ...}`, or as
//! an object `{"name": "value", ...}`; `null` or `[]` removes them all.

use std::borrow::Cow;

use serde_json::Value;

use super::{HookInput, Raw, bad_entry};
use crate::ValidationError;

impl HookInput {
    /// Reads a JSON request body.
    pub fn from_json(body: &Value) -> Result<HookInput, ValidationError> {
        let Value::Object(fields) = body else {
            return Err(ValidationError::new("body", "must be a JSON object"));
        };
        let mut input = HookInput::default();
        for (key, value) in fields {
            match (input.pairs_field(key), value) {
                (Some(slot), Value::Array(_) | Value::Object(_)) => {
                    *slot = Some(pairs(key, value)?)
                }
                _ => input.assign(key, raw(value))?,
            }
        }
        Ok(input)
    }
}

fn raw(value: &Value) -> Raw<'_> {
    match value {
        Value::String(text) => Raw::Text(Cow::Borrowed(text)),
        Value::Number(number) => Raw::Text(Cow::Owned(number.to_string())),
        Value::Bool(on) => Raw::Bool(*on),
        Value::Null => Raw::Null,
        Value::Array(_) | Value::Object(_) => Raw::Compound,
    }
}

/// A list of key-value entries, either shape.
fn pairs(field: &str, value: &Value) -> Result<Vec<(String, String)>, ValidationError> {
    let text = |value: &Value| match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| {
                text(value)
                    .map(|value| (key.clone(), value))
                    .ok_or_else(|| ValidationError::invalid(field))
            })
            .collect(),
        Value::Array(entries) => entries
            .iter()
            .enumerate()
            .map(|(at, entry)| {
                let key = entry.get("key").and_then(text);
                let value = entry.get("value").and_then(text);
                key.zip(value).ok_or_else(|| bad_entry(field, at + 1))
            })
            .collect(),
        _ => Err(ValidationError::invalid(field)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wvs_events::Flavor;

    use super::*;
    use crate::{BranchFilterStrategy, Flag};

    #[test]
    fn reads_every_field() {
        let input = HookInput::from_json(&json!({
            "url": "https://example.com/hook",
            "name": "ci",
            "description": "d",
            "token": "t",
            "signing_token": "whsec_c2VjcmV0",
            "push_events": false,
            "merge_requests_events": "true",
            "member_events": "0",
            "push_events_branch_filter": "main",
            "branch_filter_strategy": "regex",
            "enable_ssl_verification": "false",
            "custom_webhook_template": "{\"a\": 1}",
            "custom_headers": [{"key": "X-A", "value": "1"}],
            "url_variables": {"host": "example.com"},
            "flavor": "gitlab",
            "id": 5,
            "unknown": {"ignored": true}
        }))
        .unwrap();
        assert_eq!(input.url.as_deref(), Some("https://example.com/hook"));
        assert_eq!(input.name.as_deref(), Some("ci"));
        assert_eq!(input.description.as_deref(), Some("d"));
        assert_eq!(input.token.as_deref(), Some("t"));
        assert_eq!(input.signing_token.as_deref(), Some("whsec_c2VjcmV0"));
        assert_eq!(
            input.events,
            [
                (Flag::PushEvents, false),
                (Flag::MergeRequestsEvents, true),
                (Flag::MemberEvents, false)
            ]
        );
        assert_eq!(input.push_events_branch_filter.as_deref(), Some("main"));
        assert_eq!(
            input.branch_filter_strategy,
            Some(BranchFilterStrategy::Regex)
        );
        assert_eq!(input.enable_ssl_verification, Some(false));
        assert_eq!(input.custom_webhook_template.as_deref(), Some("{\"a\": 1}"));
        assert_eq!(input.custom_headers, Some(vec![("X-A".into(), "1".into())]));
        assert_eq!(
            input.url_variables,
            Some(vec![("host".into(), "example.com".into())])
        );
        assert_eq!(input.flavor, Some(Some(Flavor::Gitlab)));
    }

    #[test]
    fn null_and_empty_clear() {
        let input = HookInput::from_json(&json!({
            "token": null, "name": "", "custom_headers": null, "url_variables": [], "flavor": null
        }))
        .unwrap();
        assert_eq!(input.token.as_deref(), Some(""));
        assert_eq!(input.name.as_deref(), Some(""));
        assert_eq!(input.custom_headers, Some(vec![]));
        assert_eq!(input.url_variables, Some(vec![]));
        assert_eq!(input.flavor, Some(None));
        assert_eq!(
            HookInput::from_json(&json!({})).unwrap(),
            HookInput::default()
        );
    }

    #[test]
    fn numbers_read_as_text() {
        let input = HookInput::from_json(&json!({"token": 12345})).unwrap();
        assert_eq!(input.token.as_deref(), Some("12345"));
    }

    #[test]
    fn a_flag_that_is_not_a_boolean_is_kept_for_the_scope_to_judge() {
        let input = HookInput::from_json(&json!({"push_events": "sometimes"})).unwrap();
        assert_eq!(input.malformed_events, [Flag::PushEvents]);
        assert_eq!(input.events, []);
    }

    #[test]
    fn type_errors_name_the_field() {
        let cases = [
            (
                json!({"enable_ssl_verification": null}),
                "enable_ssl_verification is invalid",
            ),
            (json!({"name": ["a"]}), "name is invalid"),
            (json!({"url": true}), "url is invalid"),
            (
                json!({"branch_filter_strategy": "glob"}),
                "branch_filter_strategy does not have a valid value",
            ),
            (
                json!({"flavor": "github"}),
                "flavor does not have a valid value",
            ),
            (
                json!({"custom_headers": "X-A"}),
                "custom_headers is invalid",
            ),
            (
                json!({"custom_headers": [{"key": "X-A"}]}),
                "custom_headers is invalid: entry 1 needs a `key` and a `value`",
            ),
            (
                json!({"url_variables": {"a": {"b": 1}}}),
                "url_variables is invalid",
            ),
            (json!([1]), "body must be a JSON object"),
        ];
        for (body, message) in cases {
            assert_eq!(
                HookInput::from_json(&body).unwrap_err().to_string(),
                message,
                "{body}"
            );
        }
    }
}
