//! `mount KIND/NAME --store S --key PATH [--property P [--file F] [--mode M]]…` (or
//! `--sealed-secret NAME …`), `--remove`, and the dispatch to the wizard and `mount status`.
//!
//! Flow: flags → the workload, SecretProviderClass, volume and mount path names (pure) → the
//! object flags grouped (`mount::objects::group`) → connect → what the spec depends on, read
//! and checked: the store exists and each `--key` has its store type's form, each SealedSecret exists, is mount-only and has the keys →
//! `mount::objects::spec` (the provider's own validation) → the live workload →
//! `mount::workload::plan` (our other mounts kept; foreign volume names and mount paths
//! refused) → an existing SecretProviderClass of that name must be ours → with `--dry-run` /
//! `-o` / `--output-file` both objects printed and nothing written; else server-side apply
//! (field manager `kubectl-secrets`) of the SecretProviderClass, then of the workload's pod
//! template. A second identical run changes neither object. `--remove` is
//! `cmd::mount_remove`, the wizard `cmd::mount_wizard`, `mount status` `cmd::mount_status`.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use secrets_core::api::sealed_secret::SealedSecret;
use secrets_core::mount::MOUNT_ONLY_ANNOTATION;
use secrets_core::mount::params::{MountSpec, ObjectSource, StoreKind};
use serde_json::Value;

use crate::cli::{GlobalFlags, MountArgs, MountCommand, StoreKindArg};
use crate::cluster::{self, Cluster, FIELD_MANAGER, api_error, is_not_found};
use crate::mount::objects::{self, Origin, SpecInput};
use crate::mount::spc;
use crate::mount::workload::{self, Kind, Plan, Want, WorkloadRef};
use crate::output::emit_manifests;
use crate::remote::{keys, stores};

use super::{mount_remove, mount_status, mount_wizard};

pub(crate) fn run(global: &GlobalFlags, args: MountArgs) -> anyhow::Result<ExitCode> {
    if let Some(MountCommand::Status(status)) = args.command {
        return mount_status::run(global, status);
    }
    let Some(workload) = args.workload.clone() else {
        if nothing_given(&args) {
            return mount_wizard::run(global, args);
        }
        bail!(
            "name the workload: `mount KIND/NAME …` (deployment/NAME, statefulset/NAME, daemonset/NAME)"
        );
    };
    let target = WorkloadRef::parse(&workload).map_err(anyhow::Error::msg)?;
    let spc_name = args
        .spc
        .clone()
        .unwrap_or_else(|| workload::default_spc(&target.name));
    secrets_core::secret::validate_name(&spc_name).map_err(|_| {
        anyhow::anyhow!("--spc {spc_name:?} is not an object name (a lowercase RFC 1123 subdomain)")
    })?;
    workload::volume_name(&spc_name).map_err(anyhow::Error::msg)?;
    if args.remove {
        return mount_remove::run(global, &args, &target, &spc_name);
    }
    let (sources, default_mode) = objects::group(&args.order).map_err(anyhow::Error::msg)?;
    if sources.is_empty() {
        bail!(
            "nothing to mount in {target}: pass --store STORE --key PATH [--property P [--file F]]… \
             or --sealed-secret NAME [--property KEY]…"
        );
    }
    let mount_path = args
        .mount_path
        .clone()
        .unwrap_or_else(|| workload::default_mount_path(&spc_name));
    workload::check_mount_path(&mount_path).map_err(anyhow::Error::msg)?;
    let want = Want {
        mount_path,
        containers: args.container.clone(),
    };
    let rt = cluster::runtime()?;
    let cluster = rt.block_on(cluster::connect(global))?;
    let namespace = cluster.namespace.clone();
    let spec = rt.block_on(async {
        let store = objects::store_ref(
            args.store.as_deref(),
            args.store_kind == Some(StoreKindArg::ClusterSecretStore),
        );
        if let Some(store) = &store {
            let found =
                stores::get(&cluster, store_kind(store.kind), &store.name, &namespace).await?;
            check_keys(&found, &sources)?;
        }
        let mut sealed_keys = BTreeMap::new();
        for source in &sources {
            if let Origin::Sealed(name) = &source.origin {
                sealed_keys.insert(
                    name.clone(),
                    mount_only_keys(&cluster, &namespace, name).await?,
                );
            }
        }
        objects::spec(&SpecInput {
            sources: &sources,
            default_mode: default_mode.as_deref(),
            store,
            audience: args.audience.clone(),
            sealed_keys: &sealed_keys,
        })
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("checking the SecretProviderClass {namespace}/{spc_name}"))
    })?;
    let prepared = rt.block_on(prepare(&cluster, &target, &spc_name, &spec, &want))?;
    if args.manifest.format().is_some() {
        emit_manifests(&[&prepared.spc, &prepared.plan.config], &args.manifest)?;
        return Ok(ExitCode::SUCCESS);
    }
    rt.block_on(write(&cluster, &prepared))?;
    Ok(ExitCode::SUCCESS)
}

