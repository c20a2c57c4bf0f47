//! `status [-A]`: the SealedSecrets and ExternalSecrets in the cluster and what the agent made
//! of them.
//!
//! Flow: connect → list SealedSecrets (ours; with `--bitnami` Bitnami's too), then
//! ExternalSecrets (skipped, with a note, when not served or not listable), in `-n` (else the
//! context's namespace) or every namespace → list Secret metadata only (never values) to read
//! each produced Secret's `kubectl-secrets.io/key-fingerprint` annotation, taken only from a
//! Secret whose controller owner reference is that SealedSecret's uid → table on stdout:
//! NAMESPACE (with -A), NAME, KIND, READY, REASON, AGE, KEY; or with `-o json|yaml` a list of
//! [`Report`]s (docs/seal.md documents this shape). `sync status` shows more of each
//! ExternalSecret (store, last sync, next refresh).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::{Api, Resource};
use secrets_core::api::sealed_secret::{BitnamiSealedSecret, SealedSecret};
use secrets_core::api::{ExternalSecret, ready_condition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cli::{GlobalFlags, StatusArgs};
use crate::cluster::{self, Cluster, api_error, is_not_found};
use crate::output::{age, emit, render, table};

/// Annotation the agent writes on each Secret it made: the key that opened it.
const KEY_FINGERPRINT: &str = "kubectl-secrets.io/key-fingerprint";
/// Annotations by which a SealedSecret asks for no owner reference on its Secret.
const SKIP_OWNER: [&str; 2] = [
    "kubectl-secrets.io/skip-set-owner-references",
    "sealedsecrets.bitnami.com/skip-set-owner-references",
];
/// The KIND column.
const SEALED: &str = "SealedSecret";
const EXTERNAL: &str = "ExternalSecret";
/// `SHA256:` and 12 hex digits are plenty to tell keys apart in a table.
const FINGERPRINT_SHOWN: usize = 19;

/// One row, before formatting.
struct Row {
    namespace: String,
    name: String,
    uid: String,
    /// The SealedSecret asks for no owner reference on its Secret, so ownership cannot be
    /// checked and the Secret's annotation is taken as it is.
    unowned: bool,
    group: &'static str,
    /// `SealedSecret` or `ExternalSecret`.
    kind: &'static str,
    /// The readiness condition: status, reason, message.
    ready: Option<(String, Option<String>, Option<String>)>,
    observed_generation: Option<i64>,
    generation: Option<i64>,
    created: Option<i64>,
}

/// One SealedSecret or ExternalSecret for `-o json|yaml` (docs/seal.md documents this shape).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    /// `SealedSecret` or `ExternalSecret`.
    kind: &'static str,
    namespace: String,
    name: String,
    /// `kubectl-secrets.io` or `bitnami.com`.
    group: &'static str,
    /// `True`, `False`, or `Unknown` (no status yet, or the status is for an older spec).
    ready: String,
    reason: String,
    message: String,
    /// RFC 3339.
    created: Option<String>,
    /// The key that opened it (`SHA256:…`, whole), from the Secret it owns; `None` when no
    /// Secret of its own says, and always for an ExternalSecret.
    key_fingerprint: Option<String>,
}

/// A produced Secret's metadata that matters here.
struct Made {
    fingerprint: String,
    /// UIDs of the Secret's controller owner references.
    owners: Vec<String>,
}

