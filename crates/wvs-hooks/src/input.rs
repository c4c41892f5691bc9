//! [`HookInput`]: the fields of a create or update request, every one optional, read from a
//! JSON body ([`HookInput::from_json`]) or a form ([`HookInput::from_form`]).
//!
//! Both readers only check types and enumerations; the rules on values (URL, limits, scope)
//! are [`create`](crate::create)'s and [`update`](crate::update)'s. Fields WVS does not know
//! are ignored, as GitLab ignores them.

use std::borrow::Cow;
use std::fmt;

use wvs_events::Flavor;

use crate::{BranchFilterStrategy, Flag, ValidationError, redact};

mod form;
mod json;

/// What a create or update request carries. `None` leaves a field as it is (or at its
/// default on create). For the text fields, an empty string (or JSON `null`) clears the
/// field. `Debug` shows no secret value.
#[derive(Clone, Default, PartialEq)]
pub struct HookInput {
    pub url: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub token: Option<String>,
    /// One `whsec_` secret; it replaces the hook's signing secrets.
    pub signing_token: Option<String>,
    /// WVS generates the signing secret (shown once, in the answer to this request).
    pub generate_signing_token: Option<bool>,
    /// The `*_events` flags the request sets, in request order.
    pub events: Vec<(Flag, bool)>,
    /// Flags sent with a value that is not a boolean: refused only by a scope that has them
    /// (GitLab ignores the attributes a hook does not have).
    pub malformed_events: Vec<Flag>,
    pub push_events_branch_filter: Option<String>,
    pub branch_filter_strategy: Option<BranchFilterStrategy>,
    pub enable_ssl_verification: Option<bool>,
    pub custom_webhook_template: Option<String>,
    /// Replaces every custom header; `Some(vec![])` removes them all.
    pub custom_headers: Option<Vec<(String, String)>>,
    /// Replaces every URL variable; `Some(vec![])` removes them all.
    pub url_variables: Option<Vec<(String, String)>>,
    /// `Some(None)` returns the hook to the instance's default flavor.
    pub flavor: Option<Option<Flavor>>,
    /// Deliveries of the hook in flight at once (WVS's own).
    pub max_in_flight: Option<u32>,
    /// One delivery at a time, in event order (WVS's own).
    pub ordered: Option<bool>,
}

/// One request value where a single value is expected, whichever the encoding.
enum Raw<'a> {
    Text(Cow<'a, str>),
    Bool(bool),
    Null,
    /// A JSON array or object.
    Compound,
}

impl HookInput {
    /// The text field called `key`.
    fn text_field(&mut self, key: &str) -> Option<&mut Option<String>> {
        Some(match key {
            "url" => &mut self.url,
            "name" => &mut self.name,
            "description" => &mut self.description,
            "token" => &mut self.token,
            "signing_token" => &mut self.signing_token,
            "push_events_branch_filter" => &mut self.push_events_branch_filter,
            "custom_webhook_template" => &mut self.custom_webhook_template,
            _ => return None,
        })
    }

    /// The key-value list field called `key`.
    fn pairs_field(&mut self, key: &str) -> Option<&mut Option<Vec<(String, String)>>> {
        match key {
            "custom_headers" => Some(&mut self.custom_headers),
            "url_variables" => Some(&mut self.url_variables),
            _ => None,
        }
    }

