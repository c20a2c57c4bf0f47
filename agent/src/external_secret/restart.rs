//! Rollout restarts of the workloads an ExternalSecret lists, when its data changed: the same
//! pod-template annotation bump `kubectl rollout restart` makes, under our prefix.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use secrets_core::api::ExternalSecret;
use secrets_core::api::external_secret::WorkloadKind;

use super::Context;
use crate::runtime::{self, FIELD_MANAGER};
use crate::telemetry::error_chain;

/// Pod-template annotation set to the restart time.
pub const RESTARTED_AT: &str = "kubectl-secrets.io/restartedAt";

/// Restart every listed workload; failures become Warning events, never sync failures.
pub async fn rollout(ctx: &Context, es: &ExternalSecret, namespace: &str) {
    let now = secrets_core::rfc3339::now();
    let patch = serde_json::json!({
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    for target in &es.spec.rollout_restart_targets {
        let client = ctx.client.clone();
        let patch = Patch::Merge(&patch);
        let result = match target.kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(client, namespace)
                .patch(&target.name, &params, &patch)
                .await
                .map(drop),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client, namespace)
                .patch(&target.name, &params, &patch)
                .await
                .map(drop),
            WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client, namespace)
                .patch(&target.name, &params, &patch)
                .await
                .map(drop),
        };
        let (type_, reason, note) = match result {
            Ok(()) => (
                EventType::Normal,
                "RolloutRestart",
                format!(
                    "restarted {:?} {:?}: the synced data changed",
                    target.kind, target.name
                ),
            ),
            Err(err) => {
                let note = format!(
                    "could not restart {:?} {:?}: {}",
                    target.kind,
                    target.name,
                    error_chain(&err)
                );
                tracing::warn!(error = %note, "rollout restart failed");
                (EventType::Warning, "RolloutRestartFailed", note)
            }
        };
        let event = Event {
            type_,
            reason: reason.into(),
            note: Some(note),
            action: "RolloutRestart".into(),
            secondary: None,
        };
        runtime::events::publish(&ctx.recorder, es, &event).await;
    }
}
