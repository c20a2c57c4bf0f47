//! When an ExternalSecret must be read again, pure.
//!
//! Refreshes are *aligned to the shared read*: `status.refreshTime` is the time the provider
//! data was read (possibly for another object), and the next refresh is that time plus the
//! interval plus a per-object jitter in `[0, interval/10)`. Every object sharing a read thus
//! comes due within one tenth of the interval after it, so one provider read serves them all,
//! cycle after cycle, while the objects themselves are spread out rather than reconciled in one
//! burst.
//!
//! The window a *periodic* refresh reuses a read for ([`reuse_window`]) is wider than that
//! spread, on purpose: the first object due sends the read, and the others of its group reach
//! the cache one jitter difference later *plus however late their reconciles run* (a queue
//! under load, a slow API server). Were the window only the jitter spread, any lateness would
//! make the last of a group read again. And objects of one path whose previous reads were
//! apart (a burst of first syncs wider than the first-sync window) take the group's read too
//! and so join its schedule, instead of costing a read of their own every cycle. Reusing an
//! older read never makes an object's data staler than its interval: `refreshTime` records
//! when that read was sent, and the next refresh is due from it.

use std::time::Duration;

use crate::api::external_secret::{ExternalSecret, RefreshPolicy};

/// Annotation whose new value forces a refresh that bypasses the read cache.
pub const FORCE_SYNC: &str = "kubectl-secrets.io/force-sync";

/// Why a refresh happens now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Never synced: goes ahead of refreshes.
    First,
    /// The spec or the force-sync annotation changed; `fresh` when a cached read must not be
    /// used (force-sync).
    Changed {
        /// Bypass the read cache.
        fresh: bool,
    },
    /// The interval has passed.
    Periodic,
    /// The Secret is missing: re-create it (cached reads are fine).
    Repair,
    /// Not now; look again after this long (`None`: only when something changes).
    Later(Option<Duration>),
}

/// The version of the object a sync answers to: generation plus the force-sync value.
pub fn synced_version(es: &ExternalSecret) -> String {
    let force = es
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(FORCE_SYNC))
        .map(String::as_str)
        .unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, force.as_bytes());
    let short: String = digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{short}", es.metadata.generation.unwrap_or(0))
}

/// Per-object jitter in `[0, interval/10)`, stable for the object (from its uid).
pub fn jitter(es: &ExternalSecret, interval: Duration) -> Duration {
    let uid = es.metadata.uid.as_deref().unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, uid.as_bytes());
    let mut word = [0u8; 8];
    word.copy_from_slice(&digest.as_ref()[..8]);
    let fraction = u64::from_be_bytes(word) as f64 / u64::MAX as f64;
    (interval / 10).mul_f64(fraction)
}

/// Longest reuse window of any refresh (the read cache keeps reads a little longer).
pub const MAX_REUSE: Duration = Duration::from_secs(10 * 60);

/// How old a cached read may be and still serve a refresh with this interval: a tenth of it
/// for first syncs, repairs and spec changes (they want data about as fresh as a read), half
/// of it for a periodic refresh (see the module docs); at most [`MAX_REUSE`].
pub fn reuse_window(interval: Duration, periodic: bool) -> Duration {
    let window = if periodic {
        interval / 2
    } else {
        interval / 10
    };
    window.min(MAX_REUSE)
}

/// How long after the read a sync used (`since_read` ago, as `status.refreshTime` records it)
/// the object is next due: the requeue is anchored to the read, not to the end of the sync.
pub fn next_refresh(es: &ExternalSecret, interval: Duration, since_read: Duration) -> Duration {
    (interval + jitter(es, interval)).saturating_sub(since_read)
}

