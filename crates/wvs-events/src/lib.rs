//! The WVS event model: every documented webhook payload as a Rust type, the event header
//! names, sample payloads, and the Standard Webhooks signature, shared by the WVS server and by
//! receivers written in Rust. This crate does no I/O.
//!
//! # Layout
//!
//! - [`field`]: [`Opt`], the absent / `null` / value field that makes round trips lossless.
//! - [`model`]: one struct per payload; unmodelled fields are kept in `extra`.
//! - [`event`]: [`Event`] and [`EventKind`]: which kind a payload is, its header, its scope.
//! - [`error`]: [`ParseError`], naming the kind and the JSON path of a bad field.
//! - [`headers`]: header names of both flavors (`X-WVS-*`, `X-Gitlab-*`) and the delivery
//!   header set WVS sends.
//! - [`signature`]: Standard Webhooks signing and verification (`whsec_` secrets).
//! - [`receive`]: [`Event::from_http`] for receivers: flavor, token and signature checks.
//! - [`samples`]: the documented example payload of every kind.

pub mod error;
pub mod event;
pub mod field;
#[doc(hidden)]
pub mod fuzzing;
pub mod model;

pub use error::ParseError;
pub use event::{Event, EventKind, Scope};
pub use field::Opt;
pub mod headers;
pub mod receive;
pub mod samples;
pub mod signature;

pub use headers::{DeliveryHeaders, Flavor};
pub use receive::{Check, Expect, Incoming, ReceiveError};
pub use samples::Sample;
pub use signature::SigningSecret;
