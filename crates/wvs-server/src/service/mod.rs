//! What WVS does, apart from how it is asked: the operations the REST API and the web pages
//! both offer, as plain functions over the store and the server's state, each failing with
//! one [`ServiceError`]. No HTTP here: the adapters parse requests, call these, and map the
//! error to their own answer.
//!
//! - [`authorization`]: the project or group a request names, and what a caller reaches.
//! - [`hooks`]: create, edit, delete, re-enable, recover, test and resend a hook.
//! - [`ingest`]: one event into the store and its deliveries; a project registered on its
//!   first event; [`claims`]: whose event a posted body says it is.
//! - [`registry`]: creating, changing and deleting projects and groups, with their events
//!   (sent through [`emit`]).
//! - [`fields`]: typed parameters out of a request's parameter object.
//! - [`tokens`]: project and group access tokens; [`token_expiry`]: their expiry notices.
//! - [`test_limit`]: how often a caller may test or resend to one hook.

pub mod authorization;
pub mod claims;
pub mod emit;
pub mod error;
pub mod fields;
pub mod hooks;
pub mod ingest;
pub mod registry;
pub mod test_limit;
pub mod token_expiry;
pub mod tokens;

pub use error::{ServiceError, ServiceResult};
