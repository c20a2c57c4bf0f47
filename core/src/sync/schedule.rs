//! When an ExternalSecret must be read again, pure.
//!
//! Refreshes are *aligned to the shared read*: `status.refreshTime` is the time the provider
//! data was read (possibly for another object), and the next refresh is that time plus the
//! interval plus a per-object jitter in `[0, interval/10)`. Every object sharing a read thus
//! comes due within one tenth of the interval after it, and a read is reused for that long
//! ([`reuse_window`]), so one provider read serves them all, cycle after cycle, while the
//! objects themselves are spread out rather than reconciled in one burst.

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

/// How old a cached read may be and still serve a refresh with this interval.
pub fn reuse_window(interval: Duration) -> Duration {
    interval / 10
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
