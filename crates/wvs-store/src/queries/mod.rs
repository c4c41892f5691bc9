//! The SQL, one module per table family, written once for both backends and compiled once
//! per backend: `sqlite.rs` and `postgres.rs` each declare this module (`#[path]`), and its
//! modules run on that backend's connection (`Conn`) and say what differs through that
//! backend's [`Dialect`](crate::dialect::Dialect) (`Db`). See the crate docs for why the
//! modules are not generic over the database instead.

use super::{Backend, Conn, Db};

pub(super) mod claim;
pub(super) mod groups;
pub(super) mod header_sets;
pub(super) mod health;
pub(super) mod hooks;
pub(super) mod keys;
pub(super) mod log;
pub(super) mod members;
pub(super) mod payload;
pub(super) mod projects;
pub(super) mod queue;
pub(super) mod rate;
pub(super) mod retention;
pub(super) mod secrets;
pub(super) mod settings;
pub(super) mod sql;
pub(super) mod store;
pub(super) mod tokens;
pub(super) mod users;
pub(super) mod views;
