//! A project's default branch is set by its first pushed branch, as in GitLab: a project
//! without one takes the first branch a push creates.

use wvs_store::{Millis, Project, ProjectAttributes, ProjectUpdate, Store};

use super::input::{Action, Push, RefKind};

/// The branch a push makes the default of a project that has none: the first branch it
/// creates (`refs/heads/` taken off). `None` when the project has one or no branch is created.
pub fn first_branch<'a>(attributes: &ProjectAttributes, push: &'a Push) -> Option<&'a str> {
    if attributes.default_branch.is_some() {
        return None;
    }
    push.changes
        .iter()
        .find(|change| change.kind == RefKind::Branch && change.action == Action::Created)
        .and_then(|change| change.git_ref.strip_prefix("refs/heads/"))
}

/// `project`, with its default branch set by `push` when it had none.
pub async fn set_by_first_push(
    store: &dyn Store,
    project: Project,
    push: &Push,
) -> wvs_store::Result<Project> {
    let Some(branch) = first_branch(&project.attributes, push) else {
        return Ok(project);
    };
    let attributes = ProjectAttributes {
        default_branch: Some(branch.to_owned()),
        ..project.attributes.clone()
    };
    let update = ProjectUpdate {
        attributes: Some(attributes),
        ..ProjectUpdate::default()
    };
    store
        .update_project(project.id, update, Millis::now())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::input;

    fn push(refs: &[(&str, &str)]) -> Push {
        let changes: Vec<_> = refs
            .iter()
            .map(|(git_ref, before)| {
                serde_json::json!({
                    "before": before,
                    "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
                    "ref": git_ref,
                })
            })
            .collect();
        let body = serde_json::json!({
            "user": {"id": 1, "name": "A", "username": "a", "email": "a@example.com"},
            "changes": changes,
        });
        input::parse(body.to_string().as_bytes()).unwrap()
    }

    const NEW: &str = "0000000000000000000000000000000000000000";
    const OLD: &str = "95790bf891e76fee5e1747ab589903a6a1f80f22";

    #[test]
    fn the_first_created_branch_becomes_the_default() {
        let none = ProjectAttributes::default();
        let pushed = push(&[("refs/tags/v1", NEW), ("refs/heads/main", NEW)]);
        assert_eq!(first_branch(&none, &pushed), Some("main"));
    }

    #[test]
    fn a_default_branch_stays_and_updates_or_tags_set_none() {
        let set = ProjectAttributes {
            default_branch: Some("trunk".into()),
            ..ProjectAttributes::default()
        };
        assert_eq!(first_branch(&set, &push(&[("refs/heads/main", NEW)])), None);
        let none = ProjectAttributes::default();
        assert_eq!(
            first_branch(&none, &push(&[("refs/heads/main", OLD)])),
            None
        );
        assert_eq!(first_branch(&none, &push(&[("refs/tags/v1", NEW)])), None);
    }
}
