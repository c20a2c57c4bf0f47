//! Leader election on a coordination.k8s.io Lease (placeholder: being implemented).

use std::time::Duration;

use tokio::sync::watch;

/// Settings of the election.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Lease name.
    pub name: String,
    /// This replica's identity.
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub lease_duration: Duration,
    /// How often the holder renews.
    pub renew_every: Duration,
}

/// Run the election until `shutdown` flips to true; publish `true` on `leading` while this
/// replica holds the lease, `false` as soon as it does not. Releases the lease on shutdown.
pub async fn run(
    _client: kube::Client,
    _config: LeaseConfig,
    leading: watch::Sender<bool>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let _ = leading.send(true);
    let _ = shutdown.wait_for(|stop| *stop).await;
    let _ = leading.send(false);
    Ok(())
}
