//! One `Mount` call, as its steps: parse the request → read the SecretProviderClass →
//! validate → check the pod's tokens → read (stores as the pod; mount-only SealedSecrets
//! through the controller) → answer.
//!
//! ```text
//!  MountRequest ─[request::parse]─▶ pod, tokens, attributes
//!  GET SecretProviderClass (pod's namespace) ─[MountSpec::from_parameters]─▶ objects
//!  [check_not_shadowed] attributes vs the SPC's own parameters
//!  remoteRef objects: identity::resolve_store ─▶ token for the audience ─[token::check_bound]
//!     ─▶ cache::SessionCache::lease (warm: no login) ─▶ one read per distinct (key, version)
//!  sealedSecret objects: token for `kubectl-secrets` ─[check_bound]─▶ link.open_sealed
//!  response::select ─▶ (cluster key, fetched once) ─▶ response::finish ─▶ MountResponse
//! ```
//!
//! Nothing is written anywhere; values live in zeroizing buffers until they move into the
//! answer, and no log line carries one (only pod, class, counts and failure messages).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use csi_provider_proto::v1alpha1::{MountRequest, MountResponse};
use secrets_core::mount::identity::MountLogin;
use secrets_core::mount::params::{MountSpec, ObjectSource, check_not_shadowed};
use secrets_core::mount::request::{self, MountAttributes, PodToken};
use secrets_core::mount::{CONTROLLER_AUDIENCE, token};
use secrets_core::store::{CallObserver, ErrorKind, FederatedToken, ReadKey, RemoteValue, Store};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::cache::{Identity, Presented, SessionCache};
use super::failure::MountFailure;
use super::identity::{self, MountStore};
use super::link::{ControllerLink, SealedItem};
use super::response;
use crate::metrics::Metrics;
use crate::secret_store::{OpenRequest, StoreFactory};

/// How the provider works, beside its collaborators.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most pod identities whose store login is kept.
    pub token_cache_size: usize,
    /// Limit of one store call.
    pub store_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            token_cache_size: 1024,
            store_timeout: Duration::from_secs(10),
        }
    }
}

/// The CSI provider: what every `Mount` call runs on.
pub struct Provider {
    kube: kube::Client,
    link: Arc<dyn ControllerLink>,
    factory: Arc<dyn StoreFactory>,
    metrics: Arc<Metrics>,
    observer: CallObserver,
    cache: SessionCache,
    version_key: tokio::sync::OnceCell<Zeroizing<Vec<u8>>>,
    settings: Settings,
}

