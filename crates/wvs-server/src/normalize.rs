//! Normalization of events posted for a project: what the emitter left out and the registry
//! knows is filled in, where the documented example of that kind has it.
//!
//! The keys filled are `project_id`, the `project` block, the deprecated `repository` block
//! (each with the keys the documented example's block has, in its order), and
//! `event_name` / `event_type` (the kind's constant; `confidential_issue` /
//! `confidential_note` for a confidential one). A missing key goes right after the nearest
//! key that precedes it in the documented example. Nothing the emitter sent is changed,
//! removed or moved, and an event that lacks nothing is stored byte for byte as posted.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};

use serde_json::{Map, Value};
use wvs_events::{Event, Scope, samples};

use crate::project_blocks::Blocks;

/// The top-level keys normalization may add.
const FILLED: [&str; 5] = [
    "project_id",
    "project",
    "repository",
    "event_name",
    "event_type",
];

/// The body with what it lacks filled in, or `None` when it lacks nothing (or is not a
/// JSON object, which parsing has already refused). The registry's blocks are built only
/// for a body that lacks something.
pub fn fill(body: &[u8], event: &Event, blocks: impl FnOnce() -> Blocks) -> Option<Vec<u8>> {
    let documented = documented(event)?;
    if lacks_nothing(body, documented) {
        return None;
    }
    let mut payload: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let blocks = &blocks();
    let mut changed = false;
    for key in FILLED {
        let Some(example) = documented.get(key) else {
            continue;
        };
        if payload.contains_key(key) {
            continue;
        }
        let Some(value) = value_for(key, example, event, blocks) else {
            continue;
        };
        let at = position(&payload, documented, key);
        payload.shift_insert(at, key.to_owned(), value);
        changed = true;
    }
    changed.then(|| serde_json::to_vec(&payload).expect("a JSON map serializes"))
}

/// Whether the body already has every key that could be filled: the common case, told by
/// reading only its top-level keys (values skipped, not built, and no other key kept). A
/// body that cannot be read so (a key given twice, say) takes the full path.
fn lacks_nothing(body: &[u8], documented: &Map<String, Value>) -> bool {
    let Ok(present) = serde_json::from_slice::<Fillable>(body) else {
        return false;
    };
    FILLED
        .iter()
        .all(|key| !documented.contains_key(*key) || present.has(key))
}

/// Which of the [`FILLED`] keys a body has, whatever their values (null included).
#[derive(Deserialize)]
struct Fillable {
    #[serde(default)]
    project_id: Present,
    #[serde(default)]
    project: Present,
    #[serde(default)]
    repository: Present,
    #[serde(default)]
    event_name: Present,
    #[serde(default)]
    event_type: Present,
}

impl Fillable {
    fn has(&self, key: &str) -> bool {
        let Present(has) = match key {
            "project_id" => self.project_id,
            "project" => self.project,
            "repository" => self.repository,
            "event_name" => self.event_name,
            "event_type" => self.event_type,
            _ => Present(false),
        };
        has
    }
}

/// A key that is there (its value skipped) or, by default, is not.
#[derive(Clone, Copy, Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Present, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Present(true))
    }
}

/// A documented sample made to look like an event of the registry's project (for hook tests
/// when no real event of the kind was seen): its own project, project id and repository are
/// replaced by the registry's, in the same places.
pub fn as_registry_project(sample: &[u8], blocks: &Blocks) -> Vec<u8> {
    let (Ok(event), Ok(Value::Object(mut payload))) = (
        Event::from_slice(sample),
        serde_json::from_slice::<Value>(sample),
    ) else {
        return sample.to_vec();
    };
    // `fill` puts the registry's blocks back where the documented example has them.
    payload.retain(|key, _| !["project_id", "project", "repository"].contains(&key.as_str()));
    let body = serde_json::to_vec(&payload).expect("a JSON map serializes");
    fill(&body, &event, || blocks.clone()).unwrap_or(body)
}

/// Every documented example as a JSON object, by sample name: parsed once, not for every
/// event ingested.
static DOCUMENTED: LazyLock<HashMap<&'static str, Map<String, Value>>> = LazyLock::new(|| {
    samples::all()
        .iter()
        .filter_map(|sample| match serde_json::from_str(sample.json) {
            Ok(Value::Object(map)) => Some((sample.name, map)),
            _ => None,
        })
        .collect()
});

