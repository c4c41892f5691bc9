//! Email redaction (`--redact-emails`): GitLab sends the email of a user or author who has
//! no public email as `[REDACTED]`. WVS does the same for every user and author email of
//! project and group events (`email`, `user_email` and `author_email`, at any depth), unless
//! the address is one the registry knows to be public. The redacted body is what is
//! stored, sent and logged; system events are sent as posted.

use serde_json::Value;

/// What a redacted email reads.
pub const REDACTED: &str = "[REDACTED]";

/// The keys whose string values are user or author emails in the documented payloads.
const EMAIL_KEYS: [&str; 3] = ["email", "user_email", "author_email"];

/// The body with every non-public email redacted, or `None` when there was none to redact.
pub fn emails(body: &[u8], is_public: impl Fn(&str) -> bool) -> Option<Vec<u8>> {
    let mut payload: Value = serde_json::from_slice(body).ok()?;
    let redacted = redact(&mut payload, &is_public);
    (redacted > 0).then(|| serde_json::to_vec(&payload).expect("a JSON value serializes"))
}

/// Redacts in place; returns how many emails it redacted.
fn redact(value: &mut Value, is_public: &impl Fn(&str) -> bool) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, value)| match value {
                Value::String(email)
                    if EMAIL_KEYS.contains(&key.as_str())
                        && email != REDACTED
                        && !email.is_empty()
                        && !is_public(email) =>
                {
                    *email = REDACTED.to_owned();
                    1
                }
                other => redact(other, is_public),
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(|item| redact(item, is_public)).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wvs_events::{Event, samples};

    use super::*;

    fn redacted(value: &Value, public: &[&str]) -> Value {
        let body = serde_json::to_vec(value).unwrap();
        emails(&body, |email| public.contains(&email))
            .map_or_else(|| value.clone(), |b| serde_json::from_slice(&b).unwrap())
    }

    #[test]
    fn user_and_commit_author_emails_of_a_push_are_redacted() {
        let push: Value = serde_json::from_str(samples::find("push").unwrap().json).unwrap();
        let out = redacted(&push, &[]);
        assert_eq!(out["user_email"], REDACTED);
        let commits = out["commits"].as_array().unwrap();
        for (commit, posted) in commits.iter().zip(push["commits"].as_array().unwrap()) {
            assert_eq!(commit["author"]["email"], REDACTED);
            assert_eq!(commit["author"]["name"], posted["author"]["name"]);
        }
        assert!(Event::from_value(out).is_ok(), "still a valid push");
    }

    #[test]
    fn nested_users_of_a_merge_request_are_redacted_and_the_rest_kept() {
        let mr: Value = serde_json::from_str(samples::find("merge_request").unwrap().json).unwrap();
        let out = redacted(&mr, &[]);
        assert_eq!(out["user"]["email"], REDACTED);
        assert_eq!(
            out["object_attributes"]["last_commit"]["author"]["email"],
            REDACTED
        );
        assert_eq!(out["project"]["git_ssh_url"], mr["project"]["git_ssh_url"]);
        assert_eq!(
            out["object_attributes"]["title"],
            mr["object_attributes"]["title"]
        );
    }

    #[test]
    fn public_emails_and_other_fields_are_kept() {
        let value = json!({
            "user_email": "pub@example.com",
            "user": {"email": "secret@example.com", "username": "mike"},
            "description": "mail me at secret@example.com",
        });
        let out = redacted(&value, &["pub@example.com"]);
        assert_eq!(out["user_email"], "pub@example.com");
        assert_eq!(out["user"]["email"], REDACTED);
        assert_eq!(
            out["description"], value["description"],
            "only email fields"
        );
    }

    #[test]
    fn nothing_to_redact_leaves_the_body_alone() {
        assert_eq!(
            emails(br#"{"user": {"email": "[REDACTED]"}}"#, |_| false),
            None
        );
        assert_eq!(emails(br#"{"name": "x"}"#, |_| false), None);
    }
}
