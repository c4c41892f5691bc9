//! One Rust type per documented payload. Every type keeps the fields it does not model in
//! `extra` and every optional field in an [`Opt`](crate::Opt), so that parsing and serializing
//! again yields the same JSON.

pub mod common;
pub mod group;
pub mod project;
pub mod push;
pub mod system;
