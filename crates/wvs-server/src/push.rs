//! Push processing: what a Git server knows after a push becomes the documented events.
//!
//! - [`input`]: the posted account of the push, read and checked ([`input::InputError`]).
//! - [`payload`]: the `push` / `tag_push` payload of a ref change, the `repository_update`
//!   of the push.
//! - [`limit`]: `push_event_hooks_limit`: which changes fire hooks at all.
//! - [`default_branch`]: the first pushed branch becomes the default of a project without one.
//!
//! The `project` and `repository` blocks come from [`crate::project_blocks`]. Each built
//! event then goes through the ordinary ingest path
//! ([`crate::ingest::ingest`]), exactly as if it had been posted.

pub mod default_branch;
pub mod input;
pub mod limit;
pub mod payload;
