//! `mount` with nothing else: the wizard, for a person at a terminal.
//!
//! Flow: connect (one runtime for the whole conversation) → namespace → the namespace's
//! Deployments, StatefulSets and DaemonSets → pick one → its containers (all, unless the person
//! unticks some) → the stores (SecretStores, ClusterSecretStores) and mount-only SealedSecrets
//! to read from → for a store: browse it with the person's own credentials, whatever its
//! provider (the `sync` wizard's browsing, `remote::session` and `remote::browse`), read the chosen secret for its key names only, pick
//! keys and file names (or the whole secret as one JSON file); for a SealedSecret: pick keys
//! and file names → more files from another secret, or done → SecretProviderClass name and
//! mount path → the same checks and plan as the flags (`cmd::mount::prepare`) → a summary
//! without values → confirm → apply (or, with `-o`/`--output-file`/`--dry-run`, print).
//!
//! `--yes` or no terminal: never asks; fails naming the flags.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::bail;
use dialoguer::theme::ColorfulTheme;
use kube::api::{Api, ListParams};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::api::secret_store::StoreKind as ApiStoreKind;
use secrets_core::mount::MOUNT_ONLY_ANNOTATION;
use secrets_core::mount::params::{StoreKind, StoreRef};
use tokio::runtime::Runtime;

use crate::cli::{GlobalFlags, MountArgs};
use crate::cluster::{self, Cluster, api_error, is_not_found};
use crate::mount::objects::{self, FileArg, Origin, Source, SpecInput};
use crate::mount::prompt as m;
use crate::mount::workload::{self, Kind, Want, WorkloadRef};
use crate::output::emit_manifests;
use crate::prompt;
use crate::remote::session::{self, Session};
use crate::remote::stores::{self, Found, ProviderRef};
use crate::remote::{browse, keys};
use crate::sync::prompt as ask;

use super::mount::{describe_objects, mount_only_keys, prepare, workload_api, write};

