//! Per-object exponential backoff shared by the controllers: 1 s doubling to 5 minutes while an
//! object keeps failing; a success forgets it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Failure counts by object key.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Count one more failure of `key` and say how long to wait before the next try.
    pub fn failed(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let count = failures.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        Duration::from_secs(1u64 << (*count - 1).min(9)).min(Duration::from_secs(300))
    }

    /// `key` succeeded: start from 1 s next time.
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_caps_and_resets() {
        let b = Backoff::default();
        let waits: Vec<u64> = (0..12).map(|_| b.failed("x").as_secs()).collect();
        assert_eq!(&waits[..4], &[1, 2, 4, 8]);
        assert_eq!(*waits.last().unwrap(), 300);
        b.succeeded("x");
        assert_eq!(b.failed("x").as_secs(), 1);
        assert_eq!(b.failed("y").as_secs(), 1);
    }
}
