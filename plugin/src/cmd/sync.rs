//! `sync` with no subcommand: the wizard, for a person at a terminal.
//!
//! Flow: connect (one runtime for the whole conversation: a client lives on the runtime that
//! built it) → namespace → stores listed from the cluster, each with its provider and where it
//! keeps its secrets (Vault mount, AWS region, Azure vault URL, GCP project) → pick one, or
//! answer for a new SecretStore (the provider, then its fields: Vault in `sync::prompt`, the
//! clouds in `sync::cloud_prompt`) → open it with the person's own credentials
//! (`remote::session`: the Vault token, or the cloud's usual places) → browse it (Vault: the
//! mount folder by folder; a cloud store: its list of names) → read the chosen secret for its
//! key names only → every key (`dataFrom.extract`) or chosen keys
//! with their Secret keys → names and refresh interval → `sync_manifest` builds and checks →
//! an ExternalSecret of that name already there is replaced only if the person says so →
//! summary without values → apply (the new store first, server-side apply) or, with
//! `-o`/`--output-file`/`--dry-run`, write the manifests.
//!
//! `--yes` or no terminal: never asks; fails naming `sync create`'s flags.

use std::process::ExitCode;

use anyhow::bail;
use dialoguer::theme::ColorfulTheme;
use secrets_core::api::SecretStore;
use secrets_core::api::external_secret::ExternalSecret;
use secrets_core::api::secret_store::StoreKind;

use crate::cli::{GlobalFlags, SyncArgs};
use crate::output::emit_manifests;
use crate::remote::session::{self, Session};
use crate::remote::stores::Found;
use crate::remote::vault::{self, Coordinates, Credentials};
use crate::remote::{browse, keys, stores};
use crate::sync::cloud_prompt::{self, Kind};
use crate::sync::manifest::{self, ExternalSecretRequest};
use crate::sync::prompt as ask;
use crate::sync::store;
use crate::{cluster, prompt};

pub(crate) fn run(global: &GlobalFlags, args: SyncArgs) -> anyhow::Result<ExitCode> {
    if !prompt::attended(global.yes) {
        bail!(
            "`sync` alone is a wizard for a person at a terminal: pass `sync create NAME --store \
             STORE --key PATH [--property P]… [--secret-key K]… [--refresh 1h]` (or use `sync \
             now NAME`, `sync status`)"
        );
    }
    let rt = cluster::runtime()?;
    let cluster = rt.block_on(cluster::connect(global))?;
    let theme = ColorfulTheme::default();
    eprintln!(
        "Syncing a secret from a store (Vault / OpenBao, AWS Secrets Manager, Azure Key Vault, GCP \
         Secret Manager) into a Kubernetes Secret. You browse with your own credentials; values \
         are never shown."
    );
    let namespace = ask::namespace(&theme, cluster.namespace.clone())?;
    let found = rt.block_on(stores::list(&cluster, &namespace))?;
    let vault_addr = args.vault.vault_addr.as_deref();
    let (kind, store_name, new_store, session) = match ask::choose_store(&theme, &found)? {
        Some(index) => {
            let store = &found[index];
            let session = rt.block_on(session::open(store, &cluster, vault_addr))?;
            (store.kind, store.name.clone(), None, session)
        }
        None => {
            let (name, store, session) =
                create_store(&rt, &theme, &cluster, &namespace, vault_addr)?;
            (StoreKind::SecretStore, name, Some(store), session)
        }
    };
    eprintln!(
        "Browsing {} with {} from {}.",
        session.location(),
        session.yours(),
        session.source()
    );
    let key = pick_key(&rt, &theme, &session)?;
    let pairs = match rt.block_on(session.read(&key, None)) {
        Ok(secret) => {
            let keys: Vec<String> = secret.keys().map(str::to_owned).collect();
            drop(secret);
            ask::choose_properties(&theme, &keys)?
        }
        Err(err) => {
            eprintln!(
                "Cannot read {key} with {} ({err:#}); type the properties instead.",
                session.yours()
            );
            ask::type_properties(&theme)?
        }
    };
    let naming = ask::naming(&theme, ask::name_from_path(&key))?;
    let (properties, secret_keys) = pairs.into_iter().unzip();
    let es = manifest::external_secret(&ExternalSecretRequest {
        name: naming.name.clone(),
        namespace: namespace.clone(),
        store: store_name.clone(),
        store_kind: (kind != StoreKind::SecretStore).then_some(kind),
        key: key.clone(),
        properties,
        secret_keys,
        refresh: naming.refresh.clone(),
        target: naming.target.clone(),
        ..ExternalSecretRequest::default()
    })?;
    let applying = args.manifest.format().is_none();
    let what = format!("ExternalSecret {namespace}/{}", naming.name);
    if applying
        && rt.block_on(cluster::exists::<ExternalSecret>(
            &cluster,
            &namespace,
            &naming.name,
        ))?
        && !ask::confirm_replace(&theme, &what)?
    {
        bail!("cancelled: {what} already exists and was left as it is; nothing was applied");
    }

    eprintln!(
        "\nAbout to {}:",
        if args.manifest.format().is_some() {
            "write"
        } else {
            "apply"
        }
    );
    if new_store.is_some() {
        eprintln!("  SecretStore     {namespace}/{store_name} (new)");
    }
    eprintln!("  ExternalSecret  {namespace}/{}", naming.name);
    eprintln!("  store           {} {store_name}", kind.as_str());
    eprintln!("  remote secret   {key} {}", session.under());
    if es.spec.data.is_empty() {
        eprintln!("  keys            every key of the remote secret");
    }
    for item in &es.spec.data {
        let property = item.remote_ref.property.as_deref().unwrap_or_default();
        eprintln!("  key             {property} -> {}", item.secret_key);
    }
    eprintln!("  Secret          {namespace}/{}", es.target_name());
    eprintln!(
        "  refresh         {}",
        naming.refresh.as_deref().unwrap_or(ask::DEFAULT_REFRESH)
    );
    let question = if args.manifest.format().is_some() {
        "Write the manifests?"
    } else {
        "Apply to the cluster?"
    };
    if !ask::confirm(&theme, question)? {
        bail!("cancelled: nothing was applied or written");
    }
    if args.manifest.format().is_some() {
        let mut docs = Vec::new();
        if let Some(store) = &new_store {
            docs.push(serde_json::to_value(store)?);
        }
        docs.push(serde_json::to_value(&es)?);
        emit_manifests(&docs, &args.manifest)?;
        return Ok(ExitCode::SUCCESS);
    }
    rt.block_on(async {
        if let Some(store) = &new_store {
            cluster::apply(&cluster, store).await?;
            eprintln!("secretstore {namespace}/{store_name} applied");
        }
        cluster::apply(&cluster, &es).await
    })?;
    eprintln!(
        "externalsecret {namespace}/{} applied; follow it with `kubectl secrets sync status {}`",
        naming.name, naming.name
    );
    Ok(ExitCode::SUCCESS)
}

