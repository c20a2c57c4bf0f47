//! Test control: injected faults (latency, a fixed status, an error rate) per resource and
//! verb, request counts per resource and verb, and the canned answers of [`crate::canned`]
//! (the authorization table, extra health checks, extra metrics). Reachable from Rust through
//! [`Control`] and over HTTP under `/_standin/` (see the README).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::canned::{AuthzTable, HealthCheck};

/// One fault rule; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// Plural resource, with `/subresource` if any (`secrets`, `sealedsecrets/status`).
    #[serde(default)]
    pub resource: Option<String>,
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `proxy`, ...
    #[serde(default)]
    pub verb: Option<String>,
    /// Delay before answering, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Answer with this HTTP status (a `Status` object) instead of doing the request.
    #[serde(default)]
    pub status: Option<u16>,
    /// Fraction of matching requests (0.0–1.0) that fail; with no `status`, they get 500.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// Apply to this many matching requests, then retire the rule.
    #[serde(default)]
    pub times: Option<u32>,
}

impl Fault {
    fn matches(&self, resource: &str, verb: &str) -> bool {
        self.resource.as_deref().is_none_or(|r| r == resource)
            && self.verb.as_deref().is_none_or(|v| v == verb)
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    /// Sleep this long first.
    pub delay: Duration,
    /// Then fail with this status, if set.
    pub fail_with: Option<u16>,
}

/// Faults and counters, shared by the server and the test.
#[derive(Debug, Default)]
pub struct Control {
    faults: Mutex<Vec<Fault>>,
    counts: Mutex<BTreeMap<(String, String), u64>>,
    authz: Mutex<AuthzTable>,
    health_checks: Mutex<Vec<HealthCheck>>,
    metrics: Mutex<String>,
}

impl Control {
    /// Add a fault rule.
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults).push(fault);
    }

    /// Remove every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// The active rules.
    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.faults).clone()
    }

    /// Count a request and decide its fate.
    pub fn on_request(&self, resource: &str, verb: &str) -> Decision {
        *lock(&self.counts)
            .entry((resource.to_owned(), verb.to_owned()))
            .or_default() += 1;
        let mut faults = lock(&self.faults);
        let mut decision = Decision::default();
        for fault in faults.iter_mut().filter(|f| f.matches(resource, verb)) {
            if fault.times == Some(0) {
                continue;
            }
            let fires = match fault.error_rate {
                Some(rate) => random_unit() < rate,
                None => fault.status.is_some(),
            };
            decision.delay += Duration::from_millis(fault.latency_ms);
            if fires && decision.fail_with.is_none() {
                decision.fail_with = Some(fault.status.unwrap_or(500));
            }
            if let Some(times) = &mut fault.times {
                *times -= 1;
            }
        }
        faults.retain(|f| f.times != Some(0));
        decision
    }

    /// Requests seen for one resource and verb.
    pub fn count(&self, resource: &str, verb: &str) -> u64 {
        lock(&self.counts)
            .get(&(resource.to_owned(), verb.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// All counts, as `{ "resource": { "verb": n } }`.
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let mut out: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((resource, verb), n) in lock(&self.counts).iter() {
            out.entry(resource.clone())
                .or_default()
                .insert(verb.clone(), *n);
        }
        out
    }

    /// Forget all counts.
    pub fn reset_counts(&self) {
        lock(&self.counts).clear();
    }

    /// Replace the table SubjectAccessReviews are answered from.
    pub fn set_authz(&self, table: AuthzTable) {
        *lock(&self.authz) = table;
    }

    /// The table SubjectAccessReviews are answered from.
    pub fn authz(&self) -> AuthzTable {
        lock(&self.authz).clone()
    }

    /// Replace the extra checks of `/healthz`, `/livez` and `/readyz`.
    pub fn set_health_checks(&self, checks: Vec<HealthCheck>) {
        *lock(&self.health_checks) = checks;
    }

    /// The extra health checks.
    pub fn health_checks(&self) -> Vec<HealthCheck> {
        lock(&self.health_checks).clone()
    }

    /// Replace the series `/metrics` serves after its defaults (Prometheus text).
    pub fn set_metrics(&self, text: impl Into<String>) {
        *lock(&self.metrics) = text.into();
    }

    /// The series `/metrics` serves after its defaults.
    pub fn metrics(&self) -> String {
        lock(&self.metrics).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_match_count_and_retire() {
        let control = Control::default();
        control.inject(Fault {
            resource: Some("secrets".into()),
            verb: Some("create".into()),
            status: Some(503),
            times: Some(2),
            ..Fault::default()
        });
        control.inject(Fault {
            verb: Some("list".into()),
            latency_ms: 5,
            ..Fault::default()
        });
        assert_eq!(control.on_request("secrets", "create").fail_with, Some(503));
        assert_eq!(
            control.on_request("configmaps", "create"),
            Decision::default()
        );
        assert_eq!(control.on_request("secrets", "create").fail_with, Some(503));
        assert_eq!(
            control.on_request("secrets", "create").fail_with,
            None,
            "retired after 2"
        );
        assert_eq!(
            control.on_request("secrets", "list").delay,
            Duration::from_millis(5)
        );
        assert_eq!(control.count("secrets", "create"), 3);
        assert_eq!(control.counts()["secrets"]["list"], 1);
        control.inject(Fault {
            error_rate: Some(1.0),
            ..Fault::default()
        });
        assert_eq!(control.on_request("x", "get").fail_with, Some(500));
        control.inject(Fault {
            error_rate: Some(0.0),
            status: Some(429),
            ..Fault::default()
        });
        control.clear_faults();
        assert_eq!(control.on_request("x", "get").fail_with, None);
    }
}