/// The documented example of the event's kind, as posted to a project.
fn documented(event: &Event) -> Option<&'static Map<String, Value>> {
    DOCUMENTED.get(samples::for_kind(event.kind(), Scope::Project).name)
}

/// What `key` is filled with, shaped like the documented `example` value.
fn value_for(key: &str, example: &Value, event: &Event, blocks: &Blocks) -> Option<Value> {
    match key {
        "project_id" => Some(Value::from(blocks.project_id)),
        "project" => {
            let mut block = serde_json::to_value(&blocks.project).ok()?;
            // Not in every documented project block; the registry may know it.
            if let Value::Object(map) = &mut block {
                map.insert(
                    "ci_config_path".into(),
                    blocks
                        .ci_config_path
                        .clone()
                        .map_or(Value::Null, Value::from),
                );
            }
            Some(shaped_like(block, example))
        }
        "repository" => Some(shaped_like(
            serde_json::to_value(&blocks.repository).ok()?,
            example,
        )),
        "event_name" => Some(example.clone()),
        "event_type" => {
            let name = example.as_str()?;
            Some(Value::from(if event.is_confidential() {
                format!("confidential_{name}")
            } else {
                name.to_owned()
            }))
        }
        _ => None,
    }
}

/// `full`'s entries that the documented `example` object has, in the example's order.
fn shaped_like(full: Value, example: &Value) -> Value {
    let (Value::Object(mut full), Value::Object(example)) = (full, example) else {
        return Value::Null;
    };
    let shaped: Map<String, Value> = example
        .keys()
        .filter_map(|key| full.remove(key).map(|value| (key.clone(), value)))
        .collect();
    Value::Object(shaped)
}

