//! Read-your-own-status for the ExternalSecret controller.
//!
//! Why: a reconcile is handed the object from the watch cache, which can lag behind the status
//! the previous reconcile of the same object just wrote. A sync that writes the Secret
//! triggers the next reconcile at once (the Secret's watch event), often before the status
//! write has come back through the ExternalSecret watch. That reconcile then sees the old
//! `syncedResourceVersion`, takes the request (a `sync now`, a spec change) as not yet served,
//! syncs again, finds the Secret already up to date and overwrites the answer the request got
//! (`secret updated`) with `secret synced`, which `kubectl secrets sync now` may then print.
//!
//! Data flow: after each successful sync `write_status` records the status it wrote, by uid
//! ([`OwnStatus::wrote`]); each reconcile first passes its object through
//! [`OwnStatus::overlay`], which puts that status in place of the cached one exactly when the
//! record answers the object's current request (same generation and force-sync value) and the
//! cached status does not show it yet. Once the cache shows it, or the object asks for
//! something newer, the record is dropped, so the map holds only objects mid-write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use secrets_core::api::{ExternalSecret, ExternalSecretStatus};
use secrets_core::sync::schedule;

/// Statuses written and not yet seen in the watch cache, by object uid.
#[derive(Default)]
pub(super) struct OwnStatus {
    written: Mutex<HashMap<String, ExternalSecretStatus>>,
}

impl OwnStatus {
    /// Remember the status a successful sync of `es` wrote.
    pub(super) fn wrote(&self, es: &ExternalSecret, status: &ExternalSecretStatus) {
        if let Some(uid) = es.metadata.uid.clone() {
            self.lock().insert(uid, status.clone());
        }
    }

    /// `es` with the status we last wrote for its current request, when the cached copy does
    /// not show it yet; else `es` as it is.
    pub(super) fn overlay(&self, es: Arc<ExternalSecret>) -> Arc<ExternalSecret> {
        let Some(uid) = es.metadata.uid.as_deref() else {
            return es;
        };
        let mut written = self.lock();
        let Some(ours) = written.get(uid) else {
            return es;
        };
        let seen = es
            .status
            .as_ref()
            .and_then(|s| s.synced_resource_version.as_deref());
        let current = schedule::synced_version(&es);
        let answers_current = ours.synced_resource_version.as_deref() == Some(current.as_str());
        if !answers_current || seen == ours.synced_resource_version.as_deref() {
            // The cache caught up, or the object asks for something newer: ours is history.
            written.remove(uid);
            return es;
        }
        tracing::debug!(
            object = es.metadata.name.as_deref().unwrap_or_default(),
            "the watch cache does not show our last status yet; reconciling from it"
        );
        let mut fresher = (*es).clone();
        fresher.status = Some(ours.clone());
        Arc::new(fresher)
    }

    /// Forget a deleted object.
    pub(super) fn forget(&self, es: &ExternalSecret) {
        if let Some(uid) = es.metadata.uid.as_deref() {
            self.lock().remove(uid);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ExternalSecretStatus>> {
        // The map stays consistent whatever panicked while holding the lock.
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use secrets_core::sync::schedule::{Due, FORCE_SYNC};

    use super::*;

    fn object(force: &str, status: Option<ExternalSecretStatus>) -> Arc<ExternalSecret> {
        let mut es = ExternalSecret::new("db", Default::default());
        es.metadata.uid = Some("uid-1".into());
        es.metadata.generation = Some(1);
        es.metadata.annotations = Some([(FORCE_SYNC.to_owned(), force.to_owned())].into());
        es.status = status;
        Arc::new(es)
    }

    /// What a sync of `es` records.
    fn synced(es: &ExternalSecret, message: &str) -> ExternalSecretStatus {
        ExternalSecretStatus {
            synced_resource_version: Some(schedule::synced_version(es)),
            refresh_time: Some("2026-12-01T10:00:00Z".into()),
            conditions: vec![secrets_core::api::Condition::ready(
                true,
                "SecretSynced",
                message.to_owned(),
                &[],
                "2026-12-01T10:00:00Z",
            )],
            ..Default::default()
        }
    }

    fn due(es: &ExternalSecret) -> Due {
        schedule::due(es, Duration::from_secs(3600), Some(Duration::ZERO), false)
    }

    #[test]
    fn a_lagging_cache_does_not_make_a_served_request_look_pending() {
        let own = OwnStatus::default();
        // Synced once; then `sync now` set the annotation to 2, and a sync served it.
        let first = synced(&object("1", None), "secret created");
        let asked = object("2", Some(first.clone()));
        let served = synced(&asked, "secret updated");
        own.wrote(&asked, &served);

        // The next reconcile gets the cached copy with the status from before that write.
        // Alone, it would sync again (and overwrite "secret updated" with "secret synced").
        assert_eq!(due(&asked), Due::Changed { fresh: true });
        let seen = own.overlay(Arc::clone(&asked));
        assert_eq!(seen.status.as_ref(), Some(&served));
        assert!(matches!(due(&seen), Due::Later(_)));

        // The cache catches up: the record goes, the object is used as it is.
        let caught_up = object("2", Some(served.clone()));
        assert!(Arc::ptr_eq(
            &own.overlay(Arc::clone(&caught_up)),
            &caught_up
        ));
        assert!(own.lock().is_empty());
    }

    #[test]
    fn a_newer_request_is_never_hidden() {
        let own = OwnStatus::default();
        let asked = object("2", Some(synced(&object("1", None), "secret created")));
        own.wrote(&asked, &synced(&asked, "secret updated"));
        // Another `sync now` before the cache showed our write: it must be served.
        let again = object("3", asked.status.clone());
        let seen = own.overlay(Arc::clone(&again));
        assert!(Arc::ptr_eq(&seen, &again));
        assert_eq!(due(&seen), Due::Changed { fresh: true });
        assert!(own.lock().is_empty());
        // No uid, nothing recorded: untouched.
        let mut anonymous = (*again).clone();
        anonymous.metadata.uid = None;
        let anonymous = Arc::new(anonymous);
        assert!(Arc::ptr_eq(
            &own.overlay(Arc::clone(&anonymous)),
            &anonymous
        ));
    }
}
