//! Reading typed parameters out of a request's parameter object (a JSON body or a form,
//! as the adapters parsed it), with errors that name the
//! field (`name is invalid`, `path is missing`).

use serde_json::{Map, Value};

use super::error::{ServiceError, ServiceResult};

/// The request's parameters as an object.
pub struct Fields(pub Map<String, Value>);

impl Fields {
    /// A string parameter; numbers are accepted as their text (form posts have no types).
    pub fn string(&self, name: &str) -> ServiceResult<Option<String>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(_) => Err(invalid(name)),
        }
    }

    /// A string parameter that must be there and not empty.
    pub fn required(&self, name: &str) -> ServiceResult<String> {
        self.string(name)?
            .filter(|text| !text.is_empty())
            .ok_or_else(|| ServiceError::invalid(format!("{name} is missing")))
    }

    /// An integer parameter, given as a JSON number or as text.
    pub fn integer(&self, name: &str) -> ServiceResult<Option<i64>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(number)) => number.as_i64().map(Some).ok_or_else(|| invalid(name)),
            Some(Value::String(text)) if text.is_empty() => Ok(None),
            Some(Value::String(text)) => text.parse().map(Some).map_err(|_| invalid(name)),
            Some(_) => Err(invalid(name)),
        }
    }

    /// Whether the parameter was given at all (even as `null`), to tell "clear" from "keep".
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

fn invalid(name: &str) -> ServiceError {
    ServiceError::invalid(format!("{name} is invalid"))
}
