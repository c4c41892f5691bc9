//! Registry events: what the registry API's changes (projects, groups, users, SSH keys,
//! memberships) send to hooks, as the system hook and group webhook documents show them.
//!
//! - [`access`]: access levels and their documented role names.
//! - [`payload`]: one builder per documented payload, from the stored records, with the
//!   documented keys in the documented order; each payload is parsed with the event model
//!   before it leaves.
//!
//! The API handlers decide which events a change makes and send each through the ordinary
//! ingest path ([`crate::ingest::ingest`]).

pub mod access;
pub mod payload;
