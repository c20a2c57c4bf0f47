//! A per-store token bucket with two lanes: first syncs and forced refreshes wait for a token,
//! periodic refreshes only take one when nobody from the first lane is waiting, and otherwise
//! learn how long to come back after (the reconcile requeues instead of holding a worker).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Token bucket with a priority lane.
#[derive(Debug)]
pub(crate) struct PriorityLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
    urgent_waiting: usize,
}

impl PriorityLimiter {
    /// `rate` reads per second, bursts of `burst`.
    pub(crate) fn new(rate: u32, burst: u32) -> PriorityLimiter {
        let rate = f64::from(rate.max(1));
        let burst = f64::from(burst.max(1));
        PriorityLimiter {
            rate,
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: Instant::now(),
                urgent_waiting: 0,
            }),
        }
    }

    fn refill(&self, state: &mut State) {
        let now = Instant::now();
        let gained = now.duration_since(state.last).as_secs_f64() * self.rate;
        state.tokens = (state.tokens + gained).min(self.burst);
        state.last = now;
    }

    fn wait_for_one(&self, state: &State) -> Duration {
        Duration::from_secs_f64(((1.0 - state.tokens) / self.rate).max(0.0))
            .max(Duration::from_millis(5))
    }

    /// A refresh: a token now, or how long to wait before trying again.
    pub(crate) fn try_take(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.refill(&mut state);
        if state.urgent_waiting == 0 && state.tokens >= 1.0 {
            state.tokens -= 1.0;
            return Ok(());
        }
        // Leave room for the urgent lane: come back after it had its turn.
        let extra = state.urgent_waiting as f64 / self.rate;
        Err(self.wait_for_one(&state) + Duration::from_secs_f64(extra))
    }

    /// A first sync or forced refresh: wait for a token.
    pub(crate) async fn take_urgent(&self) {
        let mut registered = false;
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                self.refill(&mut state);
                if state.tokens >= 1.0 {
                    state.tokens -= 1.0;
                    if registered {
                        state.urgent_waiting -= 1;
                    }
                    return;
                }
                if !registered {
                    state.urgent_waiting += 1;
                    registered = true;
                }
                self.wait_for_one(&state)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_yield_when_the_bucket_is_empty() {
        let l = PriorityLimiter::new(10, 2);
        assert!(l.try_take().is_ok());
        assert!(l.try_take().is_ok());
        let wait = l.try_take().unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(150),
            "{wait:?}"
        );
    }

    #[tokio::test]
    async fn urgent_callers_wait_and_block_refreshes_meanwhile() {
        let l = std::sync::Arc::new(PriorityLimiter::new(20, 1));
        l.take_urgent().await;
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { l.take_urgent().await }
        });
        tokio::task::yield_now().await;
        // While the urgent caller waits, a refresh is told to come back later.
        tokio::time::timeout(Duration::from_secs(2), async {
            while l.state.lock().unwrap().urgent_waiting == 0 && !waiter.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .unwrap();
        if !waiter.is_finished() {
            assert!(l.try_take().is_err());
        }
        tokio::time::timeout(Duration::from_secs(2), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
