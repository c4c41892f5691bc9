//! Group events: group membership (`Member Hook`) and subgroups (`Subgroup Hook`).

use serde::{Deserialize, Serialize};

use super::common::Extra;
use crate::Opt;

/// A user added to a group, their access level or expiry changed, or removed from it
/// (`user_add_to_group`, `user_update_for_group`, `user_remove_from_group`), or who asked for
/// access or whose request was denied or withdrawn (`user_access_request_to_group`,
/// `user_access_request_denied_for_group`, `user_access_request_revoked_for_group`). Group
/// hooks and system hooks both receive it; the system hook variant has no `group_plan` nor
/// `expires_at`.
///
/// Required: `event_name`, the group's and the user's ids, names and paths: without them a
/// receiver cannot tell who got which access where. The access level is `group_access`, or
/// `access_level` as some GitLab versions send it; either, both or neither is accepted.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberEvent {
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub group_name: String,
    pub group_path: String,
    pub group_id: i64,
    pub user_username: String,
    /// The user's display name.
    pub user_name: String,
    pub user_email: Opt<String>,
    pub user_id: i64,
    /// The access level's name: `Guest`, `Reporter`, `Developer`, `Maintainer` (`Master` in
    /// older documents), `Owner`.
    pub group_access: Opt<String>,
    /// The same, under the name some GitLab versions send.
    pub access_level: Opt<String>,
    /// The group's subscription plan, `null` when it has none.
    pub group_plan: Opt<String>,
    /// When the membership expires; `null` when it does not.
    pub expires_at: Opt<String>,
    pub event_name: String,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A subgroup created in or removed from a group (`subgroup_create`, `subgroup_destroy`).
///
/// Required: `event_name` and the ids, names and paths of the subgroup and of its parent:
/// they are what the event is about.
#[serde_with::apply(Opt => #[serde(default, skip_serializing_if = "Opt::is_absent")])]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubgroupEvent {
    pub created_at: Opt<String>,
    pub updated_at: Opt<String>,
    pub event_name: String,
    pub name: String,
    pub path: String,
    pub full_path: String,
    pub group_id: i64,
    pub parent_group_id: i64,
    pub parent_name: String,
    pub parent_path: String,
    pub parent_full_path: String,
    #[serde(flatten)]
    pub extra: Extra,
}
