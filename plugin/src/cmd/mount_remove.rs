//! `mount KIND/NAME --remove [--spc NAME]`: undo an earlier `mount`.
//!
//! Flow: connect → the live workload → `mount::workload::plan` without this
//! SecretProviderClass (our other mounts kept) → with `--dry-run` / `-o` the configuration is
//! printed → else, when the workload has our volume for it, server-side apply of the
//! configuration (the API server drops the volume and mounts our field manager no longer
//! applies; fields other managers own stay) → the SecretProviderClass deleted if ours and no
//! other workload in the namespace mounts it. Removing twice is a no-op that says so.

use std::process::ExitCode;

use anyhow::Context as _;
use kube::api::{DeleteParams, ListParams};

use crate::cli::{GlobalFlags, MountArgs};
use crate::cluster::{self, Cluster, api_error};
use crate::mount::spc;
use crate::mount::workload::{self, Kind, WorkloadRef};
use crate::output::emit_manifests;

use super::mount::{apply, read_spc, read_workload, spc_api, workload_api};

/// `--remove`: the volume and its mounts out of the pod template, the SecretProviderClass
/// deleted unless another workload still mounts it.
pub(super) fn run(
    global: &GlobalFlags,
    args: &MountArgs,
    target: &WorkloadRef,
    spc_name: &str,
) -> anyhow::Result<ExitCode> {
    cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let ns = cluster.namespace.clone();
        let live = read_workload(&cluster, &ns, target).await?;
        let plan = workload::plan(&live, target, spc_name, None).map_err(anyhow::Error::msg)?;
        let existing = read_spc(&cluster, &ns, spc_name).await?;
        let ours = existing.as_ref().is_some_and(spc::is_ours);
        if args.manifest.format().is_some() {
            emit_manifests(&[&plan.config], &args.manifest)?;
            if ours {
                eprintln!("would delete secretproviderclass {ns}/{spc_name}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        if plan.had {
            apply(
                &workload_api(&cluster, &ns, target.kind),
                &target.name,
                &plan.config,
            )
            .await
            .map_err(api_error)
            .with_context(|| {
                format!(
                    "applying the pod template of {target} in {ns} ({})",
                    cluster.describe
                )
            })?;
            eprintln!(
                "{} {ns}/{}: volume of secretproviderclass {spc_name} removed",
                target.kind.word(),
                target.name
            );
        } else {
            eprintln!(
                "{} {ns}/{} has no volume of secretproviderclass {spc_name} from kubectl-secrets",
                target.kind.word(),
                target.name
            );
        }
        match existing {
            Some(_) if !ours => eprintln!(
                "secretproviderclass {ns}/{spc_name} was not written by kubectl-secrets; left as it is"
            ),
            Some(_) => {
                let users = users_of(&cluster, &ns, spc_name, target).await?;
                if users.is_empty() {
                    spc_api(&cluster, &ns)
                        .delete(spc_name, &DeleteParams::default())
                        .await
                        .map_err(api_error)
                        .with_context(|| format!("deleting secretproviderclass {ns}/{spc_name}"))?;
                    eprintln!("secretproviderclass {ns}/{spc_name} deleted");
                } else {
                    eprintln!(
                        "secretproviderclass {ns}/{spc_name} kept: {} still mount{} it",
                        users.join(", "),
                        if users.len() == 1 { "s" } else { "" }
                    );
                }
            }
            None => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The workloads in `namespace` other than `except` whose pod template mounts `spc_name`.
async fn users_of(
    cluster: &Cluster,
    namespace: &str,
    spc_name: &str,
    except: &WorkloadRef,
) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for kind in Kind::ALL {
        let list = workload_api(cluster, namespace, kind)
            .list(&ListParams::default())
            .await
            .map_err(api_error)
            .with_context(|| format!("listing {}s in {namespace}", kind.word()))?;
        for item in list.items {
            let name = item.metadata.name.clone().unwrap_or_default();
            if kind == except.kind && name == except.name {
                continue;
            }
            let value = serde_json::to_value(&item)?;
            let uses = value["spec"]["template"]["spec"]["volumes"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| workload::spc_of(v) == Some(spc_name)));
            if uses {
                out.push(format!("{}/{name}", kind.word()));
            }
        }
    }
    Ok(out)
}
