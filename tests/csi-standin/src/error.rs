//! Why a mount failed, in the words of the component that would have refused it: kubelet
//! (pod, volume, Secret, tokens), the driver (volume attributes, SecretProviderClass,
//! provider socket, the provider's answer, writing files) or the stand-in itself (API calls).
//! Texts never hold a secret value: at most object names, paths, modes and codes.

use std::path::PathBuf;

/// A mount that did not happen (or did not complete: files are only ever replaced whole).
#[derive(Debug, thiserror::Error)]
pub enum MountFailure {
    #[error("reading pod {namespace}/{name}")]
    Pod {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("pod {namespace}/{name} has no volume of driver secrets-store.csi.k8s.io")]
    NoCsiVolume { namespace: String, name: String },
    #[error("pod {namespace}/{name} has no secrets-store.csi.k8s.io volume named {volume:?}")]
    VolumeNotFound {
        namespace: String,
        name: String,
        volume: String,
    },
    #[error(
        "pod {namespace}/{name} has several secrets-store.csi.k8s.io volumes ({volumes}): name one"
    )]
    AmbiguousVolume {
        namespace: String,
        name: String,
        volumes: String,
    },
    #[error("pod {namespace}/{name} has no uid")]
    NoPodUid { namespace: String, name: String },
    /// The driver's NodePublishVolume check (gRPC InvalidArgument).
    #[error("Readonly is not true in request")]
    NotReadOnly,
    #[error("secretProviderClass is not set")]
    SecretProviderClassNotSet,
    #[error(
        "failed to get secretproviderclass {namespace}/{name}, error: {}",
        api_message(source)
    )]
    SecretProviderClass {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("parameters not set in {namespace}/{name}")]
    ParametersNotSet { namespace: String, name: String },
    #[error("invalid provider: provider {0:?}")]
    InvalidProvider(String),
    #[error("provider not found: provider {0:?}")]
    ProviderNotFound(String),
    /// kubelet could not read the volume's `nodePublishSecretRef`.
    #[error(
        "fetching NodePublishSecretRef {namespace}/{name} failed: {}",
        api_message(source)
    )]
    NodePublishSecret {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(
        "requesting a token for service account {namespace}/{service_account} (audience {audience:?}) bound to pod {pod}"
    )]
    TokenRequest {
        namespace: String,
        service_account: String,
        pod: String,
        audience: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error(
        "the TokenRequest for service account {namespace}/{service_account} (audience {audience:?}) was answered without a token"
    )]
    TokenMissing {
        namespace: String,
        service_account: String,
        audience: String,
    },
    #[error("connecting to the provider socket {}", socket.display())]
    Connect {
        socket: PathBuf,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("provider Version call failed: rpc error: code = {code} desc = {message}")]
    VersionRpc { code: String, message: String },
    #[error("provider speaks {got:?}, not v1alpha1")]
    VersionMismatch { got: String },
    #[error("provider runtime_version {got:?} is not a semantic version")]
    RuntimeVersion { got: String },
    /// A gRPC error status from `Mount`; the driver shows `message` verbatim in pod events.
    #[error("rpc error: code = {code} desc = {message}")]
    MountRpc { code: String, message: String },
    #[error("mount request failed with provider error code {0}")]
    ProviderError(String),
    #[error("missing object versions")]
    MissingObjectVersions,
    #[error("object version for {id:?} is empty")]
    EmptyObjectVersion { id: String },
    #[error("object id {id:?} is returned more than once")]
    DuplicateObjectId { id: String },
    #[error("invalid path: {why}: {path:?}")]
    InvalidPath { path: String, why: &'static str },
    #[error("file {path:?} is returned more than once")]
    DuplicatePath { path: String },
    #[error("invalid file mode {mode} for {path:?}: must be 0..=511 (0..=0777)")]
    InvalidMode { path: String, mode: i32 },
    #[error("writing the volume into {}", dir.display())]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--remount: {} holds no mounted volume (no ..data)", dir.display())]
    NotMounted { dir: PathBuf },
    #[error("writing SecretProviderClassPodStatus {namespace}/{name}")]
    PodStatus {
        namespace: String,
        name: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("encoding the mount request")]
    Encode(#[source] serde_json::Error),
}

impl MountFailure {
    /// The API status code behind the failure, when an API call was refused.
    pub fn api_code(&self) -> Option<u16> {
        match self {
            MountFailure::Pod { source, .. }
            | MountFailure::SecretProviderClass { source, .. }
            | MountFailure::NodePublishSecret { source, .. }
            | MountFailure::TokenRequest { source, .. }
            | MountFailure::PodStatus { source, .. } => match source.as_ref() {
                kube::Error::Api(status) => Some(status.code),
                _ => None,
            },
            _ => None,
        }
    }
}

/// What the API server said (`secrets "x" not found`), as kubelet and the driver quote it,
/// instead of kube-rs's debug rendering of the whole Status.
fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}