impl Provider {
    /// A provider reading the API through `kube`, SealedSecrets and the cluster key through
    /// `link`, stores built by `factory` (the agent's `Providers`; tests may pass another).
    pub fn new(
        kube: kube::Client,
        link: Arc<dyn ControllerLink>,
        factory: Arc<dyn StoreFactory>,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Self {
        let counted = Arc::clone(&metrics);
        let observer: CallObserver = Arc::new(move |store, call, outcome| {
            counted.provider_call(store.as_str(), call, outcome);
        });
        Provider {
            kube,
            link,
            factory,
            observer,
            metrics,
            cache: SessionCache::new(settings.token_cache_size),
            version_key: tokio::sync::OnceCell::new(),
            settings,
        }
    }

    /// The metrics it counts into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Revoke every cached store login (at shutdown).
    pub async fn close(&self) {
        self.cache.close_all().await;
    }

    /// Answer one `Mount` call.
    pub async fn mount(&self, request: &MountRequest) -> Result<MountResponse, MountFailure> {
        let attributes = request::parse(&request.attributes, &request.secrets, &request.permission)
            .map_err(|e| MountFailure::new(ErrorKind::InvalidConfig, e.to_string()))?;
        let pod = format!("{}/{}", attributes.pod.namespace, attributes.pod.name);
        let result = self.mount_for(&attributes).await.map_err(|f| f.pod(&pod));
        match &result {
            Ok(answer) => tracing::debug!(
                pod = %pod,
                class = %attributes.secret_provider_class,
                files = answer.files.len(),
                "mounted"
            ),
            Err(failure) => tracing::info!(pod = %pod, error = %failure, "mount failed"),
        }
        result
    }

    async fn mount_for(&self, attributes: &MountAttributes) -> Result<MountResponse, MountFailure> {
        let pod = &attributes.pod;
        let class = &attributes.secret_provider_class;
        let spc_label = format!("SecretProviderClass {class:?}");
        let parameters = identity::read_spc(&self.kube, &pod.namespace, class)
            .await
            .map_err(|f| f.source(spc_label.clone()))?;
        let invalid = |cause: String| {
            MountFailure::new(ErrorKind::InvalidConfig, cause).source(spc_label.clone())
        };
        let spec = MountSpec::from_parameters(&parameters).map_err(|e| invalid(e.to_string()))?;
        check_not_shadowed(&attributes.parameters, &parameters)
            .map_err(|e| invalid(e.to_string()))?;

        let (reads, store_label) = match &spec.store {
            Some(store_ref) if has_remote(&spec) => {
                let login = MountLogin {
                    audience: spec.audience.as_deref(),
                    aws_auth: spec.aws_auth.as_deref(),
                };
                let store = identity::resolve_store(&self.kube, store_ref, &pod.namespace, login)
                    .await
                    .map_err(|f| f.paths(remote_paths(&spec)))?;
                let reads = self
                    .read_remote(attributes, &spec, &store)
                    .await
                    .map_err(|f| f.source(store.label.clone()))?;
                (reads, store.label)
            }
            _ => (HashMap::new(), String::new()),
        };
        let sealed = self.open_sealed(attributes, &spec).await?;
        let pending = response::select(&spec.objects, &reads, sealed, &store_label)?;
        let key = if pending.iter().any(response::Pending::needs_key) {
            Some(self.version_key().await?)
        } else {
            None
        };
        response::finish(pending, key.map(|k| k.as_slice()))
            .map_err(|f| f.paths(spec.objects.iter().map(|o| o.path.clone())))
    }

    /// The pod's token for `audience`, checked to be this pod's and unexpired; its `exp`.
    fn pod_token<'a>(
        attributes: &'a MountAttributes,
        audience: &str,
    ) -> Result<(&'a PodToken, i64), MountFailure> {
        let credentials = |cause: String| MountFailure::new(ErrorKind::Credentials, cause);
        let found = attributes
            .token(audience)
            .map_err(|e| credentials(e.to_string()))?;
        let claims =
            token::claims(&found.token, audience).map_err(|e| credentials(e.to_string()))?;
        token::check_bound(
            &claims,
            audience,
            &attributes.pod,
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| credentials(e.to_string()))?;
        Ok((found, claims.expires))
    }

    /// Log in as the pod (or reuse its proven login) and read each distinct key once.
    async fn read_remote(
        &self,
        attributes: &MountAttributes,
        spec: &MountSpec,
        store: &MountStore,
    ) -> Result<HashMap<ReadKey, RemoteValue>, MountFailure> {
        let paths = remote_paths(spec);
        let (pod_token, expires) = Self::pod_token(attributes, &store.auth.audience)
            .map_err(|f| f.paths(paths.clone()))?;
        let pod = &attributes.pod;
        let federated = if store.spec.provider.vault.is_some() {
            None
        } else {
            Some(FederatedToken {
                audiences: vec![store.auth.audience.clone()],
                namespace: pod.namespace.clone(),
                service_account: pod.service_account.clone(),
                annotations: if store.auth.annotations {
                    identity::account_annotations(&self.kube, &pod.namespace, &pod.service_account)
                        .await
                        .map_err(|f| f.paths(paths.clone()))?
                } else {
                    BTreeMap::new()
                },
                pod_identity: store.auth.pod_identity,
                ..FederatedToken::default()
            })
        };
        let identity = Identity {
            store: store.id.clone(),
            namespace: pod.namespace.clone(),
            service_account: pod.service_account.clone(),
            login: store.auth.login.clone(),
            annotations: federated
                .as_ref()
                .map(|f| f.annotations.clone())
                .unwrap_or_default(),
        };
        let presented = Presented {
            token: &pod_token.token,
            expires,
            now: OffsetDateTime::now_utc().unix_timestamp(),
            spec_version: &store.version,
            federated: federated.as_ref(),
        };
        let lease = self
            .cache
            .lease(&identity, presented, |credentials| {
                self.factory.open(OpenRequest {
                    label: format!("{} for pod {}", store.label, attributes.pod.name),
                    spec: &store.spec,
                    ca_pem: store.ca_pem.clone(),
                    credentials,
                    timeout: self.settings.store_timeout,
                    observer: self.observer.clone(),
                })
            })
            .await
            .map_err(|e| {
                MountFailure::store(&e.context(format!(
                    "logging in as service account {} ({})",
                    attributes.pod.service_account, store.auth.login
                )))
                .paths(paths.clone())
            })?;
        read_all(lease.store(), spec).await
    }

