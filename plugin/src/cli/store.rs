//! Flags naming a secret in an external store, shared by `fetch remote` and `sync create`.

use clap::{Args, ValueEnum};
use secrets_core::api::secret_store::StoreKind;

/// A secret in a store: which store, and the path under its mount.
#[derive(Debug, Args, Clone)]
pub(crate) struct RemoteSecret {
    /// The SecretStore (in -n) or ClusterSecretStore to read through.
    #[arg(long, value_name = "NAME")]
    pub(crate) store: String,
    /// Kind of --store [ESO's default: SecretStore].
    #[arg(long, value_enum, value_name = "KIND")]
    pub(crate) store_kind: Option<StoreKindArg>,
    /// The remote secret: a path under a Vault mount (app/db), an AWS secret name or ARN, an
    /// Azure Key Vault secret/NAME (or cert/, key/, certkey/), a GCP secret name.
    #[arg(long, value_name = "PATH")]
    pub(crate) key: String,
    /// A version of it [default: the latest]: a Vault KV v2 number, AWS uuid/ID or a stage
    /// (AWSPREVIOUS), an Azure version id (32 hex digits), a GCP number or latest.
    #[arg(long = "version", value_name = "VERSION")]
    pub(crate) remote_version: Option<String>,
}

/// How the plugin reaches Vault from this machine.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct VaultFlags {
    /// Vault address to use from here instead of the store's `server` (e.g. through a
    /// port-forward, when the store's address only resolves inside the cluster).
    #[arg(long, value_name = "URL")]
    pub(crate) vault_addr: Option<String>,
}

/// `SecretStore` or `ClusterSecretStore`, spelled as in manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StoreKindArg {
    #[value(name = "SecretStore")]
    SecretStore,
    #[value(name = "ClusterSecretStore")]
    ClusterSecretStore,
}

impl From<StoreKindArg> for StoreKind {
    fn from(value: StoreKindArg) -> Self {
        match value {
            StoreKindArg::SecretStore => StoreKind::SecretStore,
            StoreKindArg::ClusterSecretStore => StoreKind::ClusterSecretStore,
        }
    }
}
