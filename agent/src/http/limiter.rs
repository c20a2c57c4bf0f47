//! Per-client token buckets for the POST endpoints (keyed by client address) and the mount
//! endpoint (keyed by pod).
//!
//! Data flow: the API works out a client key from the request ([`client_key`]: the peer
//! address, or, from a trusted proxy, the address it appended to `X-Forwarded-For`) and asks [`RateLimiter::allow`] before
//! reading the body. Each client has a bucket holding up to `burst` tokens that refills at
//! `rate` tokens a second; a request takes one token or is refused.
//!
//! Memory stays bounded: a bucket that has been idle long enough to refill completely is the
//! same as no bucket, so such buckets are swept out (at most once per refill period), and when
//! [`MAX_CLIENTS`] are tracked anyway the least recently seen client is forgotten to make room.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::HeaderMap;

use super::cidr::Cidr;

/// Most clients tracked at once.
pub(super) const MAX_CLIENTS: usize = 10_000;

/// Token buckets keyed by client (an address by default).
#[derive(Debug)]
pub(super) struct RateLimiter<K = IpAddr> {
    rate: f64,
    burst: f64,
    /// Time an empty bucket takes to fill up again.
    refill: Duration,
    max_clients: usize,
    state: Mutex<Buckets<K>>,
}

