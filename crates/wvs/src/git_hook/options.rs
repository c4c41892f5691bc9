//! `git push -o` options, as GitLab puts them in `push_options`: `namespace.key[=value]`
//! becomes `{"namespace": {"key": value}}` (`true` without a value); `mr` is short for
//! `merge_request`; the keys GitLab takes several times (`ci.variable`,
//! `merge_request.label`, ...) become `{"value": times given}`; options GitLab does not know
//! are left out, as GitLab leaves them out.

use serde_json::{Map, Value, json};

/// The namespaces and keys GitLab knows.
const KNOWN: &[(&str, &[&str])] = &[
    (
        "merge_request",
        &[
            "assign",
            "create",
            "description",
            "draft",
            "label",
            "merge_when_pipeline_succeeds",
            "milestone",
            "remove_source_branch",
            "squash",
            "target",
            "target_project",
            "title",
            "unassign",
            "unlabel",
        ],
    ),
    ("ci", &["skip", "variable"]),
    ("integrations", &["skip_ci"]),
    ("secret_detection", &["skip_all"]),
    ("secret_push_protection", &["skip_all"]),
];

/// Keys that may be given more than once, each value counted.
const MULTI_VALUE: &[(&str, &str)] = &[
    ("ci", "variable"),
    ("merge_request", "label"),
    ("merge_request", "unlabel"),
    ("merge_request", "assign"),
    ("merge_request", "unassign"),
];

/// The options Git passed to the hook (`GIT_PUSH_OPTION_COUNT`, `GIT_PUSH_OPTION_<n>`).
pub fn from_env() -> Vec<String> {
    let count: usize = std::env::var("GIT_PUSH_OPTION_COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(0);
    (0..count)
        .filter_map(|n| std::env::var(format!("GIT_PUSH_OPTION_{n}")).ok())
        .collect()
}

/// The `push_options` object of the options given.
pub fn push_options(options: &[String]) -> Map<String, Value> {
    let mut parsed = Map::new();
    for option in options {
        let Some((namespace, rest)) = option.split_once('.') else {
            continue;
        };
        let (key, value) = rest.split_once('=').unwrap_or((rest, ""));
        let namespace = match namespace.trim() {
            "mr" => "merge_request",
            other => other,
        };
        let key = key.trim();
        let known = KNOWN
            .iter()
            .any(|(n, keys)| *n == namespace && keys.contains(&key));
        if !known {
            continue;
        }
        let value = value.trim();
        let slot = parsed
            .entry(namespace)
            .or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(keys) = slot else { continue };
        if MULTI_VALUE.contains(&(namespace, key)) {
            let counts = keys.entry(key).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(counts) = counts {
                let times = counts.get(value).and_then(Value::as_u64).unwrap_or(0);
                counts.insert(value.to_owned(), json!(times + 1));
            }
        } else if value.is_empty() {
            keys.insert(key.to_owned(), Value::Bool(true));
        } else {
            keys.insert(key.to_owned(), json!(value));
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(options: &[&str]) -> Value {
        let options: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
        Value::Object(push_options(&options))
    }

    #[test]
    fn options_nest_as_gitlab_nests_them() {
        assert_eq!(parsed(&["ci.skip"]), json!({"ci": {"skip": true}}));
        assert_eq!(
            parsed(&[
                "mr.create",
                "merge_request.target=main",
                "ci.variable=A=1",
                "ci.variable=A=1",
                "ci.variable=B=2",
                "unknown.option",
                "ci.nope",
                "plain",
            ]),
            json!({
                "merge_request": {"create": true, "target": "main"},
                "ci": {"variable": {"A=1": 2, "B=2": 1}},
            })
        );
        assert_eq!(parsed(&[]), json!({}));
    }
}
