//! PLACEHOLDER: being written.

pub type MemberEvent = super::common::Untyped;
pub type SubgroupEvent = super::common::Untyped;
