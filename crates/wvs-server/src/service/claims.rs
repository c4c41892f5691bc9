//! Whose event a posted body says it is: an event posted to a project may not name another
//! project (`project_id`, `project.id`), nor one posted to a group a group outside it and
//! the groups beneath it (`group_id` and `group.id`; a subgroup event's `parent_group_id`,
//! its `group_id` being the subgroup, which may be new or gone). Otherwise a caller could
//! make a receiver believe an event came from a project or group it cannot reach. A body
//! that names none is completed from the registry (see [`crate::normalize`]).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wvs_events::{Event, EventKind};
use wvs_store::{GroupId, ProjectId, Store};

use super::authorization::beneath;
use super::error::{ServiceError, ServiceResult};

/// The ids a body names, read from its top-level keys only (other values skipped).
#[derive(Debug, Default, Deserialize)]
pub struct Claims {
    #[serde(default)]
    project_id: Option<Value>,
    #[serde(default)]
    project: Option<Block>,
    #[serde(default)]
    group_id: Option<Value>,
    #[serde(default)]
    group: Option<Block>,
    #[serde(default)]
    parent_group_id: Option<Value>,
}

/// A nested object's `id` (its other keys skipped).
#[derive(Debug, Default, Deserialize)]
struct Block {
    #[serde(default)]
    id: Option<Value>,
}

impl Claims {
    /// The claims of a parsed event's body.
    pub fn of(body: &[u8]) -> Claims {
        // A body whose `project` or `group` is not an object (it is in an event's free-form
        // part) takes the slow path: the whole body as a value.
        serde_json::from_slice(body).unwrap_or_else(|_| {
            let value: Value = serde_json::from_slice(body).unwrap_or_default();
            let block_id = |key: &str| {
                let id = value.get(key).and_then(|block| block.get("id")).cloned();
                Some(Block { id })
            };
            Claims {
                project_id: value.get("project_id").cloned(),
                project: block_id("project"),
                group_id: value.get("group_id").cloned(),
                group: block_id("group"),
                parent_group_id: value.get("parent_group_id").cloned(),
            }
        })
    }

    /// Refuses (422) a body that names another project than `project_id`.
    pub fn check_project(&self, project_id: ProjectId) -> ServiceResult<()> {
        for (field, claim) in [
            ("project_id", self.project_id.as_ref()),
            ("project.id", block_id(&self.project)),
        ] {
            if let Some(named) = named(claim)
                && named != Some(project_id)
            {
                return Err(ServiceError::refused(format!(
                    "{field} names another project than this one ({project_id})"
                )));
            }
        }
        Ok(())
    }

    /// Refuses (422) a body of `event` that names a group outside `group_id` and the groups
    /// beneath it.
    pub async fn check_group(
        &self,
        store: &dyn Store,
        event: &Event,
        group_id: GroupId,
    ) -> ServiceResult<()> {
        let subgroup = matches!(
            event.kind(),
            EventKind::SubgroupCreate | EventKind::SubgroupDestroy
        );
        let claims: &[(&str, Option<&Value>)] = if subgroup {
            &[("parent_group_id", self.parent_group_id.as_ref())]
        } else {
            &[
                ("group_id", self.group_id.as_ref()),
                ("group.id", block_id(&self.group)),
            ]
        };
        for &(field, claim) in claims {
            let Some(named) = named(claim) else {
                continue;
            };
            let within = match named {
                Some(id) => id == group_id || beneath(store, id, group_id).await?,
                None => false,
            };
            if !within {
                return Err(ServiceError::refused(format!(
                    "{field} names a group outside this one ({group_id}) and its subgroups"
                )));
            }
        }
        Ok(())
    }
}

fn block_id(block: &Option<Block>) -> Option<&Value> {
    block.as_ref().and_then(|block| block.id.as_ref())
}

/// What a claim names: nothing (absent or null), an id, or something that is not one
/// (`Some(None)`, which matches no project or group).
fn named<T: DeserializeOwned>(claim: Option<&Value>) -> Option<Option<T>> {
    match claim {
        None | Some(Value::Null) => None,
        Some(value) => Some(T::deserialize(value).ok()),
    }
}
