//! Errors of the event model.

use thiserror::Error;

/// Why a payload could not be read as an event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The body is not JSON at all.
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// The body is JSON but not an object.
    #[error("the payload must be a JSON object")]
    NotAnObject,
    /// Neither `object_kind` nor `event_name` names a known event.
    #[error("{0}")]
    UnknownKind(String),
    /// A field of a known kind is missing or has the wrong type.
    #[error("{kind}: {path}: {message}")]
    Field {
        /// The event kind's name, e.g. `push`.
        kind: &'static str,
        /// The JSON path of the field, e.g. `.commits[0].id`.
        path: String,
        /// What is wrong with it, e.g. `missing field`.
        message: String,
    },
}

impl ParseError {
    pub(crate) fn json(err: &serde_json::Error) -> Self {
        ParseError::Json {
            line: err.line(),
            column: err.column(),
            message: strip_position(&err.to_string()),
        }
    }

    /// Builds a `Field` error from serde's error and the path where it happened (as
    /// serde_path_to_error displays it), turning serde's "missing field `x`" at path `a` into
    /// path `.a.x` with the message `missing field`.
    pub(crate) fn field(kind: &'static str, path: &str, err: &serde_json::Error) -> Self {
        let message = strip_position(&err.to_string());
        // serde_path_to_error writes the root as "." and other paths without a leading dot.
        let base = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        if let Some(name) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            return ParseError::Field {
                kind,
                path: format!("{base}.{name}"),
                message: "missing field".to_owned(),
            };
        }
        ParseError::Field {
            kind,
            path: if base.is_empty() {
                ".".to_owned()
            } else {
                base
            },
            message,
        }
    }
}

/// serde_json appends " at line L column C" to its messages; the path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