pub(crate) fn run(global: &GlobalFlags, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let (rows, made, scope) = cluster::block_on(async {
        let cluster = cluster::connect(global).await?;
        let ns = (!args.all_namespaces).then(|| cluster.namespace.clone());
        let mut rows =
            list::<SealedSecret>(&cluster, ns.as_deref(), ("kubectl-secrets.io", SEALED))
                .await
                .map_err(api_error)
                .with_context(|| format!("listing SealedSecrets in {}", cluster.describe))?
                .context(
                    "the SealedSecret resource (kubectl-secrets.io/v1alpha1) is not served: \
                 is the agent's CRD installed?",
                )?;
        if args.bitnami {
            match list::<BitnamiSealedSecret>(&cluster, ns.as_deref(), ("bitnami.com", SEALED))
                .await
                .map_err(api_error)
                .with_context(|| {
                    format!("listing bitnami.com SealedSecrets in {}", cluster.describe)
                })? {
                Some(more) => rows.extend(more),
                None => eprintln!("bitnami.com SealedSecrets are not served in this cluster"),
            }
        }
        rows.extend(external_secrets(&cluster, ns.as_deref()).await?);
        let made = made_secrets(&cluster, ns.as_deref()).await?;
        let scope = ns.map_or_else(|| "any namespace".to_owned(), |n| format!("namespace {n}"));
        Ok((rows, made, scope))
    })?;
    let reports: Vec<Report> = rows.iter().map(|row| report(row, &made)).collect();
    if let Some(format) = args.output {
        emit(&render(&reports, format)?, None)?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no SealedSecrets or ExternalSecrets found in {scope}");
        return Ok(ExitCode::SUCCESS);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut header = vec!["NAMESPACE", "NAME", "KIND", "READY", "REASON", "AGE", "KEY"];
    if args.bitnami {
        header.push("GROUP");
    }
    let mut table_rows: Vec<[String; COLUMNS]> = vec![header_row(&header)];
    for (row, report) in rows.iter().zip(reports) {
        let key = report
            .key_fingerprint
            .map(|f| f.chars().take(FINGERPRINT_SHOWN).collect())
            .unwrap_or_else(|| "-".to_owned());
        let age = row.created.map_or_else(|| "-".to_owned(), |t| age(now - t));
        table_rows.push([
            report.namespace,
            report.name,
            report.kind.to_owned(),
            report.ready,
            report.reason,
            age,
            key,
            row.group.to_owned(),
        ]);
    }
    let rendered = table(&select(&table_rows, args.all_namespaces, args.bitnami));
    emit(&rendered, None)?;
    Ok(ExitCode::SUCCESS)
}

/// What one object's status says, and (for a SealedSecret) the key of the Secret it owns
/// (not merely one of the same name: that may be someone else's).
fn report(row: &Row, made: &BTreeMap<(String, String), Made>) -> Report {
    let (ready, reason, message) = crate::output::ready_columns(
        row.ready.as_ref().map(|(status, reason, message)| {
            (status.as_str(), reason.as_deref(), message.as_deref())
        }),
        row.observed_generation,
        row.generation,
    );
    let key_fingerprint = made
        .get(&(row.namespace.clone(), row.name.clone()))
        .filter(|_| row.kind == SEALED)
        .filter(|m| row.unowned || m.owners.contains(&row.uid))
        .map(|m| m.fingerprint.clone());
    let created = row
        .created
        .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
        .map(secrets_core::rfc3339::format);
    Report {
        kind: row.kind,
        namespace: row.namespace.clone(),
        name: row.name.clone(),
        group: row.group,
        ready,
        reason,
        message,
        created,
        key_fingerprint,
    }
}

/// NAMESPACE, NAME, KIND, READY, REASON, AGE, KEY, GROUP.
const COLUMNS: usize = 8;

fn header_row(header: &[&str]) -> [String; COLUMNS] {
    let mut row: [String; COLUMNS] = Default::default();
    for (cell, text) in row.iter_mut().zip(header) {
        *cell = (*text).to_owned();
    }
    row
}

/// Drop NAMESPACE without -A and GROUP without --bitnami (by blanking: `table` trims).
fn select(rows: &[[String; COLUMNS]], namespaces: bool, group: bool) -> Vec<[String; COLUMNS]> {
    rows.iter()
        .map(|row| {
            let mut cells: Vec<String> = Vec::with_capacity(COLUMNS);
            if namespaces {
                cells.push(row[0].clone());
            }
            cells.extend(row[1..COLUMNS - 1].iter().cloned());
            if group {
                cells.push(row[COLUMNS - 1].clone());
            }
            let mut out: [String; COLUMNS] = Default::default();
            for (slot, cell) in out.iter_mut().zip(cells) {
                *slot = cell;
            }
            out
        })
        .collect()
}

/// Rows for one kind; `None` when the API server does not serve it.
async fn list<K>(
    cluster: &Cluster,
    namespace: Option<&str>,
    (group, kind): (&'static str, &'static str),
) -> Result<Option<Vec<Row>>, kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Readiness,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(cluster.client.clone(), ns),
        None => Api::all(cluster.client.clone()),
    };
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(err),
    };
    Ok(Some(
        list.items
            .into_iter()
            .map(|item| {
                let meta = item.meta();
                let unowned = meta.annotations.as_ref().is_some_and(|a| {
                    SKIP_OWNER
                        .iter()
                        .any(|key| a.get(*key).is_some_and(|v| v == "true"))
                });
                let (ready, observed_generation) = item.readiness();
                Row {
                    namespace: meta.namespace.clone().unwrap_or_default(),
                    name: meta.name.clone().unwrap_or_default(),
                    uid: meta.uid.clone().unwrap_or_default(),
                    unowned,
                    group,
                    kind,
                    ready,
                    observed_generation,
                    generation: meta.generation,
                    created: meta.creation_timestamp.as_ref().map(|t| t.0.as_second()),
                }
            })
            .collect(),
    ))
}

