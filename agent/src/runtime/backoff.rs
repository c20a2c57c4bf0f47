//! Per-object exponential backoff shared by the controllers: 1 s doubling to 5 minutes while an
//! object keeps failing; a success forgets it. And [`WatchBackoff`], the retry delay of the
//! watches themselves.

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

/// The retry delay of a failing watch: 250 ms doubling to at most 2 s, back to the start once
/// the watch runs again. kube-runtime's default grows to 30 s, which left an agent started
/// before its CRDs idle for up to half a minute after they were installed; a list that 404s
/// is one cheap request, so retrying every couple of seconds costs nothing.
#[derive(Debug, Clone)]
pub struct WatchBackoff {
    next: Duration,
}

impl WatchBackoff {
    const FIRST: Duration = Duration::from_millis(250);
    /// The longest wait between two attempts.
    pub const MAX: Duration = Duration::from_secs(2);
}

impl Default for WatchBackoff {
    fn default() -> Self {
        WatchBackoff { next: Self::FIRST }
    }
}

impl Iterator for WatchBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        Some(wait)
    }
}

impl kube::runtime::utils::Backoff for WatchBackoff {
    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

#[cfg(test)]
mod tests {
    use kube::runtime::utils::Backoff as _;

    use super::*;

    #[test]
    fn watch_retries_stay_within_two_seconds_and_reset() {
        let mut b = WatchBackoff::default();
        let waits: Vec<u128> = b.by_ref().take(6).map(|d| d.as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 2000, 2000]);
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_millis(250)));
    }

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
