//! Request headers of the delivery log, stored once per hook instead of once per row.
//!
//! The headers of a hook's deliveries are the same from one attempt to the next but for a
//! few values (the event's UUID, the idempotency key, the signing time: see
//! [`wvs_events::headers::varies_per_attempt`]). A log row keeps those values only, in the
//! order sent, and points at its *header set*: the names in order with every other value,
//! the varying ones left open (`null`), stored once in `header_sets` under its SHA-256.
//!
//! The split is lossless whatever it classifies as varying: reading back puts the row's
//! values into the set's open slots in order, so the list shown is exactly the one logged.
//! The instance URL and the user agent are kept in the set, not rebuilt from today's
//! settings: a set holds what was sent then.
//!
//! Sets are never deleted (retention leaves them: they are few and small, and a set removed
//! under a node that remembers its id would leave that node's rows pointing nowhere).

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wvs_events::headers::varies_per_attempt;

use crate::model::Id;
use crate::{Result, StoreError};

/// One attempt's request headers split into the set they share and the values of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// SHA-256 of `set`: its key in `header_sets`.
    pub digest: Vec<u8>,
    /// JSON list of `[name, value]`, `value` `null` where the row holds it.
    pub set: String,
    /// JSON list of the row's values, in header order.
    pub values: String,
}

impl Split {
    pub fn of(headers: &[(String, String)]) -> Result<Split> {
        let mut set: Vec<(&str, Option<&str>)> = Vec::with_capacity(headers.len());
        let mut values: Vec<&str> = Vec::new();
        for (name, value) in headers {
            if varies_per_attempt(name) {
                set.push((name, None));
                values.push(value);
            } else {
                set.push((name, Some(value)));
            }
        }
        let set = serde_json::to_string(&set).map_err(|_| StoreError::Corrupt(SETS))?;
        let values = serde_json::to_string(&values).map_err(|_| StoreError::Corrupt(ROWS))?;
        Ok(Split {
            digest: Sha256::digest(set.as_bytes()).to_vec(),
            set,
            values,
        })
    }
}

const SETS: &str = "header_sets.headers";
const ROWS: &str = "attempts.request_headers";

/// The headers of a log row: its set's with the row's `values` in the open slots.
pub fn rebuild(set: &str, values: &str) -> Result<Vec<(String, String)>> {
    let set: Vec<(String, Option<String>)> =
        serde_json::from_str(set).map_err(|_| StoreError::Corrupt(SETS))?;
    let values: Vec<String> =
        serde_json::from_str(values).map_err(|_| StoreError::Corrupt(ROWS))?;
    let mut values = values.into_iter();
    let headers = set
        .into_iter()
        .map(|(name, value)| match value.or_else(|| values.next()) {
            Some(value) => Ok((name, value)),
            None => Err(StoreError::Corrupt(ROWS)),
        })
        .collect::<Result<Vec<_>>>()?;
    // A value left over belongs to no header: the row and its set disagree.
    match values.next() {
        Some(_) => Err(StoreError::Corrupt(ROWS)),
        None => Ok(headers),
    }
}

/// The ids of the sets a store wrote or found, by digest, so that logging an attempt of a
/// known set costs no lookup. Only ids of committed sets go in (sets are never deleted, so
/// an id remembered stays valid).
#[derive(Debug, Default)]
pub struct KnownSets {
    ids: Mutex<HashMap<Vec<u8>, Id>>,
}

impl KnownSets {
    pub fn get(&self, digest: &[u8]) -> Option<Id> {
        self.lock().get(digest).copied()
    }

    pub fn remember(&self, found: impl IntoIterator<Item = (Vec<u8>, Id)>) {
        self.lock().extend(found);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Id>> {
        // The map is only ever extended with committed ids: one a panicking holder left is
        // still right.
        self.ids
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn a_split_reads_back_as_the_same_list_and_keeps_only_varying_values_per_row() {
        let headers = pairs(&[
            ("Content-Type", "application/json"),
            ("X-Gitlab-Event-UUID", "e-1"),
            ("Idempotency-Key", "k-1"),
            ("X-Custom", "[REDACTED]"),
            ("X-Custom", "[REDACTED]"),
            ("webhook-timestamp", "17"),
        ]);
        let split = Split::of(&headers).unwrap();
        assert_eq!(split.values, r#"["e-1","k-1","17"]"#);
        assert_eq!(rebuild(&split.set, &split.values).unwrap(), headers);
        let other = pairs(&[
            ("Content-Type", "application/json"),
            ("X-Gitlab-Event-UUID", "e-2"),
            ("Idempotency-Key", "k-2"),
            ("X-Custom", "[REDACTED]"),
            ("X-Custom", "[REDACTED]"),
            ("webhook-timestamp", "18"),
        ]);
        assert_eq!(Split::of(&other).unwrap().digest, split.digest);
    }

    #[test]
    fn a_row_whose_values_do_not_fit_its_set_is_corrupt_not_a_panic() {
        let split = Split::of(&pairs(&[("Idempotency-Key", "k")])).unwrap();
        assert!(matches!(
            rebuild(&split.set, "[]"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            rebuild(&split.set, r#"["k","extra"]"#),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            rebuild("not json", "[]"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
