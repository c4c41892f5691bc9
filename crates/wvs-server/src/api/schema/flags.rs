//! A hook's `*_events` flags by name, flattened into the hook's JSON beside its other fields.

use std::borrow::Cow;

use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use wvs_hooks::Flag;

/// The flags in GitLab's order: in an answer, every flag of the hook's scope; in a request,
/// the flags to set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct EventFlags(pub IndexMap<String, bool>);

impl<const N: usize> From<[(&str, bool); N]> for EventFlags {
    fn from(flags: [(&str, bool); N]) -> EventFlags {
        EventFlags(
            flags
                .into_iter()
                .map(|(name, on)| (name.to_owned(), on))
                .collect(),
        )
    }
}

/// Flattened, the flags are handed every field the struct around them did not name: keep
/// the flags and leave the rest.
impl<'de> Deserialize<'de> for EventFlags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EventFlags, D::Error> {
        let fields = IndexMap::<String, Value>::deserialize(deserializer)?;
        let mut flags = IndexMap::new();
        for (name, value) in fields {
            if Flag::from_name(&name).is_none() {
                continue;
            }
            let on = value
                .as_bool()
                .ok_or_else(|| D::Error::custom(format!("{name} is not a boolean")))?;
            flags.insert(name, on);
        }
        Ok(EventFlags(flags))
    }
}

/// Every flag of any scope, each an optional boolean.
impl JsonSchema for EventFlags {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "EventFlags".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let properties: Map<String, Value> = Flag::ALL
            .iter()
            .map(|flag| {
                (
                    flag.name().to_owned(),
                    serde_json::json!({"type": "boolean"}),
                )
            })
            .collect();
        json_schema!({"type": "object", "properties": properties})
    }
}
