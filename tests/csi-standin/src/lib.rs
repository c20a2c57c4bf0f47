//! csi-standin: the Secrets Store CSI Driver v1.6 and kubelet, played for one pod, so tests
//! and the demo can mount a provider's volume without a node. Test equipment, never shipped.
//!
//! Data flow of [`CsiStandin::mount`]: read the Pod and pick its `secrets-store.csi.k8s.io`
//! volume (`request`); as kubelet, read the volume's `nodePublishSecretRef` Secret and request
//! a token bound to the pod for each configured audience; as the driver, refuse a volume that
//! is not read-only, read the SecretProviderClass in the pod's namespace, refuse empty
//! parameters or an unknown provider, and build the MountRequest exactly as driver v1.6 does
//! ([`CsiStandin::mount_request`] stops here, so a test can tamper with it and send it
//! itself); call `Version` and `Mount` on `<providers-dir>/<provider>.sock`; check the answer
//! (`check`); write the files with kubelet's atomic-writer layout (`writer`); record the
//! SecretProviderClassPodStatus (`status`). Secret bytes stay in zeroizing buffers; nothing
//! here prints a value.

pub mod check;
pub mod crds;
mod error;
mod kubelet;
pub mod provider;
pub mod request;
pub mod status;
pub mod writer;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use csi_provider_proto::v1alpha1::MountRequest;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject};
use zeroize::Zeroize;

pub use check::{Checked, File, check_response};
pub use crds::install_crds;
pub use error::MountFailure;
pub use provider::{API_VERSION, call_mount, is_semver, version};
pub use request::PodInfo;

use request::{CsiVolume, Inputs};

/// The driver's default `--provider-volume`.
pub const DEFAULT_PROVIDERS_DIR: &str = "/var/run/secrets-store-csi-providers";
/// The node name recorded in the pod status label by default.
pub const DEFAULT_NODE_NAME: &str = "standin-node";

/// One entry of the CSIDriver's `tokenRequests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAudience {
    /// Empty: the API server's own audience (kubelet then requests no audience).
    pub audience: String,
    /// None: the API server's default lifetime (one hour).
    pub expiration_seconds: Option<i64>,
}

impl From<&str> for TokenAudience {
    fn from(audience: &str) -> Self {
        TokenAudience {
            audience: audience.to_owned(),
            expiration_seconds: None,
        }
    }
}

/// Where provider sockets are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Providers {
    /// `<dir>/<provider>.sock`, as the driver looks them up.
    Dir(PathBuf),
    /// This socket, whatever the SecretProviderClass's provider is called (the name is still
    /// checked against the driver's pattern).
    Socket(PathBuf),
}

impl Providers {
    /// A directory if `path` is one, else a socket path.
    pub fn from_path(path: impl Into<PathBuf>) -> Providers {
        let path = path.into();
        if path.is_dir() {
            Providers::Dir(path)
        } else {
            Providers::Socket(path)
        }
    }

    fn locate(&self, provider: &str) -> Result<PathBuf, MountFailure> {
        if !request::valid_provider_name(provider) {
            return Err(MountFailure::InvalidProvider(provider.to_owned()));
        }
        let socket = match self {
            Providers::Dir(dir) => dir.join(format!("{provider}.sock")),
            Providers::Socket(socket) => socket.clone(),
        };
        if socket.exists() {
            Ok(socket)
        } else {
            Err(MountFailure::ProviderNotFound(provider.to_owned()))
        }
    }
}

/// The driver and kubelet for one node.
#[derive(Clone)]
pub struct CsiStandin {
    client: kube::Client,
    providers: Providers,
    tokens: Vec<TokenAudience>,
    node_name: String,
    volume: Option<String>,
    tokens_in_secrets: bool,
}

/// A MountRequest ready to send, and what it is for. Its attributes and secrets (tokens,
/// Secret data) are wiped on drop; `Debug` shows neither.
pub struct Prepared {
    pub request: MountRequest,
    pub socket: PathBuf,
    pub pod: PodInfo,
    pub volume: String,
    pub secret_provider_class: String,
    pub provider: String,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared")
            .field("socket", &self.socket)
            .field("pod", &self.pod)
            .field("volume", &self.volume)
            .field("secret_provider_class", &self.secret_provider_class)
            .field("provider", &self.provider)
            .field("target_path", &self.request.target_path)
            .finish_non_exhaustive()
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        self.request.attributes.zeroize();
        self.request.secrets.zeroize();
    }
}