/// The ExternalSecret rows, or none (with a note on stderr) when this cluster does not serve
/// them or this person may not list them: `status` is first the SealedSecret view.
async fn external_secrets(cluster: &Cluster, namespace: Option<&str>) -> anyhow::Result<Vec<Row>> {
    match list::<ExternalSecret>(cluster, namespace, ("kubectl-secrets.io", EXTERNAL)).await {
        Ok(rows) => Ok(rows.unwrap_or_default()),
        Err(kube::Error::Api(status)) if status.code == 403 => {
            eprintln!("ExternalSecrets not shown: listing them is forbidden");
            Ok(Vec::new())
        }
        Err(err) => Err(api_error(err))
            .with_context(|| format!("listing ExternalSecrets in {}", cluster.describe)),
    }
}

/// The readiness condition (status, reason, message) and the generation it is for.
type Ready = (
    Option<(String, Option<String>, Option<String>)>,
    Option<i64>,
);

/// Each kind says "ready" in its own condition: `Ready` for ours, `Synced` for Bitnami's.
trait Readiness {
    fn readiness(&self) -> Ready;
}

impl Readiness for SealedSecret {
    fn readiness(&self) -> Ready {
        sealed_readiness(self.status.as_ref(), "Ready")
    }
}

impl Readiness for BitnamiSealedSecret {
    fn readiness(&self) -> Ready {
        sealed_readiness(self.status.as_ref(), "Synced")
    }
}

fn sealed_readiness(
    status: Option<&secrets_core::api::sealed_secret::SealedSecretStatus>,
    ready_type: &str,
) -> Ready {
    let condition = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == ready_type));
    (
        condition.map(|c| (c.status.clone(), c.reason.clone(), c.message.clone())),
        status.and_then(|s| s.observed_generation),
    )
}

impl Readiness for ExternalSecret {
    fn readiness(&self) -> Ready {
        let Some(status) = self.status.as_ref() else {
            return (None, None);
        };
        (
            ready_condition(&status.conditions)
                .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone())),
            status.observed_generation,
        )
    }
}

/// `(namespace, name)` → the fingerprint annotation and controller owners, from Secret
/// metadata only.
async fn made_secrets(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> anyhow::Result<BTreeMap<(String, String), Made>> {
    let api: Api<Secret> = match namespace {
        Some(ns) => Api::namespaced(cluster.client.clone(), ns),
        None => Api::all(cluster.client.clone()),
    };
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .map_err(api_error)
        .with_context(|| format!("listing Secrets in {}", cluster.describe))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|secret| {
            let meta = secret.metadata;
            let fingerprint = meta.annotations?.remove(KEY_FINGERPRINT)?;
            let owners = meta
                .owner_references
                .unwrap_or_default()
                .into_iter()
                .filter(|r| r.controller == Some(true))
                .map(|r| r.uid)
                .collect();
            Some((
                (meta.namespace.unwrap_or_default(), meta.name?),
                Made {
                    fingerprint,
                    owners,
                },
            ))
        })
        .collect())
}
