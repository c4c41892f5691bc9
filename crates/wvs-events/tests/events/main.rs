//! The event model's behaviour, one integration-test binary with a module per area.

mod current;
mod errors;
mod fixtures;
mod fuzz_corpus;
mod receive;
mod samples;
mod signature;
