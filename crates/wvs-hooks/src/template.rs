//! `custom_webhook_template`: the body a hook sends instead of the event, with
//! `{{path.to.field}}` placeholders filled from the event. WVS also takes array indexes
//! (`{{commits.0.id}}`), which GitLab does not.
//!
//! A placeholder inside a JSON string (`"{{project.name}}"`, GitLab's documented form) puts
//! the value's text there, escaped for the string; a placeholder outside strings
//! (`{{project}}`) puts the JSON value itself. A field the event lacks is empty inside a string
//! and `null` outside. The result must be valid JSON; when it is not, the delivery fails
//! with the reason.
//!
//! A template can name a large field many times, so its output is bounded: rendering stops
//! as soon as the body would pass the limit it is given (the largest payload a delivery
//! sends), and never holds more than that. Templates are not refused when saved for what
//! they could produce: whether a body is too large depends on the event, and a template
//! that names `{{commits}}` twice is reasonable for small pushes.

use serde_json::Value;

/// The template can never produce valid JSON, or produced invalid JSON for this event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a placeholder `{{{{` is never closed")]
    Unclosed,
    #[error("the result is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the body would be larger than the payload limit of {limit} bytes")]
    TooLarge { limit: usize },
}

/// Renders `template` for `event`, in at most `limit` bytes.
pub fn render(template: &str, event: &Value, limit: usize) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("{{") {
            let end = rest.find("}}").ok_or(TemplateError::Unclosed)?;
            let value = lookup(event, rest[2..end].trim());
            let filled = fill(value, in_string);
            if out.len().saturating_add(filled.len()) > limit {
                return Err(TemplateError::TooLarge { limit });
            }
            out.push_str(&filled);
            rest = &rest[end + 2..];
            continue;
        }
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => in_string = !in_string,
            _ => {}
        }
        if out.len() + c.len_utf8() > limit {
            return Err(TemplateError::TooLarge { limit });
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str::<serde::de::IgnoredAny>(&out)
        .map_err(|error| TemplateError::InvalidJson(error.to_string()))?;
    Ok(out)
}

/// Whether the template can produce valid JSON at all (checked when it is saved): rendered
/// for an event with no fields, where every placeholder is empty or `null`.
pub fn check(template: &str) -> Result<(), TemplateError> {
    render(template, &Value::Object(serde_json::Map::new()), usize::MAX).map(|_| ())
}

/// The field at `path` (`a.b.0.c`): object keys, and array indexes.
fn lookup<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(event, |value, key| match value {
        Value::Object(map) => map.get(key),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn fill(value: Option<&Value>, in_string: bool) -> String {
    match (value, in_string) {
        (None, true) => String::new(),
        (None, false) => "null".to_owned(),
        (Some(value), false) => value.to_string(),
        (Some(Value::String(text)), true) => escape(text),
        (Some(value), true) => escape(&value.to_string()),
    }
}

/// `text` escaped to sit inside a JSON string (without the quotes).
fn escape(text: &str) -> String {
    let quoted = Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event() -> Value {
        json!({
            "object_kind": "push",
            "project": {"id": 15, "name": "Diaspora \"D\""},
            "commits": [{"id": "b6568db1", "message": "fix\nbug"}],
            "total_commits_count": 4
        })
    }

    #[test]
    fn placeholders_in_strings_take_the_text_and_outside_the_json_value() {
        let rendered = render(
            r#"{"event": "{{object_kind}}", "project": {{project}}, "count": {{total_commits_count}}, "label": "{{project.name}} #{{project.id}}"}"#,
            &event(),
            usize::MAX,
        )
        .unwrap();
        let value: Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(value["event"], "push");
        assert_eq!(value["project"]["id"], 15);
        assert_eq!(value["count"], 4);
        assert_eq!(value["label"], "Diaspora \"D\" #15");
    }

    #[test]
    fn array_indexes_reach_into_lists() {
        let rendered = render(
            r#"{"sha": "{{commits.0.id}}", "message": "{{ commits.0.message }}", "none": {{commits.9.id}}}"#,
            &event(),
            usize::MAX,
        )
        .unwrap();
        let value: Value = serde_json::from_str(&rendered).unwrap();
        assert_eq!(value["sha"], "b6568db1");
        assert_eq!(value["message"], "fix\nbug");
        assert_eq!(value["none"], Value::Null);
    }

    #[test]
    fn a_result_that_is_not_json_is_an_error_with_the_reason() {
        let error = render(r#"{"a": {{object_kind}"#, &event(), usize::MAX).unwrap_err();
        assert_eq!(error, TemplateError::Unclosed);
        let error = render(r#"{"a": {{object_kind}}"#, &event(), usize::MAX).unwrap_err();
        assert!(matches!(error, TemplateError::InvalidJson(_)), "{error}");
        // Text outside a string is not JSON.
        let error = render(r#"{"a": {{project.name}}x}"#, &event(), usize::MAX).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("the result is not valid JSON")
        );
    }

    #[test]
    fn rendering_stops_at_the_limit_whatever_the_template_multiplies() {
        let pad = "x".repeat(1000);
        let event = json!({ "pad": pad });
        let template = format!("[{}]", vec![r#""{{pad}}""#; 400].join(","));
        // 400 copies of 1,000 bytes: over a 100 kB limit, stopped before it is passed.
        let error = render(&template, &event, 100_000).unwrap_err();
        assert_eq!(error, TemplateError::TooLarge { limit: 100_000 });
        let body = render(&template, &event, 500_000).unwrap();
        assert!(body.len() > 400_000 && body.len() <= 500_000);
        // Literal text counts too.
        let error = render(r#"{"a": "bcdef"}"#, &json!({}), 5).unwrap_err();
        assert_eq!(error, TemplateError::TooLarge { limit: 5 });
    }

    #[test]
    fn a_template_is_checked_before_it_is_saved() {
        assert!(check(r#"{"event": "{{object_kind}}", "p": {{project}}}"#).is_ok());
        assert!(check(r#"{"event": "{{object_kind}}""#).is_err());
        assert!(check("not json").is_err());
    }
}