/// Where `key` goes in `payload`: right after the nearest key before it in the documented
/// order that the payload has; first when there is none.
fn position(payload: &Map<String, Value>, documented: &Map<String, Value>, key: &str) -> usize {
    documented
        .keys()
        .take_while(|k| *k != key)
        .filter_map(|k| payload.keys().position(|present| present == k))
        .last()
        .map_or(0, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wvs_events::EventKind;

    use super::*;
    use crate::project_blocks;
    use crate::project_blocks::testing::keys;

    fn blocks() -> Blocks {
        project_blocks::testing::diaspora(wvs_store::ProjectAttributes {
            description: Some("A social network".into()),
            default_branch: Some("main".into()),
            ..Default::default()
        })
    }

    fn sample(kind: EventKind) -> Value {
        serde_json::from_str(samples::for_kind(kind, Scope::Project).json).unwrap()
    }

    /// The sample of `kind` without `removed` keys, normalized.
    fn normalized(kind: EventKind, removed: &[&str]) -> (Value, Value) {
        let full = sample(kind);
        let mut posted = full.clone();
        for key in removed {
            posted.as_object_mut().unwrap().shift_remove(*key);
        }
        let body = serde_json::to_vec(&posted).unwrap();
        let event = Event::from_slice(&body).unwrap();
        let filled = fill(&body, &event, blocks).expect("something was filled");
        (full, serde_json::from_slice(&filled).unwrap())
    }

    #[test]
    fn a_push_without_its_blocks_gets_them_in_the_documented_places() {
        let (documented, filled) =
            normalized(EventKind::Push, &["project", "repository", "event_name"]);
        assert_eq!(keys(&filled), keys(&documented));
        assert_eq!(filled["event_name"], "push");
        assert_eq!(keys(&filled["project"]), keys(&documented["project"]));
        assert_eq!(keys(&filled["repository"]), keys(&documented["repository"]));
        assert_eq!(filled["project"]["path_with_namespace"], "mike/diaspora");
        assert_eq!(filled["project"]["namespace"], "Mike");
        assert_eq!(filled["project"]["default_branch"], "main");
        assert_eq!(
            filled["repository"]["git_http_url"],
            "http://example.com/mike/diaspora.git"
        );
        assert!(Event::from_value(filled).is_ok());
    }

    #[test]
    fn issue_and_merge_request_blocks_take_their_own_documented_shape() {
        for kind in [EventKind::Issue, EventKind::MergeRequest] {
            let (documented, filled) = normalized(kind, &["project", "repository", "event_type"]);
            assert_eq!(keys(&filled), keys(&documented), "{kind:?}");
            assert_eq!(keys(&filled["project"]), keys(&documented["project"]));
            assert_eq!(keys(&filled["repository"]), keys(&documented["repository"]));
            assert_eq!(filled["event_type"], documented["event_type"]);
        }
    }

    #[test]
    fn a_confidential_issue_is_typed_as_one() {
        let mut posted = sample(EventKind::Issue);
        posted["object_attributes"]["confidential"] = json!(true);
        posted.as_object_mut().unwrap().shift_remove("event_type");
        let body = serde_json::to_vec(&posted).unwrap();
        let event = Event::from_slice(&body).unwrap();
        let filled: Value = serde_json::from_slice(&fill(&body, &event, blocks).unwrap()).unwrap();
        assert_eq!(filled["event_type"], "confidential_issue");
    }

    #[test]
    fn what_the_emitter_sent_is_kept_as_sent() {
        let mut posted = sample(EventKind::Push);
        posted["project"]["name"] = json!("mine");
        posted.as_object_mut().unwrap().shift_remove("repository");
        let body = serde_json::to_vec(&posted).unwrap();
        let event = Event::from_slice(&body).unwrap();
        let filled: Value = serde_json::from_slice(&fill(&body, &event, blocks).unwrap()).unwrap();
        assert_eq!(filled["project"], posted["project"]);
        assert_eq!(filled["repository"]["name"], "Diaspora");
    }

    /// Every hook test trigger sends a payload with every key of today's documented example
    /// of its kind, in order: a project hook's made an event of the registry's project, the
    /// others the example itself.
    #[test]
    fn every_test_trigger_has_the_current_documented_keys_in_order() {
        for scope in [Scope::Project, Scope::Group, Scope::System] {
            for name in wvs_hooks::EventFlags::names(scope) {
                let (kind, _) = wvs_hooks::test_kind(name, scope).unwrap();
                let sample = samples::for_kind(kind, scope);
                let fixture = sample
                    .fixture
                    .unwrap_or_else(|| panic!("{name}: no example"));
                assert!(fixture.starts_with("gitlab-"), "{name}: {fixture}");
                let documented = crate::documented::fixture(fixture);
                let sent: Value = match scope {
                    Scope::Project => serde_json::from_slice(&as_registry_project(
                        sample.json.as_bytes(),
                        &blocks(),
                    ))
                    .unwrap(),
                    Scope::Group | Scope::System => serde_json::from_str(sample.json).unwrap(),
                };
                crate::documented::assert_documented_keys(&sent, &documented, name);
                assert_eq!(keys(&sent), keys(&documented), "{name} in {scope:?}");
            }
        }
    }

    #[test]
    fn a_sample_becomes_an_event_of_the_registry_project() {
        let sample = samples::for_kind(EventKind::Issue, Scope::Project)
            .json
            .as_bytes();
        let documented: Value = serde_json::from_slice(sample).unwrap();
        let made: Value = serde_json::from_slice(&as_registry_project(sample, &blocks())).unwrap();
        assert_eq!(keys(&made), keys(&documented));
        assert_eq!(made["project"]["path_with_namespace"], "mike/diaspora");
        assert_eq!(made["project"]["id"], 15);
        assert_eq!(made["repository"]["name"], "Diaspora");
        assert_eq!(made["object_attributes"], documented["object_attributes"]);
    }

    #[test]
    fn a_complete_event_is_left_alone() {
        let body = samples::for_kind(EventKind::Push, Scope::Project)
            .json
            .as_bytes();
        let event = Event::from_slice(body).unwrap();
        let unbuilt =
            || -> Blocks { panic!("the blocks are built only for a body that lacks some") };
        assert_eq!(fill(body, &event, unbuilt), None);
    }

    #[test]
    fn a_key_sent_as_null_is_not_filled() {
        let mut posted = sample(EventKind::Push);
        posted["repository"] = Value::Null;
        let body = serde_json::to_vec(&posted).unwrap();
        let event = Event::from_slice(&body).unwrap();
        assert_eq!(fill(&body, &event, blocks), None);
    }

    #[test]
    fn a_key_written_with_escapes_counts_as_there() {
        let body = samples::for_kind(EventKind::Push, Scope::Project)
            .json
            .replacen("\"repository\"", "\"repo\\u0073itory\"", 1);
        let event = Event::from_slice(body.as_bytes()).unwrap();
        assert_eq!(fill(body.as_bytes(), &event, blocks), None);
    }
}
