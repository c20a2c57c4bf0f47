//! The shared read cache, for any store: one provider read per (identity, path, version) serves
//! every ExternalSecret that needs it within its reuse window. The identity is the store object
//! and the credentials it reads with, so one identity's read is never served to another. Concurrent requests for the same read
//! wait for the first one (a per-entry async lock), so a burst of new objects over one path
//! costs one read. Entries hold secret data (zeroized on drop) and are purged once older than
//! the longest reuse window.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrets_core::store::{RemoteValue, StoreError};
use secrets_core::sync::decide::{Answer, ReadKey, RemoteSecret};
use time::OffsetDateTime;

use super::session::{Identity, Session};

/// Longest time a read is kept: past the cap of the reuse window
/// (`secrets_core::sync::schedule::MAX_REUSE`).
const RETAIN: Duration = Duration::from_secs(11 * 60);

/// One read's result.
pub(crate) struct Fetched {
    /// When the read was sent (monotonic): the data is no older than this. A forced refresh
    /// compares it with its own start, so a read that was already under way when the refresh
    /// was asked for (and may predate the change it is after) never serves it.
    pub(crate) at: Instant,
    /// When it was read (wall clock, for `status.refreshTime`).
    pub(crate) wall: OffsetDateTime,
    /// The secret, or `None` when the provider said it does not exist.
    pub(crate) secret: Option<RemoteValue>,
}

impl Fetched {
    /// As the pure decision takes it.
    pub(crate) fn answer(&self) -> Answer<'_> {
        match &self.secret {
            Some(s) => Answer::Found(s as &dyn RemoteSecret),
            None => Answer::Gone,
        }
    }
}

/// How urgently a read is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Urgency {
    /// First sync or forced refresh: waits for the rate limiter.
    Urgent,
    /// A periodic refresh: yields to urgent reads.
    Refresh,
}

/// Why a read gave no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The store's rate limit: come back after this long.
    #[error("rate limited by the store; retrying in {0:?}")]
    Throttled(Duration),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Fetched>>>>;

/// The cache.
#[derive(Default)]
pub(crate) struct ReadCache {
    slots: Mutex<HashMap<(Identity, ReadKey), Slot>>,
    inserts: std::sync::atomic::AtomicU64,
}

impl ReadCache {
    /// A read no older than `window`, and not older than `not_before` when given (a forced
    /// refresh accepts only reads sent after it started).
    pub(crate) async fn get(
        &self,
        session: &Session,
        read: &ReadKey,
        window: Duration,
        not_before: Option<Instant>,
        urgency: Urgency,
    ) -> Result<Arc<Fetched>, ReadError> {
        let slot = self.slot(&session.identity, read);
        self.fill(&slot, window, not_before, || async {
            match urgency {
                Urgency::Urgent => session.limiter.take_urgent().await,
                Urgency::Refresh => session.limiter.try_take().map_err(ReadError::Throttled)?,
            }
            let sent = Instant::now();
            match session.read(read).await {
                Ok(s) => Ok((sent, Some(s))),
                Err(e) if e.is_not_found() => Ok((sent, None)),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    fn slot(&self, identity: &Identity, read: &ReadKey) -> Slot {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((identity.clone(), read.clone()))
            .or_default()
            .clone()
    }

    /// The rule of [`ReadCache::get`] with the provider call given: `read` answers when it
    /// sent the request, and what came back. Callers of one slot queue on its lock, so a
    /// waiter sees the read it waited for and takes it only if that read was fresh enough.
    async fn fill<F, Fut>(
        &self,
        slot: &Slot,
        window: Duration,
        not_before: Option<Instant>,
        read: F,
    ) -> Result<Arc<Fetched>, ReadError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Instant, Option<RemoteValue>), ReadError>>,
    {
        let mut entry = slot.lock().await;
        if let Some(f) = entry.as_ref()
            && f.at.elapsed() <= window
            && not_before.is_none_or(|t| f.at >= t)
        {
            return Ok(f.clone());
        }
        let (sent, secret) = read().await?;
        let fetched = Arc::new(Fetched {
            at: sent,
            wall: OffsetDateTime::now_utc(),
            secret,
        });
        *entry = Some(fetched.clone());
        drop(entry);
        if self
            .inserts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % 256
            == 255
        {
            self.purge();
        }
        Ok(fetched)
    }

    fn purge(&self) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.retain(|_, slot| match slot.try_lock() {
            Ok(entry) => entry.as_ref().is_some_and(|f| f.at.elapsed() <= RETAIN),
            Err(_) => true, // in use
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use secrets_core::api::secret_store::StoreKind;
    use tokio::sync::oneshot;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn slot(cache: &ReadCache) -> Slot {
        let store = Identity {
            store: super::super::session::StoreKey {
                kind: StoreKind::SecretStore,
                namespace: "team".into(),
                name: "vault".into(),
            },
            credentials: "token".into(),
        };
        let read = ReadKey {
            key: "app/db".into(),
            version: None,
            metadata: false,
        };
        cache.slot(&store, &read)
    }

    #[tokio::test]
    async fn a_forced_read_never_takes_a_read_sent_before_it_was_asked_for() {
        let cache = Arc::new(ReadCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        // An ordinary read is sent, and is slow to answer.
        let (sent_tx, sent_rx) = oneshot::channel();
        let (answer_tx, answer_rx) = oneshot::channel::<()>();
        let slow = tokio::spawn({
            let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
            async move {
                cache
                    .fill(&slot(&cache), HOUR, None, || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        let sent = Instant::now();
                        let _ = sent_tx.send(());
                        let _ = answer_rx.await;
                        Ok((sent, None))
                    })
                    .await
            }
        });
        sent_rx.await.unwrap();
        // Now a forced refresh starts (`sync now` after a change in the store): it queues
        // behind the slow read, which then answers, with what it read before the change.
        let forced_at = Instant::now();
        let forced = tokio::spawn({
            let (cache, calls) = (Arc::clone(&cache), Arc::clone(&calls));
            async move {
                cache
                    .fill(&slot(&cache), HOUR, Some(forced_at), || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Ok((Instant::now(), None))
                    })
                    .await
            }
        });
        answer_tx.send(()).unwrap();
        let slow = slow.await.unwrap().unwrap();
        let forced = forced.await.unwrap().unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the forced refresh read again"
        );
        assert!(!Arc::ptr_eq(&slow, &forced));
        assert!(forced.at >= forced_at);

        // An unforced caller within the window shares the newest read.
        let shared = cache
            .fill(&slot(&cache), HOUR, None, || async {
                panic!("served from the cache")
            })
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&shared, &forced));
        // A forced refresh that started after that read was sent takes it too.
        let again = cache
            .fill(&slot(&cache), HOUR, Some(forced.at), || async {
                panic!("served from the cache")
            })
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&again, &forced));
    }
}
