//! `sync create NAME --store S --key PATH [--property P]… …`: one ExternalSecret from flags.
//!
//! Flow: flags → namespace (`-n`, else the context's; no cluster needed) →
//! `manifest::external_secret` (checked; only the fields given) → with `-o`,
//! `--output-file` or `--dry-run` the manifest and nothing else; otherwise connect → the store
//! must exist (a typo should not wait for the agent's status to surface) and the key and
//! `--version` must have its provider's form (`remote::keys`: Azure `secret/NAME`, AWS
//! `uuid/ID` or a stage, …) → an ExternalSecret of
//! that name must not exist, unless `--overwrite` → server-side apply with field manager
//! `kubectl-secrets`.

use std::process::ExitCode;

use anyhow::bail;
use secrets_core::api::external_secret::ExternalSecret;

use crate::cli::{GlobalFlags, SyncCreateArgs};
use crate::output::emit_manifests;
use crate::remote::{keys, stores};
use crate::sync::manifest::{self, ExternalSecretRequest};
use crate::{cluster, kubeconfig};

pub(crate) fn run(global: &GlobalFlags, args: SyncCreateArgs) -> anyhow::Result<ExitCode> {
    let namespace = kubeconfig::namespace(global)?;
    let es = manifest::external_secret(&ExternalSecretRequest {
        name: args.name.clone(),
        namespace: namespace.clone(),
        store: args.remote.store.clone(),
        store_kind: args.remote.store_kind.map(Into::into),
        key: args.remote.key.clone(),
        version: args.remote.remote_version.clone(),
        properties: args.property,
        secret_keys: args.secret_key,
        refresh: args.refresh,
        target: args.target,
        creation_policy: args.creation_policy.map(Into::into),
        deletion_policy: args.deletion_policy.map(Into::into),
    })?;
    if args.manifest.format().is_some() {
        emit_manifests(&[&es], &args.manifest)?;
        return Ok(ExitCode::SUCCESS);
    }
    cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let store = stores::get(&cluster, es.store_kind(), &args.remote.store, &namespace).await?;
        let provider = store.provider()?;
        let version = args.remote.remote_version.as_deref();
        if let Err(problem) = keys::check(provider.name(), &args.remote.key, version) {
            bail!(
                "{} ({} store): {problem}",
                store.describe(),
                provider.name()
            );
        }
        if !args.overwrite
            && cluster::exists::<ExternalSecret>(&cluster, &namespace, &args.name).await?
        {
            bail!(
                "externalsecret {namespace}/{} already exists in {}; pass --overwrite to \
                 replace it",
                args.name,
                cluster.describe
            );
        }
        cluster::apply(&cluster, &es).await
    })?;
    eprintln!(
        "externalsecret {namespace}/{} applied: {} {} key {:?} -> Secret {}",
        args.name,
        es.store_kind().as_str(),
        args.remote.store,
        args.remote.key,
        es.target_name()
    );
    Ok(ExitCode::SUCCESS)
}
