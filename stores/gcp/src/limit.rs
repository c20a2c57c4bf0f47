//! Per-store request rates under Secret Manager's quotas (per project and minute: 90,000
//! accesses; 600 "read" requests — lists, metadata gets, version lists): a token bucket per
//! class of call. Calls over the rate wait for their turn instead of failing, and a 429's
//! `Retry-After` pauses the bucket for everyone until then.
//!
//! Data flow: a call ──[`Limiter::acquire`]──▶ waits until a slot is free (and any pause has
//! passed) ──▶ sent; 429 ──[`Limiter::pause`]──▶ later calls wait out the `Retry-After`.

use std::time::Duration;

use tokio::time::Instant;

/// The default for lists, metadata and version lists: 600 a minute, bursts of 10.
pub(crate) const READS_PER_SECOND: f64 = 10.0;
pub(crate) const READ_BURST: f64 = 10.0;
/// The default for accesses: 90,000 a minute, bursts of 100.
pub(crate) const ACCESSES_PER_SECOND: f64 = 1500.0;
pub(crate) const ACCESS_BURST: f64 = 100.0;
/// The longest pause a `Retry-After` may impose.
const MAX_PAUSE: Duration = Duration::from_secs(300);

struct Bucket {
    tokens: f64,
    refilled: Instant,
    paused_until: Option<Instant>,
}

/// A token bucket.
pub(crate) struct Limiter {
    rate: f64,
    burst: f64,
    bucket: std::sync::Mutex<Bucket>,
}

impl Limiter {
    /// `rate` calls a second on average, at most `burst` at once.
    pub(crate) fn new(rate: f64, burst: f64) -> Limiter {
        Limiter {
            rate,
            burst,
            bucket: std::sync::Mutex::new(Bucket {
                tokens: burst,
                refilled: Instant::now(),
                paused_until: None,
            }),
        }
    }

    /// How long to wait before a call may go (zero: go now, the slot is taken).
    fn reserve(&self, now: Instant) -> Duration {
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(until) = bucket.paused_until {
            if until > now {
                return until - now;
            }
            bucket.paused_until = None;
        }
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Duration::ZERO;
        }
        Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate)
    }

    /// Wait for a slot.
    pub(crate) async fn acquire(&self) {
        loop {
            let wait = self.reserve(Instant::now());
            if wait.is_zero() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Hold every call back for `delay` (a 429's `Retry-After`, bounded).
    pub(crate) fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay.min(MAX_PAUSE);
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if bucket.paused_until.is_none_or(|u| u < until) {
            bucket.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_the_rate_then_pauses() {
        let limiter = Limiter::new(10.0, 10.0);
        let start = Instant::now();
        for _ in 0..10 {
            limiter.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "a burst goes at once");
        for _ in 0..5 {
            limiter.acquire().await;
        }
        let after = start.elapsed();
        assert!(
            after >= Duration::from_millis(500) && after < Duration::from_millis(520),
            "{after:?}"
        );
        limiter.pause(Duration::from_secs(30));
        limiter.acquire().await;
        assert!(start.elapsed() >= after + Duration::from_secs(30));
        limiter.pause(Duration::from_secs(100_000));
        let before = Instant::now();
        limiter.acquire().await;
        assert!(before.elapsed() <= MAX_PAUSE + Duration::from_millis(1));
    }
}
