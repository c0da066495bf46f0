//! Counts of this process's Genesys calls, by endpoint and HTTP status, for the metrics: the
//! client counts, telemetry reads and resets.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Genesys calls of this process since the last report, by endpoint and HTTP status (0 = no
/// answer), and the in-place retries among them.
#[derive(Debug, Default)]
pub(crate) struct CallStats {
    calls: Mutex<BTreeMap<(&'static str, u16), u64>>,
    retries: AtomicU64,
}

impl CallStats {
    pub(crate) fn call(&self, endpoint: &'static str, status: u16) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((endpoint, status))
            .or_default() += 1;
    }

    pub(crate) fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes the counts (Lambda runs one invocation at a time per process).
    pub(crate) fn drain(&self) -> (BTreeMap<(&'static str, u16), u64>, u64) {
        let calls = std::mem::take(&mut *self.calls.lock().unwrap_or_else(|p| p.into_inner()));
        (calls, self.retries.swap(0, Ordering::Relaxed))
    }
}