/// Every `--key` must have the store type's form (`remote::keys`, as `fetch remote` and `sync
/// create` check it), so a typo fails here, not later in a pod's mount.
fn check_keys(store: &stores::Found, sources: &[objects::Source]) -> anyhow::Result<()> {
    let provider = store.provider()?;
    for source in sources {
        if let Origin::Remote(key) = &source.origin
            && let Err(problem) = keys::check(provider.name(), key, None)
        {
            bail!(
                "--key {key:?}: {} ({} store): {problem}",
                store.describe(),
                provider.name()
            );
        }
    }
    Ok(())
}

/// `mount` with no workload and no object flags: the wizard's cue.
fn nothing_given(args: &MountArgs) -> bool {
    args.order.is_empty()
        && args.store.is_none()
        && args.spc.is_none()
        && args.mount_path.is_none()
        && args.container.is_empty()
        && args.audience.is_none()
        && !args.remove
}

/// The kind as the store lookup names it.
pub(super) fn store_kind(kind: StoreKind) -> secrets_core::api::secret_store::StoreKind {
    match kind {
        StoreKind::SecretStore => secrets_core::api::secret_store::StoreKind::SecretStore,
        StoreKind::ClusterSecretStore => {
            secrets_core::api::secret_store::StoreKind::ClusterSecretStore
        }
    }
}

/// The keys a mount-only SealedSecret's Secret has (encryptedData and template.data), or why
/// it cannot be mounted.
pub(super) async fn mount_only_keys(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Vec<String>> {
    let api: Api<SealedSecret> = Api::namespaced(cluster.client.clone(), namespace);
    let sealed = match api.get(name).await {
        Ok(sealed) => sealed,
        Err(err) if is_not_found(&err) => bail!(
            "sealedsecret {namespace}/{name} not found in {}: seal it first (`kubectl secrets seal`)",
            cluster.describe
        ),
        Err(err) => {
            return Err(api_error(err))
                .with_context(|| format!("reading sealedsecret {namespace}/{name}"));
        }
    };
    let annotated = sealed
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(MOUNT_ONLY_ANNOTATION))
        .map(String::as_str)
        == Some("true");
    if !annotated {
        bail!(
            "sealedsecret {namespace}/{name} is not annotated {MOUNT_ONLY_ANNOTATION}: \"true\", \
             so the provider will not serve it to pods: annotate it (`kubectl annotate \
             sealedsecret {name} -n {namespace} {MOUNT_ONLY_ANNOTATION}=true`; the agent then \
             deletes the Secret it made from it) and run this again"
        );
    }
    let mut keys: Vec<String> = sealed.spec.encrypted_data.keys().cloned().collect();
    if let Some(data) = sealed.spec.template.as_ref().and_then(|t| t.data.as_ref()) {
        keys.extend(
            data.keys()
                .filter(|k| !sealed.spec.encrypted_data.contains_key(*k))
                .cloned(),
        );
    }
    keys.sort();
    Ok(keys)
}

/// The API of one workload kind.
pub(super) fn workload_api(cluster: &Cluster, namespace: &str, kind: Kind) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", kind.as_str()));
    Api::namespaced_with(cluster.client.clone(), namespace, &resource)
}

pub(super) fn spc_api(cluster: &Cluster, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(cluster.client.clone(), namespace, &spc::resource())
}

/// The live workload, as JSON.
pub(super) async fn read_workload(
    cluster: &Cluster,
    namespace: &str,
    target: &WorkloadRef,
) -> anyhow::Result<Value> {
    match workload_api(cluster, namespace, target.kind)
        .get(&target.name)
        .await
    {
        Ok(object) => Ok(serde_json::to_value(object)?),
        Err(err) if is_not_found(&err) => bail!(
            "{target} not found in namespace {namespace} ({})",
            cluster.describe
        ),
        Err(err) => Err(api_error(err)).with_context(|| format!("reading {target} in {namespace}")),
    }
}

