//! One writer per SQLite file: `wvs serve` and `wvs migrate` hold an exclusive OS file lock
//! (`flock`) on `<database>.lock` beside the database for the process's life, with their pid
//! written in it. A second process on the same file refuses to start and names the holder.
//! The OS releases the lock when its holder dies, however it dies, so a lock file left by a
//! killed process never blocks the next start. In-memory databases and PostgreSQL (whose
//! nodes share one database by design) take no lock.

use std::ffi::OsString;
use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::config::sqlite_path;

/// The lock of one SQLite file, held until dropped (the process's end).
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{database} is already served by another WVS process ({holder}): one process per \
         SQLite file; stop it first, or use PostgreSQL for several nodes"
    )]
    Held { database: PathBuf, holder: Holder },
    #[error(
        "cannot open the lock file {path} beside the database — pass --database-url \
         (WVS_DATABASE_URL) or run from a writable directory"
    )]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot lock {path}")]
    Lock { path: PathBuf, source: io::Error },
}

/// The process that holds a lock, as written in its lock file.
#[derive(Debug, PartialEq, Eq)]
pub struct Holder(pub Option<u32>);

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(pid) => write!(f, "pid {pid}"),
            // It locked the file and has not written its pid yet.
            None => f.write_str("pid not yet known"),
        }
    }
}

/// Locks the SQLite file of `database_url` for this process; `None` when the URL needs no
/// lock (in memory, PostgreSQL).
pub fn acquire(database_url: &str) -> Result<Option<DatabaseLock>, LockError> {
    let Some(database) = sqlite_path(database_url) else {
        return Ok(None);
    };
    let path = lock_path(&database);
    // Never truncated on open: a refused process must still read the holder's pid.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| LockError::Open {
            path: path.clone(),
            source,
        })?;
    let io_error = |source| LockError::Lock {
        path: path.clone(),
        source,
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let holder = file
                .read_to_string(&mut text)
                .ok()
                .and(text.trim().parse().ok());
            return Err(LockError::Held {
                database,
                holder: Holder(holder),
            });
        }
        Err(TryLockError::Error(source)) => return Err(io_error(source)),
    }
    file.set_len(0).map_err(io_error)?;
    file.rewind().map_err(io_error)?;
    writeln!(file, "{}", std::process::id()).map_err(io_error)?;
    Ok(Some(DatabaseLock { _file: file }))
}

/// `<database>.lock`, beside the database.
fn lock_path(database: &Path) -> PathBuf {
    let mut path = OsString::from(database.as_os_str());
    path.push(".lock");
    PathBuf::from(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_names_the_holder_until_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("wvs.db").display());
        let held = acquire(&url).unwrap().expect("a file database is locked");
        // flock locks belong to the open file, so a second open conflicts even in-process.
        match acquire(&url) {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder, Holder(Some(std::process::id())));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(held);
        assert!(acquire(&url).unwrap().is_some());
        assert!(dir.path().join("wvs.db.lock").is_file());
    }

    #[test]
    fn a_lock_file_that_cannot_be_made_says_what_to_do() {
        let error = acquire("sqlite:///proc/no-such-dir/wvs.db").unwrap_err();
        assert!(matches!(error, LockError::Open { .. }), "{error:?}");
        assert!(error.to_string().contains("pass --database-url"), "{error}");
    }

    #[test]
    fn in_memory_and_postgres_databases_take_no_lock() {
        assert!(acquire("sqlite::memory:").unwrap().is_none());
        assert!(acquire("postgres://localhost/wvs").unwrap().is_none());
    }
}
