//! `secrets-agent`: the in-cluster half of kubectl-secrets.
//!
//! Data flow of `controller`: the key manager ([`keys`]) watches the key Secrets in the agent
//! namespace and publishes a [`KeyRing`](secrets_core::keys::KeyRing) on a watch channel; the
//! HTTP API ([`http`]) serves the newest certificate and verify/rotate from that ring on every
//! replica; the leader ([`leader`]) alone runs the SealedSecret controller ([`controller`])
//! and key renewal, stopping both the moment it loses the Lease.

pub mod args;
pub mod http;
pub mod keys;
pub mod leader;
pub mod metrics;
pub mod telemetry;

/// Run `secrets-agent controller` until SIGTERM.
pub async fn run_controller(_args: args::ControllerArgs) -> anyhow::Result<()> {
    anyhow::bail!("the controller is not wired yet")
}
