//! `Opt<T>`: a field that may be absent, `null`, or set.
//!
//! `Option<T>` cannot tell "the sender left the field out" from "the sender sent `null`", and
//! a lossless round trip must keep both as they were. Every optional field of a payload type is
//! an `Opt<T>` annotated with `#[serde(default, skip_serializing_if = "Opt::is_absent")]`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A payload field that is absent, explicitly `null`, or carries a value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Opt<T> {
    /// The key was not in the payload.
    #[default]
    Absent,
    /// The key was present with the value `null`.
    Null,
    /// The key was present with a value.
    Value(T),
}

impl<T> Opt<T> {
    /// True when the key was not in the payload (used to skip it when serializing).
    pub fn is_absent(&self) -> bool {
        matches!(self, Opt::Absent)
    }

    /// The value, if there is one.
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Opt::Value(v) => Some(v),
            Opt::Absent | Opt::Null => None,
        }
    }

    /// The value, if there is one, by value.
    pub fn into_option(self) -> Option<T> {
        match self {
            Opt::Value(v) => Some(v),
            Opt::Absent | Opt::Null => None,
        }
    }
}

impl Opt<String> {
    /// The string value, if there is one.
    pub fn as_deref(&self) -> Option<&str> {
        self.as_ref().map(String::as_str)
    }
}

impl<T> From<Option<T>> for Opt<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Opt::Null, Opt::Value)
    }
}

impl<T: Serialize> Serialize for Opt<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Opt::Value(v) => v.serialize(serializer),
            // `Absent` is skipped by the field attribute; if it is ever serialized on its own it
            // can only be written as `null`.
            Opt::Absent | Opt::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Opt<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.into())
    }
}
