//! Per-call accounting: each GCP call ends in an outcome that goes to the store's observer
//! (the agent's `provider_calls_total{provider="gcpsm",call,status}`) and into counters tests
//! and benchmarks read.

use std::sync::atomic::{AtomicU64, Ordering};

/// A kind of call, one metric label each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// `versions/V:access`.
    Access,
    /// `versions?filter=state:ENABLED` (LatestOrFetch).
    Versions,
    /// `secrets/S` (metadataPolicy: Fetch).
    Metadata,
    /// `secrets` (browsing, store checks).
    List,
    /// STS token exchange.
    Sts,
    /// IAM Credentials `generateAccessToken`.
    Impersonate,
}

impl Call {
    /// Every call, in label order.
    pub const ALL: [Call; 6] = [
        Call::Access,
        Call::Versions,
        Call::Metadata,
        Call::List,
        Call::Sts,
        Call::Impersonate,
    ];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Access => "access",
            Call::Versions => "versions",
            Call::Metadata => "metadata",
            Call::List => "list",
            Call::Sts => "sts",
            Call::Impersonate => "impersonate",
        }
    }

    fn index(self) -> usize {
        match self {
            Call::Access => 0,
            Call::Versions => 1,
            Call::Metadata => 2,
            Call::List => 3,
            Call::Sts => 4,
            Call::Impersonate => 5,
        }
    }
}

/// Calls made per kind.
#[derive(Debug, Default)]
pub(crate) struct Counters([AtomicU64; 6]);

impl Counters {
    pub(crate) fn record(&self, call: Call) {
        if let Some(counter) = self.0.get(call.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn get(&self, call: Call) -> u64 {
        self.0
            .get(call.index())
            .map_or(0, |counter| counter.load(Ordering::Relaxed))
    }
}

/// The outcome label of a result.
pub(crate) fn outcome<T>(result: &Result<T, crate::GcpError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(err) if err.is_not_found() => "not_found",
        Err(_) => "error",
    }
}