#[derive(Debug)]
struct Buckets<K> {
    clients: HashMap<K, Bucket>,
    last_sweep: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_second` requests a second per client, bursts of twice that; `None` for 0, which
    /// switches limiting off.
    pub(super) fn new(per_second: u32, now: Instant) -> Option<RateLimiter<K>> {
        RateLimiter::with_capacity(per_second, MAX_CLIENTS, now)
    }

    fn with_capacity(per_second: u32, max_clients: usize, now: Instant) -> Option<RateLimiter<K>> {
        if per_second == 0 {
            return None;
        }
        let rate = f64::from(per_second);
        let burst = 2.0 * rate;
        Some(RateLimiter {
            rate,
            burst,
            refill: Duration::from_secs_f64(burst / rate),
            max_clients: max_clients.max(1),
            state: Mutex::new(Buckets {
                clients: HashMap::new(),
                last_sweep: now,
            }),
        })
    }

    /// Take a token for `client` at `now`; false when its bucket is empty.
    pub(super) fn allow(&self, client: K, now: Instant) -> bool {
        // The map stays consistent whatever panicked while holding the lock.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if now.saturating_duration_since(state.last_sweep) >= self.refill {
            self.sweep(&mut state, now);
        }
        if !state.clients.contains_key(&client) && state.clients.len() >= self.max_clients {
            self.sweep(&mut state, now);
            if state.clients.len() >= self.max_clients {
                evict_least_recent(&mut state.clients);
            }
        }
        let bucket = state.clients.entry(client).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forget buckets that would be full by now.
    fn sweep(&self, state: &mut Buckets<K>, now: Instant) {
        state.clients.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
            bucket.tokens + elapsed * self.rate < self.burst
        });
        state.last_sweep = now;
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clients
            .len()
    }
}

fn evict_least_recent<K: Hash + Eq + Clone>(clients: &mut HashMap<K, Bucket>) {
    let oldest = clients
        .iter()
        .min_by_key(|(_, bucket)| bucket.last)
        .map(|(ip, _)| ip.clone());
    if let Some(ip) = oldest {
        clients.remove(&ip);
    }
}

/// Whom to charge for a request: the peer, unless the peer is a trusted proxy (`--trusted-proxy`),
/// in which case the address that proxy appended to `X-Forwarded-For`, walking left past
/// entries that are themselves trusted proxies (a chain) and stopping at the first untrusted
/// one. Entries left of that were written by the caller, who chooses them freely; charging
/// them would let a caller pick a fresh bucket for every request. An entry that does not
/// parse stops the walk, and the last address known good is charged. IPv6 clients are grouped
/// by /64, the block one host usually gets.
pub(super) fn client_key(headers: &HeaderMap, peer: SocketAddr, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|block| block.contains(ip));
    let mut client = peer.ip();
    if is_trusted(client) {
        // Several header lines read as one list, in order.
        let lines: Vec<Option<&str>> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|value| value.to_str().ok())
            .collect();
        let entries = lines.iter().rev().flat_map(|line| match line {
            Some(text) => text.rsplit(',').map(parse_address).collect(),
            None => vec![None],
        });
        for entry in entries {
            let Some(ip) = entry else { break };
            client = ip;
            if !is_trusted(ip) {
                break;
            }
        }
    }
    normalize(client)
}

fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hyper::header::HeaderValue;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn a_burst_of_twice_the_rate_then_the_rate() {
        let start = Instant::now();
        let limiter: RateLimiter = RateLimiter::new(2, start).unwrap();
        let allowed = (0..10).filter(|_| limiter.allow(ip(1), start)).count();
        assert_eq!(allowed, 4);
        // Another client has its own bucket.
        assert!(limiter.allow(ip(2), start));
        // Half a second later one token (2/s) is back, and only one.
        let later = start + Duration::from_millis(500);
        assert!(limiter.allow(ip(1), later));
        assert!(!limiter.allow(ip(1), later));
    }

    #[test]
    fn zero_switches_limiting_off() {
        assert!(RateLimiter::<IpAddr>::new(0, Instant::now()).is_none());
    }

    #[test]
    fn idle_buckets_are_swept_and_the_map_is_bounded() {
        let start = Instant::now();
        let limiter: RateLimiter = RateLimiter::with_capacity(1, 3, start).unwrap();
        for last in 1..=3 {
            assert!(limiter.allow(ip(last), start));
        }
        assert_eq!(limiter.tracked(), 3);
        // A fourth client while all three are still refilling: the least recent one goes.
        assert!(limiter.allow(ip(4), start + Duration::from_millis(10)));
        assert_eq!(limiter.tracked(), 3);
        // Long after, every bucket is full again: all swept, only the newcomer remains.
        assert!(limiter.allow(ip(5), start + Duration::from_secs(60)));
        assert_eq!(limiter.tracked(), 1);
    }

    fn key(forwarded: &[&'static str], peer: &str, trusted: &[&str]) -> IpAddr {
        let mut headers = HeaderMap::new();
        for line in forwarded {
            headers.append("x-forwarded-for", HeaderValue::from_static(line));
        }
        let trusted: Vec<Cidr> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_key(&headers, peer.parse().unwrap(), &trusted)
    }

    fn addr(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_charged_whatever_it_forwards() {
        assert_eq!(key(&[], "192.0.2.1:4000", &[]), addr("192.0.2.1"));
        assert_eq!(
            key(&["203.0.113.7, 10.0.0.1"], "192.0.2.1:4000", &[]),
            addr("192.0.2.1")
        );
        // Trusting someone else does not make this peer a proxy.
        assert_eq!(
            key(&["203.0.113.7"], "192.0.2.1:4000", &["10.0.0.0/8"]),
            addr("192.0.2.1")
        );
    }

    #[test]
    fn a_trusted_proxy_is_believed_for_the_entry_it_appended() {
        let trusted = ["192.0.2.0/24"];
        // The caller wrote 203.0.113.7; the proxy appended the caller's real address.
        assert_eq!(
            key(&["203.0.113.7, 198.51.100.4"], "192.0.2.1:4000", &trusted),
            addr("198.51.100.4")
        );
        assert_eq!(
            key(&["198.51.100.4"], "192.0.2.1:4000", &trusted),
            addr("198.51.100.4")
        );
        // A trusted proxy that forwarded nothing is the client itself.
        assert_eq!(key(&[], "192.0.2.1:4000", &trusted), addr("192.0.2.1"));
        // Several header lines are one list.
        assert_eq!(
            key(&["203.0.113.7", "198.51.100.4"], "192.0.2.1:4000", &trusted),
            addr("198.51.100.4")
        );
        // IPv6 clients by /64; mapped IPv4 as IPv4, on either side.
        assert_eq!(
            key(&["[2001:db8::1]:443"], "192.0.2.1:4000", &trusted),
            addr("2001:db8::")
        );
        assert_eq!(
            key(
                &["::ffff:198.51.100.2"],
                "[::ffff:192.0.2.1]:4000",
                &trusted
            ),
            addr("198.51.100.2")
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_from_the_right() {
        let trusted = ["192.0.2.0/24", "10.0.0.0/8"];
        assert_eq!(
            key(
                &["203.0.113.7, 198.51.100.4, 10.1.1.1, 192.0.2.9"],
                "192.0.2.1:4000",
                &trusted
            ),
            addr("198.51.100.4")
        );
        // Every entry a proxy: the leftmost is the best known client.
        assert_eq!(
            key(&["10.1.1.1, 192.0.2.9"], "192.0.2.1:4000", &trusted),
            addr("10.1.1.1")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_good_address() {
        let trusted = ["192.0.2.0/24", "10.0.0.0/8"];
        for garbage in ["not an address", "", "203.0.113.7, ", "unknown"] {
            assert_eq!(
                key(&[garbage], "192.0.2.1:4000", &trusted),
                addr("192.0.2.1"),
                "{garbage:?}"
            );
        }
        assert_eq!(
            key(
                &["198.51.100.4, junk, 10.1.1.1"],
                "192.0.2.1:4000",
                &trusted
            ),
            addr("10.1.1.1")
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"198.51.100.4, \xff").unwrap(),
        );
        let trusted: Vec<Cidr> = vec!["192.0.2.0/24".parse().unwrap()];
        assert_eq!(
            client_key(&headers, "192.0.2.1:4000".parse().unwrap(), &trusted),
            addr("192.0.2.1")
        );
    }
}
