//! The spool: every push is written here before it is sent, one file per push in
//! `<git dir>/wvs-spool/`, named `<nanoseconds since the epoch>-<key>.json` so that names sort
//! oldest first. A file is removed once WVS accepted it; what WVS refused as invalid (400,
//! 422) moves to `wvs-spool/rejected/` so that it neither blocks the pushes behind it nor
//! is lost. A lock file keeps two hooks of one repository from sending the same files at once.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Why the spool could not be read or written.
#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a spooled push: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SpoolError {
    let path = path.to_owned();
    move |source| SpoolError::Io {
        action,
        path,
        source,
    }
}

/// One spooled push: its body and the key every attempt sends it with.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    pub idempotency_key: String,
    pub body: Value,
}

/// The spool directory of a repository.
pub struct Spool {
    dir: PathBuf,
}

/// The spool, locked against other hooks of the same repository until dropped.
pub struct Locked<'a> {
    spool: &'a Spool,
    _lock: File,
}

impl Spool {
    pub fn of(git_dir: &Path) -> Spool {
        Spool {
            dir: git_dir.join("wvs-spool"),
        }
    }

    /// Writes a push; its key derives from the repository, the ref lines and the moment,
    /// so that a retry of this push is recognised and a later identical push is not.
    pub fn add(&self, git_dir: &Path, ref_lines: &str, body: Value) -> Result<PathBuf, SpoolError> {
        fs::create_dir_all(&self.dir).map_err(io_error("creating", &self.dir))?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut hash = Sha256::new();
        for part in [
            git_dir.to_string_lossy().as_bytes(),
            ref_lines.as_bytes(),
            nanos.to_string().as_bytes(),
        ] {
            hash.update(part);
            hash.update([0]);
        }
        let key = format!("wvs-git-{}", hex::encode(&hash.finalize()[..16]));
        let entry = Entry {
            idempotency_key: key.clone(),
            body,
        };
        let name = format!("{nanos:020}-{}.json", &key["wvs-git-".len()..]);
        let path = self.dir.join(&name);
        // Written under a name the listing skips, then renamed: a reader never sees half a file.
        let partial = self.dir.join(format!(".{name}.partial"));
        let bytes = serde_json::to_vec(&entry).expect("a JSON value serializes");
        fs::write(&partial, bytes).map_err(io_error("writing", &partial))?;
        fs::rename(&partial, &path).map_err(io_error("renaming", &partial))?;
        Ok(path)
    }

    /// Waits for other hooks of this repository to finish sending, then holds the spool.
    pub fn lock(&self) -> Result<Locked<'_>, SpoolError> {
        fs::create_dir_all(&self.dir).map_err(io_error("creating", &self.dir))?;
        let path = self.dir.join(".lock");
        let file = File::create(&path).map_err(io_error("opening", &path))?;
        file.lock().map_err(io_error("locking", &path))?;
        Ok(Locked {
            spool: self,
            _lock: file,
        })
    }
}

impl Locked<'_> {
    /// The spooled pushes, oldest first.
    pub fn pending(&self) -> Result<Vec<PathBuf>, SpoolError> {
        let dir = &self.spool.dir;
        let mut paths: Vec<PathBuf> = fs::read_dir(dir)
            .map_err(io_error("listing", dir))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.is_file()
                    && path.extension().is_some_and(|e| e == "json")
                    && !path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect();
        paths.sort();
        Ok(paths)
    }

    pub fn read(&self, path: &Path) -> Result<Entry, SpoolError> {
        let bytes = fs::read(path).map_err(io_error("reading", path))?;
        serde_json::from_slice(&bytes).map_err(|source| SpoolError::Corrupt {
            path: path.to_owned(),
            source,
        })
    }

    /// The push was delivered to WVS.
    pub fn done(&self, path: &Path) -> Result<(), SpoolError> {
        fs::remove_file(path).map_err(io_error("removing", path))
    }

    /// WVS refused the push as invalid: kept aside, out of the queue.
    pub fn reject(&self, path: &Path) -> Result<PathBuf, SpoolError> {
        let dir = self.spool.dir.join("rejected");
        fs::create_dir_all(&dir).map_err(io_error("creating", &dir))?;
        let to = dir.join(path.file_name().unwrap_or_default());
        fs::rename(path, &to).map_err(io_error("moving", path))?;
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_list_oldest_first_and_keys_differ() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::of(dir.path());
        let lines = "a b refs/heads/main\n";
        let first = spool.add(dir.path(), lines, json!({"n": 1})).unwrap();
        let second = spool.add(dir.path(), lines, json!({"n": 2})).unwrap();
        let locked = spool.lock().unwrap();
        assert_eq!(locked.pending().unwrap(), [first.clone(), second.clone()]);
        let (a, b) = (locked.read(&first).unwrap(), locked.read(&second).unwrap());
        assert_eq!(a.body, json!({"n": 1}));
        assert_ne!(a.idempotency_key, b.idempotency_key);
        locked.done(&first).unwrap();
        let rejected = locked.reject(&second).unwrap();
        assert!(rejected.is_file());
        assert!(locked.pending().unwrap().is_empty());
    }
}