    /// Sets the field `key` from a single value; an unknown key is ignored.
    fn assign(&mut self, key: &str, value: Raw<'_>) -> Result<(), ValidationError> {
        if let Some(slot) = self.text_field(key) {
            *slot = Some(text(key, value)?);
        } else if let Some(slot) = self.pairs_field(key) {
            // A list arrives in its own shape; as a single value only "none" makes sense.
            match value {
                Raw::Null => *slot = Some(Vec::new()),
                Raw::Text(text) if text.is_empty() => *slot = Some(Vec::new()),
                _ => return Err(ValidationError::invalid(key)),
            }
        } else if let Some(flag) = Flag::from_name(key) {
            match boolean(key, value) {
                Ok(on) => self.events.push((flag, on)),
                Err(_) => self.malformed_events.push(flag),
            }
        } else {
            match key {
                "enable_ssl_verification" => {
                    self.enable_ssl_verification = Some(boolean(key, value)?);
                }
                "ordered" => self.ordered = Some(boolean(key, value)?),
                "generate_signing_token" => {
                    self.generate_signing_token = Some(boolean(key, value)?);
                }
                "max_in_flight" => {
                    let number = match value {
                        Raw::Text(text) => text.trim().parse().ok(),
                        _ => None,
                    };
                    self.max_in_flight = Some(number.ok_or_else(|| ValidationError::invalid(key))?);
                }
                "branch_filter_strategy" => {
                    let strategy = match value {
                        Raw::Text(name) => BranchFilterStrategy::from_name(name.trim()),
                        _ => None,
                    };
                    self.branch_filter_strategy =
                        Some(strategy.ok_or_else(|| ValidationError::not_a_valid_value(key))?);
                }
                "flavor" => {
                    self.flavor = Some(match value {
                        Raw::Null => None,
                        Raw::Text(name) if name.trim().is_empty() => None,
                        Raw::Text(name) => Some(
                            name.trim()
                                .parse()
                                .map_err(|_| ValidationError::not_a_valid_value(key))?,
                        ),
                        _ => return Err(ValidationError::not_a_valid_value(key)),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A text value; `null` clears like an empty string. Numbers arrive as their text (Grape
/// coerces them too).
fn text(key: &str, value: Raw<'_>) -> Result<String, ValidationError> {
    match value {
        Raw::Text(text) => Ok(text.into_owned()),
        Raw::Null => Ok(String::new()),
        Raw::Bool(_) | Raw::Compound => Err(ValidationError::invalid(key)),
    }
}

/// A boolean: JSON `true`/`false`, or the strings Grape accepts (`true`/`false`, `1`/`0`,
/// `t`/`f`, `yes`/`no`, `y`/`n`, `on`/`off`, any case).
fn boolean(key: &str, value: Raw<'_>) -> Result<bool, ValidationError> {
    match value {
        Raw::Bool(on) => Ok(on),
        Raw::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "t" | "yes" | "y" | "on" => Ok(true),
            "false" | "0" | "f" | "no" | "n" | "off" => Ok(false),
            _ => Err(ValidationError::invalid(key)),
        },
        Raw::Null | Raw::Compound => Err(ValidationError::invalid(key)),
    }
}

/// `{field} is invalid: ...` for a malformed list entry.
fn bad_entry(field: &str, number: usize) -> ValidationError {
    ValidationError::new(
        field,
        format!("is invalid: entry {number} needs a `key` and a `value`"),
    )
}

impl fmt::Debug for HookInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookInput")
            .field("url", &self.url.as_deref().map(redact::url))
            .field("name", &self.name)
            .field("description", &self.description)
            .field("token", &redact::presence(&self.token))
            .field("signing_token", &redact::presence(&self.signing_token))
            .field("generate_signing_token", &self.generate_signing_token)
            .field("events", &self.events)
            .field("malformed_events", &self.malformed_events)
            .field("push_events_branch_filter", &self.push_events_branch_filter)
            .field("branch_filter_strategy", &self.branch_filter_strategy)
            .field("enable_ssl_verification", &self.enable_ssl_verification)
            .field("max_in_flight", &self.max_in_flight)
            .field("ordered", &self.ordered)
            .field("custom_webhook_template", &self.custom_webhook_template)
            .field(
                "custom_headers",
                &self.custom_headers.as_deref().map(redact::keys),
            )
            .field(
                "url_variables",
                &self.url_variables.as_deref().map(redact::keys),
            )
            .field("flavor", &self.flavor)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let input = HookInput {
            url: Some("https://me:pw-value@example.com".into()),
            token: Some("tok-value".into()),
            signing_token: Some("whsec_c2VjcmV0".into()),
            custom_headers: Some(vec![("X-Auth".into(), "header-value".into())]),
            url_variables: Some(vec![("v".into(), "var-value".into())]),
            ..HookInput::default()
        };
        let debug = format!("{input:?}");
        for secret in [
            "pw-value",
            "tok-value",
            "whsec_",
            "header-value",
            "var-value",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("X-Auth"), "{debug}");
    }

    #[test]
    fn booleans_in_every_accepted_spelling() {
        for (text, on) in [
            ("true", true),
            ("1", true),
            ("Yes", true),
            ("FALSE", false),
            ("0", false),
            ("off", false),
        ] {
            assert_eq!(boolean("f", Raw::Text(text.into())), Ok(on), "{text}");
        }
        assert_eq!(
            boolean("push_events", Raw::Text("maybe".into()))
                .unwrap_err()
                .to_string(),
            "push_events is invalid"
        );
        assert!(boolean("x", Raw::Null).is_err());
    }
}