/// A completed mount.
#[derive(Debug, Clone)]
pub struct Mounted {
    /// What the provider returned (and what was written), in its order.
    pub files: Vec<File>,
    /// `(id, version)` in the provider's order.
    pub versions: Vec<(String, String)>,
    /// The `target_path` the provider was told.
    pub target_path: String,
    /// The timestamped directory `..data` points to (empty when the provider returned no
    /// files: the driver then assumes it wrote them itself and writes nothing).
    pub data_dir: String,
    /// False when the files equalled what was mounted and nothing was rewritten.
    pub changed: bool,
    /// The SecretProviderClassPodStatus recorded.
    pub pod_status: String,
    /// The provider's `Version` answer.
    pub runtime_name: String,
    pub runtime_version: String,
}

impl CsiStandin {
    /// A stand-in reading the cluster through `client`, finding providers at `providers` (a
    /// socket directory or one socket: [`Providers::from_path`]) and requesting pod-bound
    /// tokens for `audiences` (the CSIDriver's `tokenRequests`; empty: none).
    pub fn new(
        client: kube::Client,
        providers: impl Into<PathBuf>,
        audiences: Vec<String>,
    ) -> CsiStandin {
        CsiStandin {
            client,
            providers: Providers::from_path(providers),
            tokens: audiences
                .iter()
                .map(|a| TokenAudience::from(a.as_str()))
                .collect(),
            node_name: DEFAULT_NODE_NAME.to_owned(),
            volume: None,
            tokens_in_secrets: false,
        }
    }

    /// Where provider sockets are, explicitly.
    pub fn with_providers(mut self, providers: Providers) -> Self {
        self.providers = providers;
        self
    }

    /// The CSIDriver's `tokenRequests`, with lifetimes.
    pub fn with_token_requests(mut self, tokens: Vec<TokenAudience>) -> Self {
        self.tokens = tokens;
        self
    }

    /// Mount the pod's volume of this name (default: its only one).
    pub fn with_volume(mut self, volume: impl Into<String>) -> Self {
        self.volume = Some(volume.into());
        self
    }

    /// The node name in the pod status label.
    pub fn with_node_name(mut self, node: impl Into<String>) -> Self {
        self.node_name = node.into();
        self
    }

    /// The CSIDriver's `serviceAccountTokenInSecrets` (Kubernetes ≥ 1.35 charts): the tokens
    /// travel in `secrets` (and so in both `secrets` and `attributes`).
    pub fn with_tokens_in_secrets(mut self, yes: bool) -> Self {
        self.tokens_in_secrets = yes;
        self
    }

    /// Mounts the pod's volume into `target_dir`: [`CsiStandin::mount_request`] then
    /// [`CsiStandin::send`]. Mounting again is a rotation: the files are replaced atomically.
    pub async fn mount(
        &self,
        namespace: &str,
        pod: &str,
        target_dir: &Path,
    ) -> Result<Mounted, MountFailure> {
        let prepared = self.mount_request(namespace, pod).await?;
        self.send(&prepared, target_dir).await
    }