/// Decide whether to refresh, given seconds since the last read (`since_read`, none = never)
/// and whether the target Secret exists (where the policy writes one).
pub fn due(
    es: &ExternalSecret,
    interval: Duration,
    since_read: Option<Duration>,
    secret_missing: bool,
) -> Due {
    let Some(since) = since_read else {
        return Due::First;
    };
    let status = es.status.as_ref();
    let policy = es.spec.refresh_policy.unwrap_or_default();
    let synced = status.and_then(|s| s.synced_resource_version.as_deref());
    let current = synced_version(es);
    if policy != RefreshPolicy::CreatedOnce && synced != Some(current.as_str()) {
        // The part after the generation is the force-sync value's digest.
        let force = |v: &str| v.split_once('-').map(|(_, f)| f.to_owned());
        let old_force = synced.and_then(force);
        let new_force = force(&current);
        return Due::Changed {
            fresh: old_force != new_force,
        };
    }
    if secret_missing {
        return Due::Repair;
    }
    if policy != RefreshPolicy::Periodic || interval.is_zero() {
        return Due::Later(None);
    }
    let next = interval + jitter(es, interval);
    match next.checked_sub(since) {
        None | Some(Duration::ZERO) => Due::Periodic,
        Some(left) => Due::Later(Some(left)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ExternalSecretStatus;

    fn es(uid: &str, generation: i64, force: Option<&str>) -> ExternalSecret {
        let mut es = ExternalSecret::new("app", Default::default());
        es.metadata.uid = Some(uid.into());
        es.metadata.generation = Some(generation);
        if let Some(f) = force {
            es.metadata.annotations = Some([(FORCE_SYNC.to_owned(), f.to_owned())].into());
        }
        es
    }

    fn synced(mut es: ExternalSecret) -> ExternalSecret {
        es.status = Some(ExternalSecretStatus {
            synced_resource_version: Some(synced_version(&es)),
            ..Default::default()
        });
        es
    }

    const H: Duration = Duration::from_secs(3600);

    #[test]
    fn never_synced_goes_first() {
        assert_eq!(due(&es("a", 1, None), H, None, true), Due::First);
    }

    #[test]
    fn spec_change_refreshes_with_cache_and_force_sync_without() {
        let mut o = synced(es("a", 1, None));
        o.metadata.generation = Some(2);
        assert_eq!(
            due(&o, H, Some(Duration::ZERO), false),
            Due::Changed { fresh: false }
        );
        let mut o = synced(es("a", 1, Some("1")));
        o.metadata.annotations = Some([(FORCE_SYNC.to_owned(), "2".to_owned())].into());
        assert_eq!(
            due(&o, H, Some(Duration::ZERO), false),
            Due::Changed { fresh: true }
        );
    }

    #[test]
    fn periodic_refresh_after_interval_plus_jitter() {
        let o = synced(es("a", 1, None));
        let j = jitter(&o, H);
        assert!(j < H / 10);
        assert_eq!(due(&o, H, Some(H / 2), false), Due::Later(Some(H / 2 + j)));
        assert_eq!(due(&o, H, Some(H + j), false), Due::Periodic);
        assert_eq!(due(&o, H, Some(H / 2), true), Due::Repair);
    }

    #[test]
    fn jitter_differs_between_objects_and_is_stable() {
        let js: std::collections::BTreeSet<_> = (0..50)
            .map(|i| jitter(&es(&format!("uid-{i}"), 1, None), H))
            .collect();
        assert!(js.len() > 45, "jitter spreads objects");
        assert_eq!(jitter(&es("x", 1, None), H), jitter(&es("x", 9, None), H));
    }

    /// Ten objects over one path, refreshed for `cycles` intervals through a read cache that
    /// reuses a read for `window`: the times (from the start) of the provider reads. Half of
    /// them were first synced 3 s after the others (a burst of first syncs), and each
    /// reconcile runs late by 0, 0.4 or 0.8 s (a busy queue), all deterministic.
    fn simulate(interval: Duration, window: Duration, cycles: u32) -> Vec<Duration> {
        let ms = Duration::from_millis;
        let objects: Vec<ExternalSecret> = (0..10)
            .map(|i| synced(es(&format!("uid-{i}"), 1, None)))
            .collect();
        // refreshTime (to the second, as status holds it) and the next wake-up, per object.
        let late = |i: usize| ms(400 * (i as u64 % 3));
        let mut read_at: Vec<Duration> =
            (0..10).map(|i| ms(if i < 5 { 0 } else { 3000 })).collect();
        let mut wake: Vec<Duration> = (0..10)
            .map(|i| read_at[i] + next_refresh(&objects[i], interval, Duration::ZERO) + late(i))
            .collect();
        let mut cache: Option<Duration> = None;
        let mut reads = Vec::new();
        let end = interval * cycles;
        loop {
            let (i, &now) = wake.iter().enumerate().min_by_key(|(_, w)| **w).unwrap();
            if now > end {
                return reads;
            }
            let since = now - Duration::from_secs(read_at[i].as_secs());
            assert_eq!(
                due(&objects[i], interval, Some(since), false),
                Due::Periodic
            );
            let sent = match cache {
                Some(sent) if now - sent <= window => sent,
                _ => {
                    reads.push(now);
                    cache = Some(now);
                    now
                }
            };
            read_at[i] = sent;
            let since = now - Duration::from_secs(sent.as_secs());
            wake[i] = now
                + next_refresh(&objects[i], interval, since).max(Duration::from_secs(1))
                + late(i);
        }
    }

    #[test]
    fn a_group_shares_one_read_per_cycle_though_reconciles_run_late() {
        let interval = Duration::from_secs(20);
        // A window no wider than the jitter spread: late reconciles and the later half of the
        // first syncs read again, cycle after cycle.
        let narrow = simulate(interval, interval / 10, 10);
        assert!(narrow.len() > 10, "the race reproduces: {narrow:?}");
        // The periodic window: one read per cycle, the groups merged from the first cycle on.
        let reads = simulate(interval, reuse_window(interval, true), 10);
        // Exactly one read per cycle: consecutive reads are an interval apart (less the
        // second refreshTime drops, plus the first jitter and lateness), the first one cycle in.
        let second = Duration::from_secs(1);
        assert_eq!(reads.len(), 9, "{reads:?}");
        assert!(
            reads.windows(2).all(|w| w[1] - w[0] >= interval - second
                && w[1] - w[0] <= interval + interval / 10 + second),
            "{reads:?}"
        );
        // First syncs and repairs keep the narrow window; every window is capped.
        assert_eq!(reuse_window(interval, false), interval / 10);
        assert_eq!(reuse_window(Duration::from_secs(86_400), true), MAX_REUSE);
    }

    #[test]
    fn the_next_refresh_counts_from_the_read() {
        let o = synced(es("a", 1, None));
        let j = jitter(&o, H);
        assert_eq!(next_refresh(&o, H, Duration::ZERO), H + j);
        assert_eq!(
            next_refresh(&o, H, Duration::from_secs(90)),
            H + j - Duration::from_secs(90)
        );
        assert_eq!(next_refresh(&o, H, H * 2), Duration::ZERO);
    }

    #[test]
    fn zero_interval_and_other_policies_wait_for_changes() {
        let o = synced(es("a", 1, None));
        assert_eq!(
            due(&o, Duration::ZERO, Some(H * 9), false),
            Due::Later(None)
        );
        let mut once = synced(es("a", 1, None));
        once.spec.refresh_policy = Some(RefreshPolicy::CreatedOnce);
        once.metadata.generation = Some(5);
        assert_eq!(due(&once, H, Some(H * 9), false), Due::Later(None));
        let mut on_change = synced(es("a", 1, None));
        on_change.spec.refresh_policy = Some(RefreshPolicy::OnChange);
        assert_eq!(due(&on_change, H, Some(H * 9), false), Due::Later(None));
    }
}
