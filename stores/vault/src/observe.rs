//! Per-call accounting: every API call ends in one [`Outcome`], which goes to the optional
//! observer (the agent feeds `provider_calls_total{provider="vault",call,status}` from it) and
//! into counters shared by all clones of a client (tests and benchmarks read them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::VaultError;

/// The kind of API call, one metric label value each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// A login (kubernetes, AppRole).
    Login,
    /// `auth/token/lookup-self` (also how a directly given token is checked).
    Lookup,
    /// `auth/token/renew-self`.
    Renew,
    /// A KV read.
    Read,
    /// A KV list.
    List,
    /// `auth/token/revoke-self`.
    Revoke,
    /// `sys/internal/ui/mounts/<path>`: a mount's engine and KV version.
    Mount,
}

impl Call {
    /// Every call kind, in label order.
    pub const ALL: [Call; 7] = [
        Call::Login,
        Call::Lookup,
        Call::Renew,
        Call::Read,
        Call::List,
        Call::Revoke,
        Call::Mount,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Call::Login => "login",
            Call::Lookup => "lookup",
            Call::Renew => "renew",
            Call::Read => "read",
            Call::List => "list",
            Call::Revoke => "revoke",
            Call::Mount => "mount",
        }
    }

    fn index(self) -> usize {
        match self {
            Call::Login => 0,
            Call::Lookup => 1,
            Call::Renew => 2,
            Call::Read => 3,
            Call::List => 4,
            Call::Revoke => 5,
            Call::Mount => 6,
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Vault answered with what was asked for.
    Ok,
    /// Vault answered that the secret is not there (kept apart from errors: it is a real
    /// answer, and the one that lets the agent delete data).
    NotFound,
    /// Anything else.
    Error,
}

impl Outcome {
    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::NotFound => "not_found",
            Outcome::Error => "error",
        }
    }

    pub(super) fn of<T>(result: &Result<T, VaultError>) -> Self {
        match result {
            Ok(_) => Outcome::Ok,
            Err(VaultError::NotFound { .. }) => Outcome::NotFound,
            Err(_) => Outcome::Error,
        }
    }
}

/// A callback told of every call's outcome. It runs on the calling task, so it must be quick
/// (bump a counter).
pub type Observer = Arc<dyn Fn(Call, Outcome) + Send + Sync>;

/// Calls made, per kind; shared by the clones of one client.
#[derive(Debug, Default)]
pub(super) struct Counters([AtomicU64; 7]);

impl Counters {
    pub(super) fn record(&self, call: Call) {
        if let Some(counter) = self.0.get(call.index()) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn get(&self, call: Call) -> u64 {
        self.0
            .get(call.index())
            .map_or(0, |counter| counter.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_call_has_its_own_counter() {
        let counters = Counters::default();
        counters.record(Call::Read);
        counters.record(Call::Read);
        counters.record(Call::Login);
        assert_eq!(counters.get(Call::Read), 2);
        assert_eq!(counters.get(Call::Login), 1);
        assert_eq!(counters.get(Call::List), 0);
        let labels: Vec<_> = Call::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            labels,
            [
                "login", "lookup", "renew", "read", "list", "revoke", "mount"
            ]
        );
    }
}