    /// Everything kubelet and the driver do before calling the provider: the request, and
    /// the socket it would go to.
    pub async fn mount_request(
        &self,
        namespace: &str,
        pod_name: &str,
    ) -> Result<Prepared, MountFailure> {
        let pod = Api::<Pod>::namespaced(self.client.clone(), namespace)
            .get(pod_name)
            .await
            .map_err(|source| MountFailure::Pod {
                namespace: namespace.to_owned(),
                name: pod_name.to_owned(),
                source: Box::new(source),
            })?;
        let info = PodInfo::from_pod(&pod)?;
        let volume = request::find_volume(&pod, self.volume.as_deref())?;

        // kubelet, before NodePublishVolume.
        let mut node_publish_secret = match &volume.node_publish_secret {
            Some(name) => Some(kubelet::secret_data(&self.client, namespace, name).await?),
            None => None,
        };
        let tokens = if self.tokens.is_empty() {
            None
        } else {
            Some(zeroize::Zeroizing::new(
                kubelet::tokens_json(&self.client, &self.tokens, &info).await?,
            ))
        };

        // The driver's NodePublishVolume.
        let (spc_name, parameters, provider) = self.secret_provider_class(&volume, &info).await?;
        let socket = self.providers.locate(&provider)?;
        let request = request::build(&Inputs {
            pod: &info,
            volume: &volume,
            parameters: &parameters,
            node_publish_secret: node_publish_secret.as_ref(),
            tokens: tokens.as_deref().map(String::as_str),
            tokens_in_secrets: self.tokens_in_secrets,
        });
        if let Some(data) = node_publish_secret.as_mut() {
            request::wipe(data);
        }
        Ok(Prepared {
            request: request?,
            socket,
            pod: info,
            volume: volume.name,
            secret_provider_class: spc_name,
            provider,
        })
    }

    /// Sends `prepared.request` (as built, or tampered with by a test) to its socket, checks
    /// the answer, writes the files into `target_dir` and records the pod status.
    pub async fn send(
        &self,
        prepared: &Prepared,
        target_dir: &Path,
    ) -> Result<Mounted, MountFailure> {
        let version = version(&prepared.socket).await?;
        let response = call_mount(&prepared.socket, prepared.request.clone()).await?;
        let checked = check_response(response)?;
        let (data_dir, changed) = if checked.files.is_empty() {
            (String::new(), false)
        } else {
            let files = checked.files.clone();
            let dir = target_dir.to_path_buf();
            let written = tokio::task::spawn_blocking(move || writer::write_payload(&dir, &files))
                .await
                .map_err(|join| MountFailure::Write {
                    dir: target_dir.to_path_buf(),
                    source: std::io::Error::other(join),
                })?
                .map_err(|source| MountFailure::Write {
                    dir: target_dir.to_path_buf(),
                    source,
                })?;
            (written.data_dir, written.changed)
        };
        let desired = status::pod_status_object(
            &prepared.pod,
            &prepared.secret_provider_class,
            &self.node_name,
            &prepared.request.target_path,
            &checked.versions,
        )
        .map_err(MountFailure::Encode)?;
        let pod_status = desired.metadata.name.clone().unwrap_or_default();
        status::record(&self.client, desired)
            .await
            .map_err(|source| MountFailure::PodStatus {
                namespace: prepared.pod.namespace.clone(),
                name: pod_status.clone(),
                source: Box::new(source),
            })?;
        Ok(Mounted {
            files: checked.files,
            versions: checked.versions,
            target_path: prepared.request.target_path.clone(),
            data_dir,
            changed,
            pod_status,
            runtime_name: version.runtime_name,
            runtime_version: version.runtime_version,
        })
    }

    /// The driver's reading of the SecretProviderClass the volume names: its name, non-empty
    /// parameters and provider.
    async fn secret_provider_class(
        &self,
        volume: &CsiVolume,
        pod: &PodInfo,
    ) -> Result<(String, BTreeMap<String, String>, String), MountFailure> {
        if !volume.read_only {
            return Err(MountFailure::NotReadOnly);
        }
        let name = volume
            .attributes
            .get(request::SECRET_PROVIDER_CLASS)
            .filter(|n| !n.is_empty())
            .cloned()
            .ok_or(MountFailure::SecretProviderClassNotSet)?;
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.client.clone(),
            &pod.namespace,
            &crds::secret_provider_class(),
        );
        let spc = api
            .get(&name)
            .await
            .map_err(|source| MountFailure::SecretProviderClass {
                namespace: pod.namespace.clone(),
                name: name.clone(),
                source: Box::new(source),
            })?;
        let spec = &spc.data["spec"];
        let parameters: BTreeMap<String, String> = spec["parameters"]
            .as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        if parameters.is_empty() {
            return Err(MountFailure::ParametersNotSet {
                namespace: pod.namespace.clone(),
                name,
            });
        }
        let provider = spec["provider"].as_str().unwrap_or_default().to_owned();
        Ok((name, parameters, provider))
    }
}
