//! What a database URL names. The configuration, the key file's place and the server's
//! choice of store all ask it, so it has a module of its own below them all.

/// Whether the database URL names PostgreSQL.
pub fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}
