//! The per-cluster cache of the agent's certificate, so `seal` still works when the agent is
//! briefly unreachable (a certificate is public; caching it exposes nothing).
//!
//! Data flow: `seal` fetches → [`store`] writes `<cache dir>/kubectl-secrets/certs/<key>.json`
//! (server URL, agent namespace and Service, cluster identity, fingerprint, PEM, fetch time)
//! atomically; when a later fetch fails, [`load`] reads it back. The file name is derived from
//! the server URL and the agent's name; the entry also records the cluster's identity (see
//! [`crate::cluster::Cluster::identity`]), because kind, k3d and minikube give a new cluster
//! the old one's address: an entry whose identity differs from the cluster's now is from
//! another cluster and must not be used ([`Entry::is_for`]).

use std::path::PathBuf;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::output::write_atomic;

/// What identifies a cache entry.
pub(crate) struct Key<'a> {
    pub(crate) server: &'a str,
    pub(crate) namespace: &'a str,
    pub(crate) service: &'a str,
    /// What the cluster is, known without its agent; `None` when it cannot be told.
    pub(crate) identity: Option<&'a str>,
}

/// A cached certificate.
#[derive(Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) server: String,
    pub(crate) namespace: String,
    pub(crate) service: String,
    /// Absent in entries written before identities were recorded: those match no cluster.
    #[serde(default)]
    pub(crate) identity: Option<String>,
    pub(crate) fingerprint: String,
    pub(crate) fetched_at: String,
    pub(crate) pem: String,
}

fn path(key: &Key<'_>) -> Option<PathBuf> {
    let raw = format!("{}_{}_{}", key.server, key.namespace, key.service);
    // Readable and filesystem-safe: every character outside [A-Za-z0-9.-] becomes '_'.
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dirs::cache_dir().map(|dir| {
        dir.join("kubectl-secrets")
            .join("certs")
            .join(format!("{name}.json"))
    })
}

/// The cached entry for `key`, if there is a readable one made for this very key.
pub(crate) fn load(key: &Key<'_>) -> Option<Entry> {
    let text = std::fs::read_to_string(path(key)?).ok()?;
    let entry: Entry = serde_json::from_str(&text).ok()?;
    (entry.server == key.server && entry.namespace == key.namespace && entry.service == key.service)
        .then_some(entry)
}

impl Entry {
    /// Was this entry made for the very cluster `key` names (not only the same address)?
    pub(crate) fn is_for(&self, key: &Key<'_>) -> bool {
        key.identity.is_some() && self.identity.as_deref() == key.identity
    }
}

/// Remember `pem` for `key`.
pub(crate) fn store(key: &Key<'_>, pem: &str, fingerprint: &str) -> anyhow::Result<()> {
    let path = path(key).context("no cache directory on this system")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let fetched_at = secrets_core::rfc3339::now();
    let entry = Entry {
        server: key.server.to_owned(),
        namespace: key.namespace.to_owned(),
        service: key.service.to_owned(),
        identity: key.identity.map(str::to_owned),
        fingerprint: fingerprint.to_owned(),
        fetched_at,
        pem: pem.to_owned(),
    };
    let text = serde_json::to_string_pretty(&entry).context("encoding the cache entry")?;
    write_atomic(&path, text.as_bytes(), Some(0o644))
}
