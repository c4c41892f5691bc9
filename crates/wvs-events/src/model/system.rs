//! PLACEHOLDER: being written.

pub type ProjectEvent = super::common::Untyped;
pub type ProjectMovedEvent = super::common::Untyped;
pub type TeamMemberEvent = super::common::Untyped;
pub type UserEvent = super::common::Untyped;
pub type UserRenamedEvent = super::common::Untyped;
pub type KeyEvent = super::common::Untyped;
pub type GroupEvent = super::common::Untyped;
pub type GroupRenamedEvent = super::common::Untyped;
pub type RepositoryUpdateEvent = super::common::Untyped;
