//! Prometheus metrics (placeholder: being implemented; see the agent issue).

/// The agent's metrics registry.
#[derive(Debug, Default)]
pub struct Metrics {}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Metrics {
        Metrics {}
    }

    /// One reconcile finished: `controller` (`sealedsecret`), `result` (`success`/`error`).
    pub fn reconciled(&self, _controller: &str, _result: &str, _seconds: f64) {}

    /// A SealedSecret failed to unseal, by reason category.
    pub fn unseal_failed(&self, _reason: &'static str) {}

    /// Number of sealing keys loaded.
    pub fn set_keys(&self, _count: usize) {}

    /// When the newest key was made (for "seconds since last renewal").
    pub fn set_last_renewal(&self, _at: time::OffsetDateTime) {}

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        String::new()
    }
}
