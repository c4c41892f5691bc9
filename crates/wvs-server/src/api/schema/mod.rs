//! The API's request and response bodies as types: the handlers build their answers from
//! them, the OpenAPI document takes its schemas from them (`schemars`), and clients (the
//! integration tests among them) read and write them. Field order is the wire's order: GitLab
//! clients and the tests compare answers key by key.

mod flags;
mod requests;
mod responses;

pub use flags::EventFlags;
pub use requests::*;
pub use responses::*;
