//! The shared read cache: one provider read per (store, path, version) serves every
//! ExternalSecret that needs it within its reuse window. Concurrent requests for the same read
//! wait for the first one (a per-entry async lock), so a burst of new objects over one path
//! costs one read. Entries hold secret data (zeroized on drop) and are purged once older than
//! the longest reuse window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrets_core::eso::sync::{Answer, ReadKey, RemoteSecret};
use secrets_core::vault::{KvSecret, VaultError};
use time::OffsetDateTime;

use super::stores::{Session, StoreError, StoreKey};

/// Longest time a read is kept: the cap of the reuse window (see `eso::schedule`).
const RETAIN: Duration = Duration::from_secs(11 * 60);

/// One read's result.
pub(super) struct Fetched {
    /// When the read was sent (monotonic): the data is no older than this. A forced refresh
    /// compares it with its own start, so a read that was already under way when the refresh
    /// was asked for (and may predate the change it is after) never serves it.
    pub(super) at: Instant,
    /// When it was read (wall clock, for `status.refreshTime`).
    pub(super) wall: OffsetDateTime,
    /// The secret, or `None` when the provider said it does not exist.
    pub(super) secret: Option<KvSecret>,
}

impl Fetched {
    /// As the pure decision takes it.
    pub(super) fn answer(&self) -> Answer<'_> {
        match &self.secret {
            Some(s) => Answer::Found(s as &dyn RemoteSecret),
            None => Answer::Gone,
        }
    }
}

/// How urgently a read is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Urgency {
    /// First sync or forced refresh: waits for the rate limiter.
    Urgent,
    /// A periodic refresh: yields to urgent reads.
    Refresh,
}

/// Why a read gave no answer.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReadError {
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
pub(super) struct ReadCache {
    slots: Mutex<HashMap<(StoreKey, ReadKey), Slot>>,
    inserts: std::sync::atomic::AtomicU64,
}

impl ReadCache {
    /// A read no older than `window`, and not older than `not_before` when given (a forced
    /// refresh accepts only reads made after it started).
    pub(super) async fn get(
        &self,
        session: &Session,
        read: &ReadKey,
        window: Duration,
        not_before: Option<Instant>,
        urgency: Urgency,
    ) -> Result<Arc<Fetched>, ReadError> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((session.key.clone(), read.clone()))
            .or_default()
            .clone();
        let mut entry = slot.lock().await;
        if let Some(f) = entry.as_ref()
            && f.at.elapsed() <= window
            && not_before.is_none_or(|t| f.at >= t)
        {
            return Ok(f.clone());
        }
        match urgency {
            Urgency::Urgent => session.limiter.take_urgent().await,
            Urgency::Refresh => session.limiter.try_take().map_err(ReadError::Throttled)?,
        }
        let sent = Instant::now();
        let secret = match session.read(&read.key, read.version).await {
            Ok(s) => Some(s),
            Err(StoreError::Vault(VaultError::NotFound { .. })) => None,
            Err(e) => return Err(e.into()),
        };
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