/// The SecretProviderClass `namespace/name` as JSON, if it exists.
pub(super) async fn read_spc(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Option<Value>> {
    match spc_api(cluster, namespace).get_opt(name).await {
        Ok(found) => Ok(found.map(serde_json::to_value).transpose()?),
        Err(err) if is_not_found(&err) => bail!(
            "the SecretProviderClass resource (secrets-store.csi.x-k8s.io/v1) is not served in {}: \
             install the Secrets Store CSI Driver first",
            cluster.describe
        ),
        Err(err) => Err(api_error(err))
            .with_context(|| format!("reading secretproviderclass {namespace}/{name}")),
    }
}

/// Everything to write, checked.
pub(super) struct Prepared {
    pub(super) target: WorkloadRef,
    pub(super) namespace: String,
    pub(super) spc_name: String,
    pub(super) spc: Value,
    pub(super) spc_existed: bool,
    pub(super) workload_version: Option<String>,
    pub(super) plan: Plan,
    pub(super) mount_path: String,
}

/// Read the workload and any SecretProviderClass of that name, and plan the change.
pub(super) async fn prepare(
    cluster: &Cluster,
    target: &WorkloadRef,
    spc_name: &str,
    spec: &MountSpec,
    want: &Want,
) -> anyhow::Result<Prepared> {
    let namespace = cluster.namespace.clone();
    let live = read_workload(cluster, &namespace, target).await?;
    let plan = workload::plan(&live, target, spc_name, Some(want)).map_err(anyhow::Error::msg)?;
    let existing = read_spc(cluster, &namespace, spc_name).await?;
    if let Some(existing) = &existing
        && !spc::is_ours(existing)
    {
        bail!(
            "secretproviderclass {namespace}/{spc_name} exists and was not written by kubectl-secrets \
             (provider {:?}, no label {}={}): pass another --spc",
            existing["spec"]["provider"].as_str().unwrap_or_default(),
            spc::MANAGED_BY.0,
            spc::MANAGED_BY.1
        );
    }
    Ok(Prepared {
        target: target.clone(),
        spc: spc::object(&namespace, spc_name, spec),
        spc_existed: existing.is_some(),
        workload_version: live["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_owned),
        namespace,
        spc_name: spc_name.to_owned(),
        plan,
        mount_path: want.mount_path.clone(),
    })
}

/// Server-side apply `config` through `api`; returns the stored resourceVersion.
pub(super) async fn apply(
    api: &Api<DynamicObject>,
    name: &str,
    config: &Value,
) -> Result<Option<String>, kube::Error> {
    let stored = api
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Apply(config),
        )
        .await?;
    Ok(stored.metadata.resource_version)
}

/// Apply the SecretProviderClass, then the pod template; a new SecretProviderClass is taken
/// back when the workload cannot be written, so nothing is left half done.
pub(super) async fn write(cluster: &Cluster, p: &Prepared) -> anyhow::Result<()> {
    let ns = &p.namespace;
    let spcs = spc_api(cluster, ns);
    let before = read_spc(cluster, ns, &p.spc_name)
        .await?
        .and_then(|s| s["metadata"]["resourceVersion"].as_str().map(str::to_owned));
    let after = apply(&spcs, &p.spc_name, &p.spc)
        .await
        .map_err(api_error)
        .with_context(|| {
            format!(
                "applying secretproviderclass {ns}/{} in {}",
                p.spc_name, cluster.describe
            )
        })?;
    let files = p.spc["spec"]["parameters"]["objects"]
        .as_str()
        .and_then(|text| serde_yaml_ng::from_str::<Vec<Value>>(text).ok())
        .map_or(0, |list| list.len());
    eprintln!(
        "secretproviderclass {ns}/{} {} ({files} file{})",
        p.spc_name,
        if before.is_some() && before == after {
            "unchanged"
        } else {
            "applied"
        },
        if files == 1 { "" } else { "s" }
    );
    let workloads = workload_api(cluster, ns, p.target.kind);
    let stored = match apply(&workloads, &p.target.name, &p.plan.config).await {
        Ok(version) => version,
        Err(err) => {
            if !p.spc_existed {
                let _ = spcs.delete(&p.spc_name, &DeleteParams::default()).await;
            }
            return Err(api_error(err)).with_context(|| {
                format!(
                    "applying the pod template of {} in {ns} ({}){}",
                    p.target,
                    cluster.describe,
                    if p.spc_existed {
                        ""
                    } else {
                        "; the new SecretProviderClass was deleted again"
                    }
                )
            });
        }
    };
    if stored.is_some() && stored == p.workload_version {
        eprintln!("{} {ns}/{} unchanged", p.target.kind.word(), p.target.name);
    } else {
        eprintln!(
            "{} {ns}/{}: volume {} mounted read-only at {} in {} (its pods roll out)",
            p.target.kind.word(),
            p.target.name,
            workload::volume_name(&p.spc_name).unwrap_or_default(),
            p.mount_path,
            p.plan.containers.join(", ")
        );
    }
    Ok(())
}

/// One line per file for summaries: never a value.
pub(super) fn describe_objects(spec: &MountSpec) -> Vec<String> {
    spec.objects
        .iter()
        .map(|o| {
            let from = match &o.source {
                ObjectSource::Remote {
                    key,
                    property: Some(p),
                    ..
                } => format!("{key} property {p}"),
                ObjectSource::Remote {
                    key,
                    property: None,
                    ..
                } => format!("{key} (whole secret as JSON)"),
                ObjectSource::SealedSecret { name, key } => {
                    format!("sealedsecret {name} key {key}")
                }
            };
            format!("{} <- {from} (mode {:04o})", o.path, o.mode)
        })
        .collect()
}
