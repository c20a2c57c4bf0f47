//! The shared read cache, for any store: one provider read per (identity, path, version) serves
//! every ExternalSecret that needs it within its reuse window. The identity is the store object
//! and the credentials it reads with, so one identity's read is never served to another.
//! Concurrent requests for the same read wait for the first one (a per-entry async lock), so a
//! burst of new objects over one path costs one read. Entries hold secret data (zeroized on
//! drop); the data is dropped once older than the longest reuse window, the entry itself once
//! no object has asked for it for two of its intervals.
//!
//! Stores whose reads go out together ([`Store::coalesces`]: AWS `BatchGetSecretValue`) get
//! one more thing. When a periodic refresh misses the cache, the identity's other wanted keys
//! whose reads are nearly too old for their own refreshes are read beside it, in the same
//! calls. Objects spread by their jitter then find their reads done, and from that cycle on
//! every key of the identity is read in one round of batch calls per interval, not one call
//! per key as its first object falls due.
//!
//! With sharing off (`--read-cache=false`, only to measure ESO's pattern) every request reads.
//!
//! [`Store::coalesces`]: secrets_core::store::Store::coalesces

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrets_core::store::{RemoteValue, StoreError};
use secrets_core::sync::decide::{Answer, ReadKey, RemoteSecret};
use secrets_core::sync::schedule;
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

/// Another read of the identity, to refresh beside one being sent: its key, slot, interval.
type Sibling = (ReadKey, Slot, Duration);

/// What a request asks of the cache.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask {
    /// The object's refresh interval (the reuse window and how long its interest lasts).
    pub(crate) interval: Duration,
    /// How urgently.
    pub(crate) urgency: Urgency,
    /// Accept only reads sent at or after this (a forced refresh's start).
    pub(crate) not_before: Option<Instant>,
}

impl Ask {
    fn window(&self) -> Duration {
        schedule::reuse_window(self.interval, self.urgency == Urgency::Refresh)
    }
}

/// One (identity, read) the cache knows.
struct Entry {
    slot: Slot,
    /// When an object last asked for it, and the longest interval it was asked with.
    wanted: Instant,
    interval: Duration,
}

impl Entry {
    /// Someone still asks for it: within two of its intervals (and the jitter), plus the
    /// retention of its data.
    fn wanted(&self) -> bool {
        self.wanted.elapsed() <= self.interval * 2 + self.interval / 10 + RETAIN
    }

    /// Its read will soon be too old for its objects' periodic refreshes: older than their
    /// reuse window less the jitter spread (but at least that spread, so a read just made is
    /// never made again).
    fn due_soon(fetched: Option<&Fetched>, interval: Duration) -> bool {
        let spread = interval / 10;
        let threshold = schedule::reuse_window(interval, true)
            .saturating_sub(spread)
            .max(spread);
        fetched.is_none_or(|f| f.at.elapsed() > threshold)
    }
}

/// The cache.
pub(crate) struct ReadCache {
    entries: Mutex<HashMap<Identity, HashMap<ReadKey, Entry>>>,
    inserts: std::sync::atomic::AtomicU64,
    /// Share reads between objects (off only to measure ESO's pattern).
    shared: bool,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache::new(true)
    }
}

impl ReadCache {
    /// A cache; `shared: false` makes every request read.
    pub(crate) fn new(shared: bool) -> Self {
        ReadCache {
            entries: Mutex::new(HashMap::new()),
            inserts: Default::default(),
            shared,
        }
    }

    /// A read no older than the ask's reuse window, and not older than its `not_before` when
    /// given (a forced refresh accepts only reads sent after it started).
    pub(crate) async fn get(
        &self,
        session: &Session,
        read: &ReadKey,
        ask: Ask,
    ) -> Result<Arc<Fetched>, ReadError> {
        if !self.shared {
            let (at, secret) = Self::send(session, read, ask.urgency).await?;
            return Ok(Arc::new(Fetched {
                at,
                wall: OffsetDateTime::now_utc(),
                secret,
            }));
        }
        let slot = self.slot(&session.identity, read, ask.interval);
        let prefetch = ask.urgency == Urgency::Refresh && session.store.coalesces(read);
        self.fill(&slot, ask.window(), ask.not_before, || async {
            if !prefetch {
                return Self::send(session, read, ask.urgency).await;
            }
            // Sent together, so the store's collector puts them in the same calls.
            let siblings = self.due_siblings(session, read);
            let (own, ()) = futures::future::join(
                Self::send(session, read, ask.urgency),
                self.refresh_all(session, siblings),
            )
            .await;
            own
        })
        .await
    }

    /// One provider call through the session's rate limit: when it was sent, and the secret
    /// (`None`: the store says it does not exist).
    async fn send(
        session: &Session,
        read: &ReadKey,
        urgency: Urgency,
    ) -> Result<(Instant, Option<RemoteValue>), ReadError> {
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
    }

    fn slot(&self, identity: &Identity, read: &ReadKey, interval: Duration) -> Slot {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries
            .entry(identity.clone())
            .or_default()
            .entry(read.clone())
            .or_insert_with(|| Entry {
                slot: Slot::default(),
                wanted: Instant::now(),
                interval,
            });
        entry.wanted = Instant::now();
        entry.interval = entry.interval.max(interval);
        entry.slot.clone()
    }

    /// The identity's other wanted reads that coalesce and will soon be due, with their
    /// slots. Slots in use (a read under way) are left to it.
    fn due_siblings(&self, session: &Session, read: &ReadKey) -> Vec<Sibling> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Some(reads) = entries.get(&session.identity) else {
            return Vec::new();
        };
        reads
            .iter()
            .filter(|(k, e)| *k != read && e.wanted() && session.store.coalesces(k))
            .filter(|(_, e)| {
                e.slot
                    .try_lock()
                    .is_ok_and(|f| Entry::due_soon(f.as_deref(), e.interval))
            })
            .map(|(k, e)| (k.clone(), e.slot.clone(), e.interval))
            .collect()
    }

    /// Read each of `siblings` into its slot, as periodic refreshes (a throttled one is left
    /// for its own objects, as is a failure: they report it).
    async fn refresh_all(&self, session: &Session, siblings: Vec<Sibling>) {
        let reads = siblings
            .into_iter()
            .map(|(read, slot, interval)| async move {
                let Ok(mut entry) = slot.try_lock_owned() else {
                    return; // an object's own read got there first
                };
                if !Entry::due_soon(entry.as_deref(), interval) {
                    return; // and answered already
                }
                if let Ok((at, secret)) = Self::send(session, &read, Urgency::Refresh).await {
                    *entry = Some(Arc::new(Fetched {
                        at,
                        wall: OffsetDateTime::now_utc(),
                        secret,
                    }));
                }
            });
        futures::future::join_all(reads).await;
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

    /// Drop data older than [`RETAIN`] and entries no one asks for any more.
    fn purge(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, reads| {
            reads.retain(|_, e| {
                let Ok(mut fetched) = e.slot.try_lock() else {
                    return true; // in use
                };
                if fetched.as_ref().is_some_and(|f| f.at.elapsed() > RETAIN) {
                    *fetched = None;
                }
                e.wanted()
            });
            !reads.is_empty()
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
        cache.slot(&store, &read, HOUR)
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
