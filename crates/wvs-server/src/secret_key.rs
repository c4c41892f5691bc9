//! The key that encrypts hook URLs and secrets at rest: `--secret-key` / `WVS_SECRET_KEY`
//! (base64 of 32 bytes), or else a key file `wvs.key` beside the SQLite database, created on
//! first start readable by its owner only (mode 0600) and read on every later start.
//! Losing the key loses the hooks' secrets: back it up with the database. With PostgreSQL
//! there is no key file: every node must be given the same key.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use wvs_store::SecretKey;

use crate::config::{Config, sqlite_path};
use crate::database_url::is_postgres;

/// The store's key, from the configuration or the key file.
pub fn load(config: &Config) -> anyhow::Result<SecretKey> {
    if let Some(text) = &config.secret_key {
        return SecretKey::from_base64(text).context("secret_key");
    }
    if is_postgres(&config.database_url) {
        // Every node must read every hook: a key file of one node's own would not do.
        anyhow::bail!(
            "a PostgreSQL store needs --secret-key (WVS_SECRET_KEY), the same on every node: \
             base64 of 32 random bytes, e.g. `openssl rand -base64 32`"
        );
    }
    match key_file_path(&config.database_url) {
        // An in-memory database lives as long as the process: so may its key.
        None => Ok(SecretKey::generate()),
        Some(path) => key_file(&path).with_context(|| format!("the key file {}", path.display())),
    }
}

/// `wvs.key` beside the database file; `None` for an in-memory database.
fn key_file_path(database_url: &str) -> Option<PathBuf> {
    sqlite_path(database_url).map(|path| path.with_file_name("wvs.key"))
}

/// Reads the key at `path`, or creates it (mode 0600) when there is none.
fn key_file(path: &Path) -> io::Result<SecretKey> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let key = SecretKey::generate();
            file.write_all(key.to_base64().as_bytes())?;
            file.sync_all()?;
            Ok(key)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            let mut text = String::new();
            std::fs::File::open(path)?.read_to_string(&mut text)?;
            SecretKey::from_base64(&text)
                .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wvs.key");
        let first = key_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = key_file(&path).unwrap();
        assert_eq!(first.to_base64(), again.to_base64());
        std::fs::write(&path, "not a key").unwrap();
        assert!(key_file(&path).is_err());
    }

    #[test]
    fn the_key_file_sits_beside_the_database() {
        assert_eq!(
            key_file_path("sqlite://data/wvs.db"),
            Some(PathBuf::from("data/wvs.key"))
        );
        assert_eq!(
            key_file_path("sqlite:/var/lib/wvs/x.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/wvs/wvs.key"))
        );
        assert_eq!(key_file_path("sqlite::memory:"), None);
    }
}
