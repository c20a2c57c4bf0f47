//! The request rate towards one vault, shared by every store in the process that reads it:
//! Key Vault allows 4,000 transactions per 10 s per vault (then answers 429), so a token
//! bucket of [`BURST`] refilled at [`PER_SECOND`] keeps any 10 s window at or under
//! `BURST + 10 × PER_SECOND` = 4,000 from this process. A 429's `Retry-After` closes the gate
//! for that long for every store on the vault. Waiting beyond a call's own deadline is not
//! done: the call answers "throttled" at once instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Requests that may go at once.
pub const BURST: f64 = 1_000.0;
/// Requests per second after the burst.
pub const PER_SECOND: f64 = 300.0;

struct Bucket {
    tokens: f64,
    last: Instant,
    closed_until: Option<Instant>,
}

/// One vault's bucket.
pub struct Limiter {
    bucket: Mutex<Bucket>,
    burst: f64,
    per_second: f64,
}

/// Why a call may not go now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Go now.
    Go,
    /// Go after this long (the caller sleeps, then asks again).
    After(Duration),
}

impl Limiter {
    pub fn new(burst: f64, per_second: f64) -> Limiter {
        Limiter {
            bucket: Mutex::new(Bucket {
                tokens: burst,
                last: Instant::now(),
                closed_until: None,
            }),
            burst,
            per_second,
        }
    }

    /// The shared limiter of the vault at `authority` (`host:port`).
    pub fn for_vault(authority: &str) -> Arc<Limiter> {
        static ALL: OnceLock<Mutex<HashMap<String, Arc<Limiter>>>> = OnceLock::new();
        let all = ALL.get_or_init(Default::default);
        let mut all = all.lock().unwrap_or_else(PoisonError::into_inner);
        all.entry(authority.to_owned())
            .or_insert_with(|| Arc::new(Limiter::new(BURST, PER_SECOND)))
            .clone()
    }

    /// Take one request's token at `now`, or say how long to wait for one.
    pub fn take(&self, now: Instant) -> Wait {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(until) = bucket.closed_until {
            if until > now {
                return Wait::After(until - now);
            }
            bucket.closed_until = None;
        }
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Wait::Go
        } else {
            Wait::After(Duration::from_secs_f64(
                (1.0 - bucket.tokens) / self.per_second,
            ))
        }
    }

    /// The vault said 429 with `Retry-After: after`: nobody goes before `now + after`.
    pub fn close_for(&self, now: Instant, after: Duration) {
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        let until = now + after;
        if bucket.closed_until.is_none_or(|old| old < until) {
            bucket.closed_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_ten_second_window_exceeds_the_vault_limit() {
        let limiter = Limiter::new(BURST, PER_SECOND);
        let start = Instant::now();
        let mut sent = 0_u32;
        // Ask every millisecond for 10 s: what goes is what the vault would see.
        for ms in 0..10_000 {
            let now = start + Duration::from_millis(ms);
            while limiter.take(now) == Wait::Go {
                sent += 1;
            }
        }
        assert!(sent <= 4_000, "{sent} requests in 10 s");
        assert!(sent >= 3_900, "only {sent} requests in 10 s");
    }

    #[test]
    fn retry_after_closes_the_gate() {
        let limiter = Limiter::new(10.0, 1.0);
        let now = Instant::now();
        limiter.close_for(now, Duration::from_secs(3));
        assert_eq!(
            limiter.take(now + Duration::from_secs(1)),
            Wait::After(Duration::from_secs(2))
        );
        assert_eq!(limiter.take(now + Duration::from_secs(3)), Wait::Go);
    }
}
