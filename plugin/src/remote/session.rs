//! One store opened with the person's own credentials, whatever its provider: what `fetch
//! remote`, the `sync` and `mount` wizards browse and read through.
//!
//! Data flow: a [`Found`] store → [`open`] dispatches on its provider: Vault through
//! `remote::vault` (the person's Vault token, the store's coordinates, `--vault-addr`); AWS,
//! Azure and GCP by discovering the person's credentials (`remote::{aws,azure,gcp}`), then the
//! store crate's `open(provider, credentials, OpenOptions { person: true, endpoints from the
//! environment })` and `login()`, so wrong credentials fail here, before any question about
//! keys → [`Session`]: `list(prefix)` and `read(key, version)` through the store seam, and the
//! words the wizards show (where the store is, how to type a key).

use std::sync::Arc;

use anyhow::{Context as _, bail};
use secrets_core::store::{Endpoints, OpenOptions, ReadKey, RemoteValue, Store, StoreError};

use super::stores::{Found, ProviderRef};
use super::{Person, aws, azure, gcp, vault};
use crate::cluster::Cluster;

/// How the store's keys are laid out, for browsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Vault KV: folders (ending in `/`) under a mount.
    Mount,
    /// A cloud store: one flat list of names.
    Flat,
}

/// A store opened with the person's credentials.
pub(crate) struct Session {
    store: Arc<dyn Store>,
    layout: Layout,
    /// Vault: the mount; the clouds: where the store is (`AWS Secrets Manager, region …`).
    root: String,
    /// Where the store is, for messages (`https://v:8200 mount secret`, …).
    location: String,
    /// Where the person's credentials came from (`VAULT_TOKEN`, `profile dev in …`).
    source: String,
    /// What a key looks like in this store, for the "type it" prompt.
    key_hint: &'static str,
}

impl Session {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        layout: Layout,
        root: String,
        location: String,
        source: String,
    ) -> Session {
        let key_hint = match store.store_type().as_str() {
            "vault" => "a path such as app/db",
            "azurekv" => "secret/NAME, cert/NAME, key/NAME or certkey/NAME",
            "aws" => "a secret name or ARN",
            _ => "a secret name",
        };
        Session {
            store,
            layout,
            root,
            location,
            source,
            key_hint,
        }
    }

    /// The store type (`vault`, `aws`, `azurekv`, `gcpsm`, …).
    pub(crate) fn store_type(&self) -> &'static str {
        self.store.store_type().as_str()
    }

    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// Vault: the mount; the clouds: where the store is.
    pub(crate) fn root(&self) -> &str {
        &self.root
    }

    /// Where the store is.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// Where the person's credentials came from.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// What a key of this store looks like.
    pub(crate) fn key_hint(&self) -> &'static str {
        self.key_hint
    }

    /// "under mount secret" / "in AWS Secrets Manager, region eu-west-1".
    pub(crate) fn under(&self) -> String {
        match self.layout {
            Layout::Mount => format!("under mount {}", self.root),
            Layout::Flat => format!("in {}", self.root),
        }
    }

    /// The "type it" prompt: `Path of the secret under mount secret`, `Name of the secret in …`.
    pub(crate) fn type_prompt(&self) -> String {
        match self.layout {
            Layout::Mount => format!("Path of the secret {}", self.under()),
            Layout::Flat => format!("Name of the secret {}", self.under()),
        }
    }

    /// `your token` (Vault) or `your credentials`, for messages.
    pub(crate) fn yours(&self) -> &'static str {
        match self.layout {
            Layout::Mount => "your token",
            Layout::Flat => "your credentials",
        }
    }

    /// Whether `version` is one the store reads.
    pub(crate) fn check_version(&self, version: &str) -> Result<(), String> {
        self.store.check_version(version)
    }

    /// Entries under `prefix` (folders end in `/`; a flat store lists names starting with it).
    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.store.list(prefix).await
    }

    /// The secret at `key`, at `version` (none: the latest).
    pub(crate) async fn read(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> anyhow::Result<RemoteValue> {
        let read = ReadKey::new(key, version.map(str::to_owned));
        self.store
            .read(&read)
            .await
            .with_context(|| format!("reading {key:?} {} at {}", self.under(), self.location))
    }
}

