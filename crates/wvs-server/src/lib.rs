//! The WVS server: the REST API, ingest and routing, and the dispatcher, wired over one
//! [`wvs_store::Store`].
//!
//! # Layout
//!
//! - [`config`]: flags, `WVS_*` environment and `wvs.toml`, layered.
//! - [`server`]: `wvs serve`: opens the store, starts the API and the dispatcher, shuts down.
//! - [`http`]: the accept loop: connection cap, header and body timeouts.
//! - [`service`]: what the API and the web pages both do (hooks, ingest, registry, tokens,
//!   authorization), as functions over the store failing with one `ServiceError`; no HTTP.
//! - [`api`]: GitLab API v4 routes: registry, hooks, delivery log, ingest (thin adapters over
//!   [`service`]).
//! - [`status`]: the HTTP status of a `ServiceError`, one table for the API and the pages.
//! - [`ingest`]: an event → one stored event and its deliveries, in one transaction.
//! - [`registry_events`]: the payloads of the events registry changes make (projects, groups,
//!   users, SSH keys, memberships).
//! - [`push`]: a Git server's account of a push → its push, tag push and repository update
//!   events.
//! - [`dispatch`]: claims due deliveries, sends them from one worker pool, records attempts.
//! - [`retention`]: deletes the delivery log and settled events older than
//!   `--log-retention`, in the background, in small batches.
//! - [`delivery`]: one attempt to one hook, shared by the dispatcher, test and resend.
//! - [`body_text`]: a receiver's reply, logged as bytes, shown as text.
//! - [`hooks`]: glue between the hook rules (`wvs-hooks`) and stored hooks.
//! - [`auth`]: the admin token and project / group access tokens (digests at rest), and what
//!   each caller may reach.
//! - [`web`]: the web interface (server-rendered pages at `/`): sign in, hooks, recent
//!   events, the instance overview (thin adapters over [`service`]; nothing from [`api`]).
//! - [`db_lock`]: one `wvs serve` or `wvs migrate` per SQLite file (an OS file lock).
//! - [`database_url`]: whether a database URL names PostgreSQL.
//! - `secret_key`: the key that encrypts hook URLs and secrets at rest (config or key file).

pub mod api;
pub mod auth;
pub mod body_text;
pub mod config;
pub mod database_url;
pub mod db_lock;
pub mod delivery;
pub mod dispatch;
#[cfg(test)]
mod documented;
pub mod hooks;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod normalize;
mod patience;
pub mod project_blocks;
pub mod push;
pub mod redact;
pub mod registry_events;
pub mod retention;
mod secret_key;
pub mod server;
pub mod service;
pub mod state;
pub mod status;
pub mod time;
pub mod web;

pub use config::{Config, ConfigLayer};
