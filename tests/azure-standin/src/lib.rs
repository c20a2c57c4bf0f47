//! azure-standin: Entra ID's v2 token endpoint and Key Vault's read API on one loopback TLS
//! port, for tests. Test equipment only; see the README for what it implements and where it
//! may differ from Azure.
//!
//! Data flow: [`AzureStandIn::start`] makes a CA and a leaf certificate (`kube_standin::pki`),
//! binds `127.0.0.1:0` and serves each connection with [`server`]: `POST /{tenant}/oauth2/v2.0/token`
//! goes to [`entra`], every other path to [`vault`]. Both read and write one [`state::State`],
//! which the test drives in-process through the methods here (applications, issuers,
//! federated credentials, vault objects, faults, call counters). The CA PEM
//! ([`AzureStandIn::ca_pem`], [`AzureStandIn::write_ca_file`]) is what clients trust, e.g.
//! through `SSL_CERT_FILE`.

mod entra;
mod material;
mod server;
mod state;
mod vault;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use material::{CertFormat, CertificateMaterial};
pub use state::{FederatedCredential, PUBLIC_VAULT_RESOURCE};

use state::{CertVersion, KeyVersion, SecretVersion, State, random_hex, unix_now};

/// The audience Entra expects on a workload-identity assertion.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Starting the stand-in failed.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("making the azure stand-in's certificates: {0}")]
    Pki(String),
    #[error("binding the azure stand-in's port")]
    Bind(#[source] std::io::Error),
}

/// Options for a secret written with [`AzureStandIn::set_secret_with`].
#[derive(Debug, Clone, Default)]
pub struct SecretOptions {
    pub content_type: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// Written disabled (reads answer 403 `SecretDisabled`).
    pub disabled: bool,
}

/// A running stand-in. Dropping it stops the server (an outage, for tests that want one).
pub struct AzureStandIn {
    addr: SocketAddr,
    ca_pem: String,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl AzureStandIn {
    /// Start serving on a free loopback port, in the current tokio runtime.
    pub async fn start() -> Result<AzureStandIn, StartError> {
        let pki = kube_standin::pki::Pki::generate(&["127.0.0.1", "localhost", "::1"])
            .map_err(|e| StartError::Pki(format!("{e:#}")))?;
        let config = pki
            .server_config()
            .map_err(|e| StartError::Pki(format!("{e:#}")))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        let state = Arc::new(State::new());
        let (stop, stopped) = watch::channel(false);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let task = tokio::spawn(server::accept_loop(
            listener,
            acceptor,
            state.clone(),
            stopped,
        ));
        Ok(AzureStandIn {
            addr,
            ca_pem: pki.ca_pem,
            state,
            stop,
            task,
        })
    }

    /// `https://127.0.0.1:PORT`: the vault URL, and the authority host.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM of the CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Write the CA PEM to `path` (for `SSL_CERT_FILE`).
    pub fn write_ca_file(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, &self.ca_pem)
    }

    /// Register the application `client_id` in `tenant` with a client secret.
    pub fn add_client_secret(&self, tenant: &str, client_id: &str, secret: &str) {
        let mut inner = self.state.lock();
        inner.app(tenant, client_id).secrets.push(secret.to_owned());
    }

    /// Register the application `client_id` in `tenant` with a federated credential.
    pub fn add_federated_credential(
        &self,
        tenant: &str,
        client_id: &str,
        credential: FederatedCredential,
    ) {
        let mut inner = self.state.lock();
        inner.app(tenant, client_id).federated.push(credential);
    }

    /// Trust the OIDC issuer `issuer`, whose tokens verify with `public_key_pem` (PKIX `PUBLIC
    /// KEY`, as `kube_standin::tokens::TokenSigner::public_key_pem` writes it).
    pub fn trust_issuer(&self, issuer: &str, public_key_pem: &str) -> Result<(), String> {
        let parsed =
            pem::parse(public_key_pem).map_err(|e| format!("parsing the issuer key: {e}"))?;
        self.state
            .lock()
            .issuers
            .insert(issuer.to_owned(), parsed.contents().to_vec());
        Ok(())
    }

    /// Write a new current version of the secret `name`; returns its version id.
    pub fn set_secret(&self, name: &str, value: &str) -> String {
        self.set_secret_with(name, value, SecretOptions::default())
    }