/// Open `found` with the person's own credentials (`vault_addr`: `--vault-addr`).
pub(crate) async fn open(
    found: &Found,
    cluster: &Cluster,
    vault_addr: Option<&str>,
) -> anyhow::Result<Session> {
    let provider = found.provider()?;
    if let ProviderRef::Vault(_) = provider {
        let credentials = vault::Credentials::from_env()?;
        let coordinates = found.coordinates(cluster).await?;
        return vault::open(coordinates, &credentials, vault_addr).await;
    }
    if vault_addr.is_some() {
        bail!(
            "--vault-addr is for vault stores; {} is an {} store (its endpoints follow \
             AWS_ENDPOINT_URL*, AZURE_AUTHORITY_HOST, SECRETS_AGENT_GCP_*_ENDPOINT)",
            found.describe(),
            provider.name()
        );
    }
    let env = |name: &str| std::env::var(name).ok();
    let person: Person = match provider {
        ProviderRef::Aws(_) => aws::from_env()?,
        ProviderRef::Azure(p) => azure::discover(p, &env, "az").await?,
        ProviderRef::Gcp(_) => gcp::discover(&env, "gcloud").await?,
        ProviderRef::Vault(_) => unreachable_vault()?,
    };
    open_cloud(found, provider, person, Endpoints::from_env()).await
}

/// Vault was handled above; an error, not a panic, if that ever changes.
fn unreachable_vault() -> anyhow::Result<Person> {
    bail!("internal: a vault store reached the cloud path")
}

/// Open a cloud store with `person`'s credentials and log in.
pub(crate) async fn open_cloud(
    found: &Found,
    provider: ProviderRef<'_>,
    person: Person,
    endpoints: Endpoints,
) -> anyhow::Result<Session> {
    let mut options = OpenOptions::new(found.describe());
    options.endpoints = endpoints;
    options.person = true;
    let credentials = Arc::new(person.credentials);
    let store = match provider {
        ProviderRef::Aws(p) => secrets_store_aws::open(p, credentials, options),
        ProviderRef::Azure(p) => secrets_store_azure::open(p, credentials, options),
        ProviderRef::Gcp(p) => secrets_store_gcp::open(p, credentials, options),
        ProviderRef::Vault(_) => bail!("internal: a vault store reached the cloud path"),
    }
    .with_context(|| format!("setting up {}", found.describe()))?;
    let location = provider.location();
    store.login().await.with_context(|| {
        format!(
            "logging in to {location} with your credentials (from {})",
            person.source
        )
    })?;
    Ok(Session::new(
        store,
        Layout::Flat,
        location.clone(),
        location,
        person.source,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrets_store_fake::FakeStore;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_session_lists_and_reads_through_the_seam() {
        let fake = FakeStore::new();
        fake.set(
            "db",
            serde_json::json!({"user": "app", "password": "hunter2"}),
        );
        fake.set("db", serde_json::json!({"user": "app2"}));
        fake.set("api", serde_json::json!({"token": "t"}));
        let session = Session::new(
            Arc::new(fake.clone()),
            Layout::Flat,
            "AWS Secrets Manager, region eu-west-1".into(),
            "AWS Secrets Manager, region eu-west-1".into(),
            "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".into(),
        );
        let rt = rt();
        assert_eq!(rt.block_on(session.list("")).unwrap(), vec!["api", "db"]);
        let latest = rt.block_on(session.read("db", None)).unwrap();
        assert_eq!(latest.keys().collect::<Vec<_>>(), vec!["user"]);
        let first = rt.block_on(session.read("db", Some("1"))).unwrap();
        assert_eq!(first.keys().collect::<Vec<_>>(), vec!["password", "user"]);
        let err = format!("{:#}", rt.block_on(session.read("gone", None)).unwrap_err());
        assert!(
            err.contains("reading \"gone\" in AWS Secrets Manager, region eu-west-1"),
            "{err}"
        );
        assert_eq!(session.under(), "in AWS Secrets Manager, region eu-west-1");
        assert_eq!(fake.calls().read, 3);
    }
}