pub(crate) fn run(global: &GlobalFlags, args: MountArgs) -> anyhow::Result<ExitCode> {
    if !prompt::attended(global.yes) {
        bail!(
            "`mount` alone is a wizard for a person at a terminal: pass `mount KIND/NAME --store \
             STORE --key PATH [--property P [--file F]]… [--mount-path DIR] [--container C]…` or \
             `mount KIND/NAME --sealed-secret NAME [--property KEY]…` (or use `mount status`)"
        );
    }
    let rt = cluster::runtime()?;
    let mut cluster = rt.block_on(cluster::connect(global))?;
    let theme = ColorfulTheme::default();
    eprintln!(
        "Mounting secrets into a workload's pods through the Secrets Store CSI Driver: no \
         Kubernetes Secret is made. You browse stores with your own token; values are never shown."
    );
    let namespace = ask::namespace(&theme, cluster.namespace.clone())?;
    cluster.namespace = namespace.clone();
    let workloads = rt.block_on(list_workloads(&cluster, &namespace))?;
    if workloads.is_empty() {
        bail!("no deployments, statefulsets or daemonsets in namespace {namespace} to mount into");
    }
    let labels: Vec<String> = workloads.iter().map(|(w, _)| w.to_string()).collect();
    let (target, names) = &workloads[m::choose(&theme, "Workload", &labels)?];
    let containers = m::containers(&theme, names)?;

    let found = match rt.block_on(stores::list(&cluster, &namespace)) {
        Ok(found) => found,
        Err(err) => {
            eprintln!("note: no stores listed: {err:#}");
            Vec::new()
        }
    };
    let sealed = rt.block_on(mount_only(&cluster, &namespace))?;
    let mut sources: Vec<Source> = Vec::new();
    let mut store: Option<(Found, Option<Session>)> = None;
    let mut sealed_keys = BTreeMap::new();
    loop {
        // One store per SecretProviderClass: once chosen, it is the only one offered.
        let offered: Vec<&Found> = match &store {
            Some((chosen, _)) => vec![chosen],
            None => found.iter().collect(),
        };
        let mut items: Vec<String> = offered.iter().map(|s| s.describe()).collect();
        items.extend(sealed.iter().map(|(name, keys)| {
            format!(
                "SealedSecret {namespace}/{name} (mount-only, {} keys)",
                keys.len()
            )
        }));
        if items.is_empty() {
            bail!(
                "nothing to mount from in namespace {namespace}: no SecretStore, ClusterSecretStore \
                 or SealedSecret annotated {MOUNT_ONLY_ANNOTATION}: \"true\""
            );
        }
        let index = m::choose(&theme, "Read from", &items)?;
        if index < offered.len() {
            if store.is_none() {
                let chosen = offered[index].clone();
                let session =
                    open_session(&rt, &cluster, &chosen, args.vault.vault_addr.as_deref());
                store = Some((chosen, session));
            }
            if let Some((chosen, session)) = &store {
                sources.push(remote_source(&rt, &theme, chosen, session.as_ref())?);
            }
        } else {
            let (name, keys) = &sealed[index - offered.len()];
            sealed_keys.insert(name.clone(), keys.clone());
            sources.push(Source {
                origin: Origin::Sealed(name.clone()),
                files: m::files_for_keys(&theme, keys)?,
                whole: FileArg::default(),
            });
        }
        if !m::more(&theme)? {
            break;
        }
    }
    let spc_name = ask::k8s_name(
        &theme,
        "SecretProviderClass name",
        workload::default_spc(&target.name),
    )?;
    workload::volume_name(&spc_name).map_err(anyhow::Error::msg)?;
    let mount_path = m::mount_path(&theme, workload::default_mount_path(&spc_name))?;
    let store_ref = store.as_ref().map(|(s, _)| StoreRef {
        name: s.name.clone(),
        kind: match s.kind {
            ApiStoreKind::SecretStore => StoreKind::SecretStore,
            ApiStoreKind::ClusterSecretStore => StoreKind::ClusterSecretStore,
        },
    });
    let spec = objects::spec(&SpecInput {
        sources: &sources,
        default_mode: None,
        store: store_ref,
        audience: None,
        sealed_keys: &sealed_keys,
    })
    .map_err(anyhow::Error::msg)?;
    let want = Want {
        mount_path: mount_path.clone(),
        containers: containers.clone(),
    };
    let prepared = rt.block_on(prepare(&cluster, target, &spc_name, &spec, &want))?;

    let writing = args.manifest.format().is_some();
    eprintln!("\nAbout to {}:", if writing { "write" } else { "apply" });
    eprintln!(
        "  SecretProviderClass  {namespace}/{spc_name}{}",
        if prepared.spc_existed {
            " (replaced)"
        } else {
            ""
        }
    );
    if let Some(store) = &spec.store {
        eprintln!(
            "  store                {} {}",
            store.kind.as_str(),
            store.name
        );
    }
    for line in describe_objects(&spec) {
        eprintln!("  file                 {line}");
    }
    eprintln!("  workload             {namespace}/{target}");
    eprintln!(
        "  containers           {}",
        prepared.plan.containers.join(", ")
    );
    eprintln!("  mount path           {mount_path} (read-only)");
    let question = if writing {
        "Write the manifests?"
    } else {
        "Apply to the cluster?"
    };
    if !ask::confirm(&theme, question)? {
        bail!("cancelled: nothing was applied or written");
    }
    if writing {
        emit_manifests(&[&prepared.spc, &prepared.plan.config], &args.manifest)?;
        return Ok(ExitCode::SUCCESS);
    }
    rt.block_on(write(&cluster, &prepared))?;
    eprintln!("follow it with `kubectl secrets mount status -n {namespace}`");
    Ok(ExitCode::SUCCESS)
}