/// A new SecretStore's answers (Vault or a cloud), and the session that browses it with the
/// person's own credentials before it exists in the cluster.
fn create_store(
    rt: &tokio::runtime::Runtime,
    theme: &ColorfulTheme,
    cluster: &cluster::Cluster,
    namespace: &str,
    vault_addr: Option<&str>,
) -> anyhow::Result<(String, SecretStore, Session)> {
    let kind = cloud_prompt::kind(theme)?;
    if kind == Kind::Vault {
        let request = ask::new_store(
            theme,
            namespace,
            vault::default_addr(),
            vault::default_namespace(),
        )?;
        let store = store::secret_store(&request)?;
        let coordinates = Coordinates {
            server: request.server.clone(),
            mount: request.mount.clone(),
            engine: request.version,
            namespace: request.vault_namespace.clone(),
            ca_bundle: None,
        };
        let credentials = Credentials::from_env()?;
        let session = rt.block_on(vault::open(coordinates, &credentials, vault_addr))?;
        return Ok((request.name, store, session));
    }
    let name = ask::k8s_name(theme, "SecretStore name", kind.default_name().to_owned())?;
    let provider = match kind {
        Kind::Aws => cloud_prompt::aws(theme, &name)?,
        Kind::Azure => cloud_prompt::azure(theme, &name)?,
        _ => cloud_prompt::gcp(theme, &name)?,
    };
    let store = store::cloud_store(&name, namespace, provider)?;
    // Not applied yet: opened from its spec, as `stores::get` would have found it.
    let found = Found {
        kind: StoreKind::SecretStore,
        name: name.clone(),
        namespace: Some(namespace.to_owned()),
        spec: store.spec.clone(),
    };
    let session = rt.block_on(session::open(&found, cluster, vault_addr))?;
    Ok((name, store, session))
}

/// Browse for a key until one fits the store type (a typed one may not).
fn pick_key(
    rt: &tokio::runtime::Runtime,
    theme: &ColorfulTheme,
    session: &Session,
) -> anyhow::Result<String> {
    loop {
        let key = browse::walk(rt, theme, session)?;
        match keys::check(session.store_type(), &key, None) {
            Ok(()) => return Ok(key),
            Err(problem) => eprintln!("{problem}; choose again."),
        }
    }
}