    /// Ask the controller for the mount-only SealedSecret objects, if any.
    async fn open_sealed(
        &self,
        attributes: &MountAttributes,
        spec: &MountSpec,
    ) -> Result<HashMap<String, super::link::SealedFile>, MountFailure> {
        let items: Vec<SealedItem> = spec
            .objects
            .iter()
            .filter_map(|o| match &o.source {
                ObjectSource::SealedSecret { name, key } => Some(SealedItem {
                    path: o.path.clone(),
                    name: name.clone(),
                    key: key.clone(),
                }),
                ObjectSource::Remote { .. } => None,
            })
            .collect();
        if items.is_empty() {
            return Ok(HashMap::new());
        }
        let paths: Vec<String> = items.iter().map(|i| i.path.clone()).collect();
        let names: BTreeSet<&str> = items.iter().map(|i| i.name.as_str()).collect();
        let source = format!(
            "SealedSecret {}",
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let (token, _) = Self::pod_token(attributes, CONTROLLER_AUDIENCE)
            .map_err(|f| f.paths(paths.clone()).source(source.clone()))?;
        let files = self
            .link
            .open_sealed(&attributes.pod, token, &items)
            .await
            .map_err(|e| {
                MountFailure::raw(e.category, code_of_category(e.category), e.message)
                    .paths(paths)
                    .source(source)
            })?;
        Ok(files.into_iter().map(|f| (f.path.clone(), f)).collect())
    }

    /// The cluster key for HMAC versions, asked of the controller once and kept in memory.
    async fn version_key(&self) -> Result<&Zeroizing<Vec<u8>>, MountFailure> {
        self.version_key
            .get_or_try_init(|| self.link.version_key())
            .await
            .map_err(|e| {
                MountFailure::raw(
                    e.category,
                    code_of_category(e.category),
                    format!(
                        "fetching the cluster key for object versions: {}",
                        e.message
                    ),
                )
            })
    }
}

fn has_remote(spec: &MountSpec) -> bool {
    spec.objects
        .iter()
        .any(|o| matches!(o.source, ObjectSource::Remote { .. }))
}

fn remote_paths(spec: &MountSpec) -> Vec<String> {
    spec.objects
        .iter()
        .filter(|o| matches!(o.source, ObjectSource::Remote { .. }))
        .map(|o| o.path.clone())
        .collect()
}

/// The gRPC code of a category name the link reports.
fn code_of_category(category: &str) -> tonic::Code {
    ErrorKind::ALL
        .into_iter()
        .find(|k| k.category() == category)
        .map_or(tonic::Code::Unknown, super::failure::code_of)
}

/// One read per distinct (key, version), all at once; a failure names the objects it feeds.
async fn read_all(
    store: &dyn Store,
    spec: &MountSpec,
) -> Result<HashMap<ReadKey, RemoteValue>, MountFailure> {
    let mut wanted: BTreeMap<ReadKey, Vec<String>> = BTreeMap::new();
    for object in &spec.objects {
        if let ObjectSource::Remote { key, version, .. } = &object.source {
            wanted
                .entry(ReadKey {
                    key: key.clone(),
                    version: version.clone(),
                    metadata: false,
                })
                .or_default()
                .push(object.path.clone());
        }
    }
    for (read, paths) in &wanted {
        if let Some(version) = &read.version {
            store.check_version(version).map_err(|why| {
                MountFailure::new(
                    ErrorKind::InvalidConfig,
                    format!("remoteRef.version {version:?} of {:?} {why}", read.key),
                )
                .paths(paths.clone())
            })?;
        }
    }
    let reads = wanted.iter().map(|(read, paths)| async move {
        store
            .read(read)
            .await
            .map(|value| (read.clone(), value))
            .map_err(|e| MountFailure::store(&e).paths(paths.clone()))
    });
    Ok(futures::future::try_join_all(reads)
        .await?
        .into_iter()
        .collect())
}
