//! Freshness of a request: its time within [`MAX_SKEW`] of the controller's clock, and its
//! nonce never seen before. A nonce is remembered for twice the skew (after that its time is
//! stale anyway), in a bounded cache: when full of live nonces, new requests are refused
//! (`Busy`) rather than forgetting one that could then be replayed.

use std::collections::{HashMap, VecDeque};

use time::{Duration, OffsetDateTime};

/// The largest difference allowed between a request's time and the controller's clock.
pub const MAX_SKEW: Duration = Duration::seconds(60);
/// Most nonces remembered at once.
pub const MAX_NONCES: usize = 100_000;

/// Why a request is not fresh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    /// The time does not parse.
    #[error("the request's time {0:?} is not RFC 3339")]
    Time(String),
    /// Too far from now.
    #[error("the request's time is {0} s away from the controller's clock (at most 60 s allowed)")]
    Skew(i64),
    /// Seen before.
    #[error("the request's nonce was seen before: a replayed request")]
    Replayed,
    /// The cache is full of live nonces.
    #[error("too many requests in the last two minutes to check for replays; retry shortly")]
    Busy,
}

/// Remembered nonces with the instant each may be forgotten.
#[derive(Debug)]
pub struct ReplayCache {
    seen: HashMap<String, OffsetDateTime>,
    order: VecDeque<(OffsetDateTime, String)>,
    capacity: usize,
}

impl Default for ReplayCache {
    fn default() -> ReplayCache {
        ReplayCache::with_capacity(MAX_NONCES)
    }
}

impl ReplayCache {
    /// A cache holding at most `capacity` nonces.
    pub fn with_capacity(capacity: usize) -> ReplayCache {
        ReplayCache {
            seen: HashMap::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Accept (and remember) `nonce` of a request made at `time`, as seen at `now`.
    pub fn check(&mut self, nonce: &str, time: &str, now: OffsetDateTime) -> Result<(), Stale> {
        let at = OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
            .map_err(|_| Stale::Time(time.to_owned()))?;
        let skew = (now - at).whole_seconds();
        if skew.abs() > MAX_SKEW.whole_seconds() {
            return Err(Stale::Skew(skew));
        }
        self.forget_expired(now);
        if self.seen.contains_key(nonce) {
            return Err(Stale::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(Stale::Busy);
        }
        // Kept until its time can no longer pass the skew check.
        let until = at.max(now) + MAX_SKEW + MAX_SKEW;
        self.seen.insert(nonce.to_owned(), until);
        self.order.push_back((until, nonce.to_owned()));
        Ok(())
    }

    fn forget_expired(&mut self, now: OffsetDateTime) {
        // `order` is sorted closely enough: `until` is within the skew of insertion time, so
        // a late front entry only delays forgetting, never forgets early.
        while let Some((until, _)) = self.order.front() {
            if *until > now {
                break;
            }
            if let Some((_, nonce)) = self.order.pop_front() {
                self.seen.remove(&nonce);
            }
        }
    }

    /// Nonces remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when none is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn a_nonce_once_and_a_time_near_now() {
        let now = at("2026-12-01T10:00:00Z");
        let mut cache = ReplayCache::default();
        assert_eq!(cache.check("n1", "2026-12-01T10:00:30Z", now), Ok(()));
        assert_eq!(
            cache.check("n1", "2026-12-01T10:00:30Z", now),
            Err(Stale::Replayed)
        );
        assert_eq!(
            cache.check("n2", "2026-12-01T09:58:59Z", now),
            Err(Stale::Skew(61))
        );
        assert_eq!(
            cache.check("n3", "2026-12-01T10:01:01Z", now),
            Err(Stale::Skew(-61))
        );
        assert!(matches!(
            cache.check("n4", "yesterday", now),
            Err(Stale::Time(_))
        ));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn nonces_are_forgotten_only_once_their_time_is_stale_and_the_cache_is_bounded() {
        let now = at("2026-12-01T10:00:00Z");
        let mut cache = ReplayCache::with_capacity(2);
        cache.check("a", "2026-12-01T10:00:00Z", now).unwrap();
        cache.check("b", "2026-12-01T10:00:00Z", now).unwrap();
        assert_eq!(
            cache.check("c", "2026-12-01T10:00:00Z", now),
            Err(Stale::Busy)
        );
        // 61 s later "a" is still remembered (its time would pass the skew check until then)...
        let later = now + Duration::seconds(61);
        assert_eq!(
            cache.check("a", "2026-12-01T10:00:01Z", later),
            Err(Stale::Replayed)
        );
        // ...and after two skews it is gone, its request too old to pass anyway.
        let much_later = now + Duration::seconds(121);
        assert_eq!(cache.check("d", "2026-12-01T10:02:01Z", much_later), Ok(()));
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.check("a", "2026-12-01T10:00:00Z", much_later),
            Err(Stale::Skew(121))
        );
    }
}
