//! The rules of WVS hooks, as pure logic: what a hook's settings are, how a create or update
//! request becomes a valid hook, and whether a hook takes an event. No storage, no HTTP: the
//! API converts [`NewHookParts`] for the store, the ingest asks [`wants`] for each hook.
//!
//! # Layout
//!
//! - [`settings`]: [`HookSettings`] (the JSON blob the store keeps) and
//!   [`BranchFilterStrategy`].
//! - [`flags`]: [`EventFlags`], one GitLab `*_events` flag each, and [`Flag`], the same
//!   flags as values, from one table; which scope has which, GitLab's defaults.
//! - [`input`]: [`HookInput`], a request's fields read from JSON or a form (types only).
//! - [`validate`]: [`create`] and [`update`], the rules on values and the secrets that a URL
//!   change drops.
//! - [`parts`]: [`NewHookParts`] and [`Secrets`], a validated hook, `Debug` redacted.
//! - [`url_template`]: `{name}` placeholders in hook URLs and their URL variables.
//! - [`template`]: `custom_webhook_template`, the body sent instead of the event.
//! - [`branch_filter`]: [`BranchFilter`], GitLab's wildcard and regex branch filters.
//! - [`routing`]: [`wants`], whether a hook of a scope subscribes to an event, and
//!   [`test_kind`], the event a test request sends.
//! - [`trigger`]: [`Trigger`], the delivery log's name for why a hook received an event.
//! - [`error`]: [`ValidationError`], naming the field (`url is missing`).
//! - `redact`: `Debug` output that hides secret values.

pub mod branch_filter;
pub mod error;
pub mod flags;
#[doc(hidden)]
pub mod fuzzing;
pub mod input;
pub mod parts;
mod redact;
pub mod routing;
pub mod settings;
pub mod template;
pub mod trigger;
pub mod url_template;
pub mod validate;

pub use branch_filter::BranchFilter;
pub use error::ValidationError;
pub use flags::{EventFlags, Flag};
pub use input::HookInput;
pub use parts::{NewHookParts, Secrets};
pub use routing::{test_kind, wants};
pub use settings::{BranchFilterStrategy, HookSettings};
pub use trigger::Trigger;
pub use validate::{create, update};
