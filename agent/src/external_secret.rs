//! The sync pattern: ExternalSecrets filled from SecretStores / ClusterSecretStores.
//!
//! ```text
//! SecretStore / ClusterSecretStore ──reflectors──▶ secret_store::Stores ──▶ Session (dyn Store)
//!        │ (validated by secret_store::status)                                │
//! ExternalSecret ──Controller──▶ reconcile::reconcile ──▶ secret_store::ReadCache ─┘
//!        ▲  requeued by: its Secret (label), its store, its own schedule      │
//!        └──────────── status::write (Ready, refreshTime; events) ◀───────────┘
//! ```
//!
//! Only the leader runs this (see `lead` in run/controller.rs); [`controller`] wires it. Every
//! provider call goes through one session per store and one shared read per (store, path,
//! version). The frame around each reconcile (span, metrics, backoff, status by server-side
//! apply, events) is [`crate::runtime`]'s.

mod controller;
mod own_status;
mod reconcile;
pub mod restart;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::Recorder;
use secrets_core::api::ExternalSecret;

pub use self::controller::{run, run_with};
use crate::metrics::Metrics;
use crate::runtime::{self, Backoff};
use crate::secret_store;

pub use crate::runtime::Error;

/// Settings of the sync controllers.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Concurrent ExternalSecret reconciles.
    pub concurrency: u16,
    /// Provider reads per second per store.
    pub store_rate: u32,
    /// Timeout of one provider call.
    pub provider_timeout: Duration,
    /// Share provider reads between objects (off only to measure ESO's pattern).
    pub share_reads: bool,
}

/// Shared by every ExternalSecret reconcile.
pub struct Context {
    pub(crate) client: kube::Client,
    pub(crate) stores: Arc<secret_store::Stores>,
    pub(crate) reads: secret_store::ReadCache,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) recorder: Recorder,
    failures: Backoff,
    /// Digest of the data we last wrote or saw, per Secret: drift shows as a mismatch. Kept in
    /// memory only (a digest of secret values is never published).
    written: Mutex<HashMap<(String, String), [u8; 32]>>,
    /// Statuses we wrote that the watch cache may not show yet.
    own_status: own_status::OwnStatus,
}

impl runtime::Shared for Context {
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn failures(&self) -> &Backoff {
        &self.failures
    }
}

impl runtime::Object for ExternalSecret {
    const CONTROLLER: &'static str = "externalsecret";
}

impl Context {
    pub(crate) fn remember(&self, namespace: &str, name: &str, secret: &Secret) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                (namespace.to_owned(), name.to_owned()),
                secret_digest(secret),
            );
    }

    pub(crate) fn forget(&self, namespace: &str, name: &str) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(namespace.to_owned(), name.to_owned()));
    }

    pub(crate) fn drifted(&self, namespace: &str, name: &str, secret: &Secret) -> bool {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(namespace.to_owned(), name.to_owned()))
            .is_some_and(|d| *d != secret_digest(secret))
    }
}

/// Digest of a Secret's data, as remembered for drift detection.
fn secret_digest(secret: &Secret) -> [u8; 32] {
    data_digest(secret.data.as_ref())
}

fn data_digest(data: Option<&BTreeMap<String, ByteString>>) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for (k, v) in data.into_iter().flatten() {
        ctx.update(&(k.len() as u64).to_be_bytes());
        ctx.update(k.as_bytes());
        ctx.update(&(v.0.len() as u64).to_be_bytes());
        ctx.update(&v.0);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::error_chain;

    #[test]
    fn error_chains_carry_every_cause_once() {
        let inner = std::io::Error::other("connection reset");
        let err = Error::Api {
            action: "writing the status",
            source: kube::Error::Service(Box::new(inner)),
        };
        let text = error_chain(&err);
        assert!(
            text.starts_with("writing the status: ") && text.contains("connection reset"),
            "{text}"
        );
        assert_eq!(text.matches("connection reset").count(), 1, "{text}");
    }

    #[test]
    fn data_digest_separates_keys_and_values() {
        let a: BTreeMap<String, ByteString> = [("ab".to_owned(), ByteString(b"c".to_vec()))].into();
        let b: BTreeMap<String, ByteString> = [("a".to_owned(), ByteString(b"bc".to_vec()))].into();
        assert_ne!(data_digest(Some(&a)), data_digest(Some(&b)));
    }
}
