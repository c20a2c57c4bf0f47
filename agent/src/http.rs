//! The HTTP API (placeholder: being implemented; see the agent issue).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use secrets_core::keys::KeyRing;
use tokio::sync::watch;

use crate::metrics::Metrics;

/// What the API serves from.
#[derive(Clone)]
pub struct ApiState {
    /// The current key ring (replaced whenever keys change).
    pub keys: watch::Receiver<Arc<KeyRing>>,
    /// True once keys are loaded and the watches have synced.
    pub ready: watch::Receiver<bool>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Requests per second allowed on /v1/verify and /v1/rotate, per client.
    pub api_rate: u32,
}

/// Serve the API on `addr` until `shutdown` resolves.
pub async fn serve_api(
    _addr: SocketAddr,
    _state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    shutdown.await;
    Ok(())
}

/// Serve `/metrics` on `addr` until `shutdown` resolves.
pub async fn serve_metrics(
    _addr: SocketAddr,
    _metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    shutdown.await;
    Ok(())
}
