//! SecretStores and ClusterSecretStores as the person sees them: found by name, listed for the
//! wizard, told apart by provider ([`Found::provider`]: vault, aws, azurekv, gcpsm) with where
//! each keeps its secrets ([`Found::location`]: Vault server and mount, AWS region, Azure
//! vault URL, GCP project), and, for Vault, turned into the [`Coordinates`] of their Vault
//! (server, mount, KV version, namespace, CA) for reading with the person's own credentials.
//!
//! Data flow: `(kind, name, namespace)` → GET the store (a 404 names the kind and namespace
//! and what to do) → [`Found`] (one shape for both kinds) → [`Found::coordinates`]: the
//! `vault` provider's fields, the CA from `caBundle` (base64 PEM) or `caProvider` (a
//! Secret or ConfigMap key, read from the cluster in the namespace
//! `secrets_core::store::refs::ca_provider` says, the agent's own rule: a ClusterSecretStore's
//! `caProvider` must name its namespace). Nothing here reads the store's credentials.

use anyhow::{Context as _, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::ListParams;
use secrets_core::api::secret_store::{
    AwsProvider, AzureKvProvider, GcpSmProvider, StoreKind, VaultKvVersion, VaultProvider,
};
use secrets_core::api::{ClusterSecretStore, SecretStore, SecretStoreSpec};
use secrets_core::store::refs::{self, ObjectKind, Scope};

use crate::cluster::{Cluster, api_error, is_not_found};
use crate::remote::vault::Coordinates;

/// A store's provider block, the one the plugin reads through.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ProviderRef<'a> {
    Vault(&'a VaultProvider),
    Aws(&'a AwsProvider),
    Azure(&'a AzureKvProvider),
    Gcp(&'a GcpSmProvider),
}

impl ProviderRef<'_> {
    /// The provider's field name under `spec.provider` (the store type).
    pub(crate) fn name(self) -> &'static str {
        match self {
            ProviderRef::Vault(_) => "vault",
            ProviderRef::Aws(_) => "aws",
            ProviderRef::Azure(_) => "azurekv",
            ProviderRef::Gcp(_) => "gcpsm",
        }
    }

    /// Where the store keeps its secrets, for the wizard's list and messages:
    /// `https://v:8200, mount secret v2`, `AWS Secrets Manager, region eu-west-1`,
    /// `Azure Key Vault https://x.vault.azure.net`, `GCP Secret Manager, project p`.
    pub(crate) fn location(self) -> String {
        match self {
            ProviderRef::Vault(v) => format!(
                "{}, mount {} {}",
                v.server,
                v.mount(),
                match v.kv_version() {
                    VaultKvVersion::V1 => "v1",
                    VaultKvVersion::V2 => "v2",
                }
            ),
            ProviderRef::Aws(a) => {
                let prefix = a
                    .prefix
                    .as_deref()
                    .filter(|p| !p.is_empty())
                    .map_or_else(String::new, |p| format!(", prefix {p}"));
                format!("AWS Secrets Manager, region {}{prefix}", a.region)
            }
            ProviderRef::Azure(z) => format!("Azure Key Vault {}", z.vault_url),
            ProviderRef::Gcp(g) => {
                let location = g
                    .location
                    .as_deref()
                    .map_or_else(String::new, |l| format!(", location {l}"));
                format!(
                    "GCP Secret Manager, project {}{location}",
                    g.project_id.as_deref().unwrap_or("(not set)")
                )
            }
        }
    }
}

/// A store of either kind.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub(crate) kind: StoreKind,
    pub(crate) name: String,
    /// `None` for a ClusterSecretStore.
    pub(crate) namespace: Option<String>,
    pub(crate) spec: SecretStoreSpec,
}

impl Found {
    /// `SecretStore team/vault` or `ClusterSecretStore shared`.
    pub(crate) fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind.as_str(), self.name),
            None => format!("{} {}", self.kind.as_str(), self.name),
        }
    }

    /// The provider the store reads from, or why the plugin cannot read it.
    pub(crate) fn provider(&self) -> anyhow::Result<ProviderRef<'_>> {
        let p = &self.spec.provider;
        if let Some(v) = &p.vault {
            Ok(ProviderRef::Vault(v))
        } else if let Some(a) = &p.aws {
            Ok(ProviderRef::Aws(a))
        } else if let Some(z) = &p.azurekv {
            Ok(ProviderRef::Azure(z))
        } else if let Some(g) = &p.gcpsm {
            Ok(ProviderRef::Gcp(g))
        } else {
            let names: Vec<&str> = p.unknown.keys().map(String::as_str).collect();
            bail!(
                "{} has no provider this plugin reads ({}; vault, aws, azurekv and gcpsm are)",
                self.describe(),
                if names.is_empty() {
                    "none given".to_owned()
                } else {
                    names.join(", ")
                }
            )
        }
    }

    /// Where it keeps its secrets (see [`ProviderRef::location`]), or why it is unreadable.
    pub(crate) fn location(&self) -> String {
        match self.provider() {
            Ok(p) => p.location(),
            Err(_) => "no provider this plugin reads".to_owned(),
        }
    }

    /// The Vault provider block, or why there is none.
    pub(crate) fn vault(&self) -> anyhow::Result<&VaultProvider> {
        self.spec
            .provider
            .vault
            .as_ref()
            .with_context(|| format!("{} has no vault provider", self.describe()))
    }

    /// Where its Vault is; the CA is read from the cluster when the store names one there.
    pub(crate) async fn coordinates(&self, cluster: &Cluster) -> anyhow::Result<Coordinates> {
        let vault = self.vault()?;
        let ca_bundle = match (&vault.ca_bundle, &vault.ca_provider) {
            (Some(b64), _) => {
                use base64::Engine as _;
                let pem = base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| {
                        anyhow::anyhow!(
                            "{}: spec.provider.vault.caBundle is not base64",
                            self.describe()
                        )
                    })?;
                Some(pem)
            }
            (None, Some(_)) => {
                let scope = match &self.namespace {
                    Some(ns) => Scope::Namespaced(ns),
                    None => Scope::Cluster,
                };
                let ca = refs::ca_provider(vault, scope)
                    .map_err(anyhow::Error::new)
                    .with_context(|| format!("reading the CA of {}", self.describe()))?
                    .with_context(|| format!("{} has no caProvider", self.describe()))?;
                let ns = ca.namespace.as_str();
                let what = format!(
                    "the CA of {} ({ns}/{} key {})",
                    self.describe(),
                    ca.name,
                    ca.key
                );
                let pem = match ca.kind {
                    ObjectKind::Secret => get_object::<Secret>(cluster, ns, &ca.name, &what)
                        .await?
                        .data
                        .and_then(|mut d| d.remove(&ca.key))
                        .map(|v| v.0),
                    ObjectKind::ConfigMap => get_object::<ConfigMap>(cluster, ns, &ca.name, &what)
                        .await?
                        .data
                        .and_then(|mut d| d.remove(&ca.key))
                        .map(String::into_bytes),
                };
                Some(pem.with_context(|| format!("reading {what}: no such key"))?)
            }
            (None, None) => None,
        };
        Ok(Coordinates {
            server: vault.server.clone(),
            mount: vault.mount().to_owned(),
            engine: vault.kv_version(),
            namespace: vault.namespace.clone(),
            ca_bundle,
        })
    }
}