/// The workloads of the namespace with their container names.
async fn list_workloads(
    cluster: &Cluster,
    namespace: &str,
) -> anyhow::Result<Vec<(WorkloadRef, Vec<String>)>> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let list = workload_api(cluster, namespace, kind)
            .list(&ListParams::default())
            .await
            .map_err(api_error)?;
        for item in list.items {
            let value = serde_json::to_value(&item)?;
            let containers = value["spec"]["template"]["spec"]["containers"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|c| c["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            out.push((
                WorkloadRef {
                    kind,
                    name: item.metadata.name.unwrap_or_default(),
                },
                containers,
            ));
        }
    }
    Ok(out)
}

/// The namespace's mount-only SealedSecrets and their keys (none when the CRD is absent).
async fn mount_only(
    cluster: &Cluster,
    namespace: &str,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let api: Api<SealedSecret> = Api::namespaced(cluster.client.clone(), namespace);
    let items = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(err) if is_not_found(&err) => return Ok(Vec::new()),
        Err(err) => return Err(api_error(err)),
    };
    let mut out = Vec::new();
    for item in items {
        let annotated = item
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(MOUNT_ONLY_ANNOTATION))
            .map(String::as_str)
            == Some("true");
        if let (true, Some(name)) = (annotated, item.metadata.name) {
            let keys = mount_only_keys(cluster, namespace, &name).await?;
            out.push((name, keys));
        }
    }
    Ok(out)
}

/// A session with the person's own token, or `None` (then paths and properties are typed).
fn open_session(
    rt: &Runtime,
    cluster: &Cluster,
    store: &Found,
    vault_addr: Option<&str>,
) -> Option<Session> {
    match rt.block_on(session::open(store, cluster, vault_addr)) {
        Ok(session) => {
            eprintln!(
                "Browsing {} with {} from {}.",
                session.location(),
                session.yours(),
                session.source()
            );
            Some(session)
        }
        Err(err) => {
            eprintln!(
                "Cannot browse {} with your credentials ({err:#}); type the paths instead.",
                store.describe()
            );
            None
        }
    }
}

/// The "type it" prompt when the store could not be opened.
fn type_prompt(store: &Found) -> String {
    match store.provider() {
        Ok(ProviderRef::Vault(v)) => format!("Path of the secret under mount {}", v.mount()),
        Ok(p) => format!("Name of the secret in {}", p.location()),
        Err(_) => format!("Key of the secret in {}", store.describe()),
    }
}

/// One remote secret and its files, browsed (or typed).
fn remote_source(
    rt: &Runtime,
    theme: &ColorfulTheme,
    store: &Found,
    session: Option<&Session>,
) -> anyhow::Result<Source> {
    let store_type = store.provider().map(|p| p.name()).unwrap_or("unknown");
    let key = loop {
        let key = match session {
            Some(session) => browse::walk(rt, theme, session)?,
            None => ask::type_path(theme, &type_prompt(store), "the secret's key or path")?,
        };
        match keys::check(store_type, &key, None) {
            Ok(()) => break key,
            Err(problem) => eprintln!("{problem}; choose again."),
        }
    };
    let keys = match session.map(|s| rt.block_on(s.read(&key, None))) {
        Some(Ok(secret)) => {
            let keys: Vec<String> = secret.keys().map(str::to_owned).collect();
            drop(secret);
            Some(keys)
        }
        Some(Err(err)) => {
            let yours = session.map_or("your credentials", Session::yours);
            eprintln!("Cannot read {key} with {yours} ({err:#}); type the properties instead.");
            None
        }
        None => None,
    };
    let files = match keys {
        Some(keys) if !keys.is_empty() && !m::whole_secret(theme, keys.len())? => {
            m::files_for_keys(theme, &keys)?
        }
        Some(_) => Vec::new(),
        None => m::type_properties(theme)?,
    };
    let mut whole = FileArg::default();
    if files.is_empty() {
        let last = key.rsplit('/').next().unwrap_or_default().to_owned();
        let file = m::file_name(theme, &format!("File for the whole of {key}"), last.clone())?;
        whole.file = (file != last).then_some(file);
    }
    Ok(Source {
        origin: Origin::Remote(key),
        files,
        whole,
    })
}
