//! [`ValidationError`]: what was wrong with a hook request, naming the field.

/// A hook request that cannot be accepted. `Display` gives GitLab's shape, the field then the
/// problem (`url is missing`, `branch_filter_strategy does not have a valid value`), which the
/// API returns as `{"message": ...}` with status 400.
///
/// Messages never contain secret values (tokens, header values, URL variable values).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct ValidationError {
    /// The request field at fault (`url`, `custom_headers`, `member_events`, ...).
    pub field: String,
    /// What is wrong with it, as a predicate (`is missing`, `is invalid: ...`).
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// `{field} is invalid`, Grape's message for a value of the wrong type.
    pub(crate) fn invalid(field: &str) -> Self {
        ValidationError::new(field, "is invalid")
    }

    /// `{field} does not have a valid value`, Grape's message for a value outside a set.
    pub(crate) fn not_a_valid_value(field: &str) -> Self {
        ValidationError::new(field, "does not have a valid value")
    }
}