/// A namespaced object the store points at (its CA), `what` naming it in the error.
async fn get_object<K>(cluster: &Cluster, ns: &str, name: &str, what: &str) -> anyhow::Result<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    Api::<K>::namespaced(cluster.client.clone(), ns)
        .get(name)
        .await
        .map_err(api_error)
        .with_context(|| format!("reading {what}"))
}

/// The store an ExternalSecret in `namespace` would use.
pub(crate) async fn get(
    cluster: &Cluster,
    kind: StoreKind,
    name: &str,
    namespace: &str,
) -> anyhow::Result<Found> {
    let result = match kind {
        StoreKind::SecretStore => Api::<SecretStore>::namespaced(cluster.client.clone(), namespace)
            .get(name)
            .await
            .map(|s| found(kind, s)),
        StoreKind::ClusterSecretStore => Api::<ClusterSecretStore>::all(cluster.client.clone())
            .get(name)
            .await
            .map(|c| found(kind, c.into())),
    };
    match result {
        Ok(store) => Ok(store),
        Err(err) if is_not_found(&err) => {
            let (where_, other) = match kind {
                StoreKind::SecretStore => (
                    format!("in namespace {namespace}"),
                    "--store-kind ClusterSecretStore",
                ),
                StoreKind::ClusterSecretStore => {
                    ("in the cluster".to_owned(), "--store-kind SecretStore")
                }
            };
            bail!(
                "{} {name:?} not found {where_} ({}): create it (the `kubectl secrets sync` \
                 wizard can), or pass {other}",
                kind.as_str(),
                cluster.describe
            )
        }
        Err(err) => {
            Err(api_error(err)).with_context(|| format!("reading {} {name}", kind.as_str()))
        }
    }
}

fn found(kind: StoreKind, store: SecretStore) -> Found {
    Found {
        kind,
        name: store.metadata.name.unwrap_or_default(),
        namespace: store.metadata.namespace,
        spec: store.spec,
    }
}

/// Every store an ExternalSecret in `namespace` could name: the namespace's SecretStores,
/// then the ClusterSecretStores (skipped, with a note, when the person may not list them).
pub(crate) async fn list(cluster: &Cluster, namespace: &str) -> anyhow::Result<Vec<Found>> {
    let served = "the SecretStore resource (kubectl-secrets.io/v1alpha1) is not served: is the \
                  agent's CRD installed?";
    let stores = match Api::<SecretStore>::namespaced(cluster.client.clone(), namespace)
        .list(&ListParams::default())
        .await
    {
        Ok(list) => list.items,
        Err(err) if is_not_found(&err) => bail!("{served}"),
        Err(err) => {
            return Err(api_error(err)).with_context(|| {
                format!("listing SecretStores in {namespace} ({})", cluster.describe)
            });
        }
    };
    let mut out: Vec<Found> = stores
        .into_iter()
        .map(|s| found(StoreKind::SecretStore, s))
        .collect();
    match Api::<ClusterSecretStore>::all(cluster.client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(list) => out.extend(
            list.items
                .into_iter()
                .map(|c| found(StoreKind::ClusterSecretStore, c.into())),
        ),
        Err(err) => eprintln!("note: ClusterSecretStores not listed: {:#}", api_error(err)),
    }
    Ok(out)
}