    /// [`AzureStandIn::set_secret`] with a content type, tags or disabled.
    pub fn set_secret_with(&self, name: &str, value: &str, options: SecretOptions) -> String {
        let version = random_hex(16);
        let secret = SecretVersion {
            version: version.clone(),
            value: value.to_owned(),
            content_type: options.content_type,
            tags: options.tags,
            enabled: !options.disabled,
            created: unix_now(),
            managed: false,
        };
        self.state
            .lock()
            .secrets
            .entry(name.to_owned())
            .or_default()
            .push(secret);
        version
    }

    /// Enable or disable every version of the secret `name`.
    pub fn set_secret_enabled(&self, name: &str, enabled: bool) {
        if let Some(versions) = self.state.lock().secrets.get_mut(name) {
            versions.iter_mut().for_each(|v| v.enabled = enabled);
        }
    }

    /// Remove the secret `name` (all versions); reads answer 404.
    pub fn delete_secret(&self, name: &str) {
        self.state.lock().secrets.remove(name);
    }

    /// Write a key version `name` with the public `jwk` (its `kid` is filled in on reads).
    pub fn set_key(&self, name: &str, jwk: Value) -> String {
        let version = random_hex(16);
        self.state
            .lock()
            .keys
            .entry(name.to_owned())
            .or_default()
            .push(KeyVersion {
                version: version.clone(),
                jwk,
                tags: BTreeMap::new(),
                enabled: true,
                created: unix_now(),
            });
        version
    }

    /// Write a certificate version `name`: the certificate (`cer` = the leaf's DER) and its
    /// managed backing secret of the same name and version, holding the key and chain as PEM
    /// or PKCS#12 per `format`. Returns the version id.
    pub fn set_certificate(
        &self,
        name: &str,
        material: &CertificateMaterial,
        format: CertFormat,
    ) -> Result<String, String> {
        let (value, content_type) = material.backing_secret(format)?;
        let leaf = material
            .chain_der
            .first()
            .ok_or("a certificate needs a leaf")?
            .clone();
        let version = random_hex(16);
        let created = unix_now();
        let mut inner = self.state.lock();
        inner
            .certificates
            .entry(name.to_owned())
            .or_default()
            .push(CertVersion {
                version: version.clone(),
                cer: leaf,
                tags: material.tags.clone(),
                enabled: true,
                created,
            });
        inner
            .secrets
            .entry(name.to_owned())
            .or_default()
            .push(SecretVersion {
                version: version.clone(),
                value,
                content_type: Some(content_type.to_owned()),
                tags: material.tags.clone(),
                enabled: true,
                created,
                managed: true,
            });
        Ok(version)
    }

    /// Answer the next `requests` vault requests with 429 and `Retry-After: retry_after_secs`.
    pub fn throttle(&self, requests: u32, retry_after_secs: u64) {
        let mut inner = self.state.lock();
        inner.faults.throttle = requests;
        inner.faults.retry_after = retry_after_secs;
    }

    /// Answer every vault request with 503 while `on`.
    pub fn set_unavailable(&self, on: bool) {
        self.state.lock().faults.unavailable = on;
    }

    /// Refuse (403 `ForbiddenByRbac`) or allow again the application `client_id`'s vault reads.
    pub fn set_denied(&self, client_id: &str, denied: bool) {
        let mut inner = self.state.lock();
        inner.faults.denied.retain(|c| c != client_id);
        if denied {
            inner.faults.denied.push(client_id.to_owned());
        }
    }

    /// The resource the 401 challenge names and access tokens must be for (default
    /// [`PUBLIC_VAULT_RESOURCE`]); another cloud's, or a foreign resource to test the client's
    /// check.
    pub fn set_resource(&self, resource: &str) {
        self.state.lock().faults.resource = resource.to_owned();
    }

    /// `expires_in` of tokens issued from now on (default 3599 s).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.state.lock().faults.token_lifetime = seconds;
    }

    /// Requests per route so far: `token`, `challenge` (401s), `secret_get`, `secret_list`,
    /// `secret_versions`, `key_get`, `cert_get`, `unknown`.
    pub fn calls(&self, route: &str) -> u64 {
        self.state.lock().calls.get(route).copied().unwrap_or(0)
    }

    /// Every route's count.
    pub fn all_calls(&self) -> BTreeMap<String, u64> {
        let inner = self.state.lock();
        inner
            .calls
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect()
    }

    /// Zero the counters.
    pub fn reset_calls(&self) {
        self.state.lock().calls.clear();
    }
}

impl Drop for AzureStandIn {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}
