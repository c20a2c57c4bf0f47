//! `sync now NAME`: ask the agent to read an ExternalSecret's remote secrets again at once,
//! bypassing its shared-read cache, and (by default) wait for the answer.
//!
//! Flow: connect → GET the ExternalSecret (refused for `refreshPolicy: CreatedOnce`, which
//! the agent never refreshes) → merge-patch `kubectl-secrets.io/force-sync` to the current
//! time in milliseconds (bumped if it equals the old value) → the version the agent will
//! record for this request, `schedule::synced_version` of the patched object → poll until
//! `status.syncedResourceVersion` equals it (synced), or a `Ready=False` condition other than
//! the one before the request appears (failed), or `--timeout`.
//!
//! The agent records `syncedResourceVersion` only on success, so a failure identical to the
//! previous one changes nothing in the status: that case is reported at the timeout, with
//! the agent's last answer (exit 1), rather than as success.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kube::Api;
use kube::api::{Patch, PatchParams};
use secrets_core::api::external_secret::RefreshPolicy;
use secrets_core::api::{Condition, ExternalSecret, ready_condition};
use secrets_core::sync::duration;
use secrets_core::sync::schedule::{self, FORCE_SYNC};

use crate::cli::{GlobalFlags, SyncNowArgs};
use crate::cluster::{self, api_error};

/// How often the status is read while waiting: the agent answers in well under a second
/// when idle, and a GET every quarter second is no load for an API server.
const POLL: Duration = Duration::from_millis(250);

pub(crate) fn run(global: &GlobalFlags, args: SyncNowArgs) -> anyhow::Result<ExitCode> {
    let timeout = duration::parse(&args.timeout).map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
    cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let ns = cluster.namespace.clone();
        let name = args.name.as_str();
        let what = format!("externalsecret {ns}/{name}");
        let api: Api<ExternalSecret> = Api::namespaced(cluster.client.clone(), &ns);
        let es = api
            .get(name)
            .await
            .map_err(api_error)
            .with_context(|| format!("reading {what} in {}", cluster.describe))?;
        if es.spec.refresh_policy == Some(RefreshPolicy::CreatedOnce) {
            bail!(
                "{what} has refreshPolicy CreatedOnce: the agent never reads it again (delete \
                 its Secret to have it made once more)"
            );
        }
        let before = ready(&es);
        let old = es
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(FORCE_SYNC))
            .cloned();
        let mut value = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        if old.as_deref() == Some(value.to_string().as_str()) {
            value += 1;
        }
        let patch =
            serde_json::json!({"metadata": {"annotations": {FORCE_SYNC: value.to_string()}}});
        let patched = api
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(api_error)
            .with_context(|| format!("annotating {what} in {}", cluster.describe))?;
        eprintln!("asked the agent to sync {what} ({FORCE_SYNC}={value})");
        if !args.wait {
            return Ok(ExitCode::SUCCESS);
        }
        let expected = schedule::synced_version(&patched);
        let deadline = Instant::now() + timeout;
        loop {
            let es = api
                .get(name)
                .await
                .map_err(api_error)
                .with_context(|| format!("reading {what} in {}", cluster.describe))?;
            let now = ready(&es);
            let synced = es
                .status
                .as_ref()
                .and_then(|s| s.synced_resource_version.as_deref())
                == Some(expected.as_str());
            let new_failure = now.as_ref().is_some_and(|c| c.status == "False") && now != before;
            if synced || new_failure {
                return Ok(report(&what, now.as_ref(), ""));
            }
            if Instant::now() >= deadline {
                return match now {
                    Some(c) if c.status == "False" => Ok(report(
                        &what,
                        Some(&c),
                        " (the agent did not confirm this request; this is its last answer)",
                    )),
                    _ => bail!(
                        "timed out after {} waiting for the agent to sync {what}: is the agent \
                         running? (pass --timeout to wait longer)",
                        duration::format(timeout)
                    ),
                };
            }
            tokio::time::sleep(POLL).await;
        }
    })
}

fn ready(es: &ExternalSecret) -> Option<Condition> {
    es.status
        .as_ref()
        .and_then(|s| ready_condition(&s.conditions))
        .cloned()
}

/// `externalsecret ns/name: Ready=True SecretSynced: secret updated` on stdout; exit 1 unless
/// Ready is True.
fn report(what: &str, ready: Option<&Condition>, note: &str) -> ExitCode {
    let (status, reason, message) = match ready {
        Some(c) => (
            c.status.as_str(),
            c.reason.as_deref().unwrap_or_default(),
            c.message.as_deref().unwrap_or_default(),
        ),
        None => ("Unknown", "", ""),
    };
    println!("{what}: Ready={status} {reason}: {message}{note}");
    if status == "True" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
