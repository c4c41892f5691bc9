//! End-to-end tests of `wvs serve`, driven over HTTP only, as a client would.

mod access;
mod api;
mod backup;
mod claims;
mod client;
mod connections;
mod crash;
mod durability;
mod faults;
mod fixtures;
mod git_hook;
mod isolation;
mod lock;
mod logs;
mod metrics;
mod nodes;
mod openapi;
mod push;
mod registry_events;
mod reliability;
mod routing;
mod scripted;
mod secrets;
mod setup;
mod support;
mod web;
