//! What the server allows a client, as the configuration sets it (a type of its own, so
//! the configuration does not depend on the accept loop).

use std::time::Duration;

/// What the server allows a client.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Time to send a request's headers (also how long an idle keep-alive connection stays).
    pub header_read_timeout: Duration,
    /// Time to send a request's body, from the end of its headers.
    pub body_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}
