//! Whether the store can write: the readiness probe and ingest's answers read it.
//!
//! A write transaction that fails for a reason of the store's own (a full disk, an I/O
//! error, the database out of reach) marks the store failing, with the reason. Only a write
//! that stored something clears it (an event, attempts, the readiness probe's write of some
//! size): a claim that changed nothing, or a small update in place, can succeed on a full
//! disk and would otherwise make the store look healthy between two failing ingests.

use std::sync::Mutex;

use crate::StoreError;

#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    failing: Mutex<Option<String>>,
}

impl WriteHealth {
    /// A write transaction failed: the store is failing if the error is the store's.
    pub fn failed(&self, error: &StoreError) {
        if error.is_row_error() {
            return;
        }
        let reason = error.to_string();
        let mut failing = self.lock();
        if failing.is_none() {
            tracing::error!(reason, "the store cannot write");
        }
        *failing = Some(reason);
    }

    /// A write that stored something succeeded.
    pub fn stored(&self) {
        if self.lock().take().is_some() {
            tracing::info!("the store writes again");
        }
    }

    /// Why writes are failing, while they are.
    pub fn failure(&self) -> Option<String> {
        self.lock().clone()
    }

    /// Records the outcome of a write that stores something.
    pub fn note<T>(&self, outcome: &crate::Result<T>) {
        match outcome {
            Ok(_) => self.stored(),
            Err(error) => self.failed(error),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // The guarded value is a plain Option: still valid if a holder panicked.
        self.failing
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}
