//! `keys rotate`: ask the agent for a new sealing key now, instead of at the next renewal.
//! There is no HTTP endpoint for this (RBAC on the key Secrets decides who may): the newest
//! key Secret gets the annotation `kubectl-secrets.io/renew-requested-at: <now>`, and the
//! agent's leader makes a new key when it sees it.
//!
//! Flow: connect → list key Secrets → newest → merge-patch the annotation → say what to expect.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use secrets_core::seal::keys::RENEW_REQUESTED_AT;

use crate::cli::GlobalFlags;
use crate::cluster::{self, api_error};
use crate::sealing_keys;

pub(crate) fn run(global: &GlobalFlags) -> anyhow::Result<ExitCode> {
    let now = secrets_core::rfc3339::now();
    let (name, fingerprint) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let ns = &global.agent_namespace;
        let keys = sealing_keys::list(&cluster, ns).await?;
        let Some(index) = sealing_keys::newest(&keys) else {
            bail!(
                "no sealing key in namespace {ns} to renew (is the agent installed there? \
                 it makes the first key itself)"
            );
        };
        let key = &keys[index];
        let api: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
        let patch = serde_json::json!({
            "metadata": {"annotations": {RENEW_REQUESTED_AT: now}}
        });
        api.patch(&key.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(api_error)
            .with_context(|| {
                format!(
                    "annotating secret {ns}/{} in {}",
                    key.name, cluster.describe
                )
            })?;
        let fingerprint = key
            .certificate
            .as_ref()
            .map(|c| c.public_key().fingerprint())
            .unwrap_or_default();
        Ok((key.name.clone(), fingerprint))
    })?;
    eprintln!(
        "requested a new sealing key: annotated {}/{name} ({fingerprint}) with {RENEW_REQUESTED_AT}={now}",
        global.agent_namespace
    );
    eprintln!(
        "the agent makes the new key shortly; check with `kubectl secrets keys list`, then `kubectl secrets reseal`"
    );
    Ok(ExitCode::SUCCESS)
}
