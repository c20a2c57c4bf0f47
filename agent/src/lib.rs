//! `secrets-agent`: the in-cluster half of kubectl-secrets.
//!
//! One module per pattern, the same words as in `secrets-core` and the plugin:
//! [`sealed_secret`] (the SealedSecret controller), [`external_secret`] (the ExternalSecret
//! controller) and [`secret_store`] (store sessions, reads, store status). Around them:
//! [`key_manager`] (sealing keys), [`leader`] (the Lease), [`http`] (the API the plugin calls),
//! [`metrics`], [`runtime`] (the plumbing every controller shares: the reconcile frame,
//! backoff, Secret writes, status by server-side apply, events), and [`run`], which wires each
//! subcommand.
//!
//! Data flow of `controller`: the key manager watches the key Secrets in the agent namespace
//! and publishes a `KeyRing` on a watch channel; the HTTP API serves the newest certificate and
//! verify/rotate from that ring on every replica; the leader alone runs the controllers and key
//! renewal, stopping them the moment it loses the Lease.

pub mod args;
pub mod crd_check;
pub mod external_secret;
pub mod http;
pub mod key_manager;
pub mod leader;
pub mod metrics;
pub mod mount;
pub mod run;
pub mod runtime;
pub mod sealed_secret;
pub mod secret_store;
pub mod telemetry;
pub mod wipe;

use anyhow::Context as _;

/// The CRDs this agent serves, as a YAML stream: the chart's CRDs, from the same function.
pub fn crds() -> String {
    secrets_core::api::crds::all_yaml()
}

/// Write each CRD to `dir/<plural>.<group>.yaml` as the chart holds it (`cargo xtask gen`).
pub fn write_crds(dir: &std::path::Path) -> anyhow::Result<()> {
    use secrets_core::api::crds;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for crd in crds::all() {
        let path = dir.join(crds::file_name(&crd));
        std::fs::write(&path, crds::chart_file(&crd))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

pub use run::controller::{LEASE_NAME, run_controller};
