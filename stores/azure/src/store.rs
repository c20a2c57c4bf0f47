//! The Azure Key Vault store behind the seam: a `spec.provider.azurekv` → [`AzureStore`]
//! (cloud, checked vault URL, authority, auth type), which logs in with the caller's
//! credentials (`login`), keeps the access token until near expiry, and reads secrets, keys,
//! certificates and certificate+key bundles (`read`).
//!
//! Data flow:
//!
//! ```text
//!  AzureKvProvider + CredentialSource + OpenOptions ──[open]──▶ AzureStore (no request)
//!  read(ReadKey) ──▶ parse_key (secret/ cert/ key/ certkey/) ──▶ vault::get
//!        (rate limit ▸ challenge once ▸ token: cached │ login ▸ GET) ──▶ RemoteValue │ StoreError
//!  certkey: GET certificate ──▶ its sid (same vault) ──▶ GET backing secret ──▶ certkey::to_pem
//!  list(prefix) ──▶ /secrets pages (nextLink only to this vault) ──▶ names
//! ```

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrets_core::api::secret_store::AzureKvProvider;
use secrets_core::store::{
    CallObserver, CredentialSource, ErrorKind, OpenOptions, ReadKey, RemoteValue, Store,
    StoreError, StoreFuture, StoreType,
};
use secrets_store_http::{HttpClient, check_endpoint};
use zeroize::Zeroizing;

use crate::STORE_TYPE;
use crate::certkey;
use crate::cloud::{Cloud, VaultUrl, check_vault_url};
use crate::limit::Limiter;
use crate::login::{AuthType, CachedToken, LoginConfig, login};
use crate::object::{ObjectKind, parse_key};
use crate::wire::{CertificateBundle, KeyBundle, ListPage, SecretBundle, name_of, version_of};

/// Pages followed at most when listing (25 names a page: 25,000 secrets).
const MAX_PAGES: usize = 1_000;

/// One Key Vault, read as one identity.
pub struct AzureStore {
    pub(crate) label: String,
    pub(crate) cloud: Cloud,
    pub(crate) vault: VaultUrl,
    authority: String,
    auth: AuthType,
    spec_tenant: Option<String>,
    env_tenant: Option<String>,
    credentials: Arc<dyn CredentialSource>,
    pub(crate) http: HttpClient,
    pub(crate) limiter: Arc<Limiter>,
    observer: Option<CallObserver>,
    cache: bool,
    token: tokio::sync::Mutex<Option<CachedToken>>,
    pub(crate) challenge_checked: AtomicBool,
}

fn invalid(message: String) -> StoreError {
    StoreError::new(STORE_TYPE, ErrorKind::InvalidConfig, message)
}

/// The store `provider` describes; makes no request.
pub fn open(
    provider: &AzureKvProvider,
    credentials: Arc<dyn CredentialSource>,
    options: OpenOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    let label = &options.label;
    let context = |m: String| invalid(format!("{label}: {m}"));
    if let Some(field) = provider.unknown.keys().next() {
        return Err(context(format!(
            "spec.provider.azurekv.{field} is not supported"
        )));
    }
    let cloud = Cloud::from_spec(provider.environment_type.as_deref()).map_err(context)?;
    let vault = check_vault_url(&provider.vault_url, cloud).map_err(context)?;
    let auth = match provider.auth_type.as_deref().unwrap_or("ServicePrincipal") {
        "ServicePrincipal" => AuthType::ServicePrincipal,
        "WorkloadIdentity" => AuthType::WorkloadIdentity,
        "ManagedIdentity" => {
            return Err(context(
                "authType ManagedIdentity is not supported: the agent never lends its own (the \
                 node's) identity; use WorkloadIdentity"
                    .into(),
            ));
        }
        other => {
            return Err(context(format!(
                "authType {other:?} is not one of ServicePrincipal, WorkloadIdentity"
            )));
        }
    };
    let authority = options
        .endpoints
        .azure_authority_host
        .clone()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| cloud.authority_host().to_owned());
    let authority = authority.trim_end_matches('/').to_owned();
    check_endpoint(&authority).map_err(|m| context(format!("AZURE_AUTHORITY_HOST: {m}")))?;
    let http = HttpClient::new(options.timeout)
        .map_err(|e| crate::vault::transport_error(&e, &format!("{label}: setting up https")))?;
    Ok(Arc::new(AzureStore {
        label: options.label.clone(),
        cloud,
        limiter: Limiter::for_vault(vault.authority()),
        vault,
        authority,
        auth,
        spec_tenant: provider.tenant_id.clone().filter(|t| !t.is_empty()),
        env_tenant: std::env::var("AZURE_TENANT_ID")
            .ok()
            .filter(|t| !t.is_empty()),
        credentials,
        http,
        observer: options.observer.clone(),
        cache: options.credential_cache,
        token: tokio::sync::Mutex::new(None),
        challenge_checked: AtomicBool::new(false),
    }))
}

impl AzureStore {
    pub(crate) fn observe(&self, call: &'static str, error: Option<&StoreError>) {
        if let Some(observer) = &self.observer {
            observer(STORE_TYPE, call, error.map_or("ok", StoreError::category));
        }
    }

    /// A usable access token: the cached one until near its expiry, else a login.
    pub(crate) async fn access_token(&self) -> Result<Zeroizing<String>, StoreError> {
        let mut slot = self.token.lock().await;
        if self.cache
            && let Some(cached) = slot.as_ref()
            && cached.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok(cached.token.clone());
        }
        let credentials = self.credentials.credentials().await?;
        let config = LoginConfig {
            auth: &self.auth,
            cloud: self.cloud,
            authority: &self.authority,
            spec_tenant: self.spec_tenant.as_deref(),
            env_tenant: self.env_tenant.as_deref(),
            label: &self.label,
        };
        let result = login(&self.http, &config, credentials).await;
        self.observe("token", result.as_ref().err());
        let fresh = result?;
        let token = fresh.token.clone();
        *slot = Some(fresh);
        Ok(token)
    }

    pub(crate) async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn read_value(&self, read: &ReadKey) -> Result<RemoteValue, StoreError> {
        let object = parse_key(&read.key).map_err(invalid)?;
        if let Some(version) = &read.version {
            crate::object::check_version(version).map_err(invalid)?;
        }
        let name = &object.name;
        let suffix = match &read.version {
            Some(v) => format!("/{v}"),
            None => String::new(),
        };
        let at = read
            .version
            .as_deref()
            .map(|v| format!(" version {v}"))
            .unwrap_or_default();
        match object.kind {
            ObjectKind::Secret => {
                let what = format!("secret {name:?}{at}");
                let response = self
                    .get("get_secret", &format!("/secrets/{name}{suffix}"), "", &what)
                    .await?;
                let mut bundle: SecretBundle = parse(&response.body, &what)?;
                let version = version_of(&bundle.id);
                let path = format!("secret/{name}");
                if read.metadata {
                    return Ok(tags_value(path, version, std::mem::take(&mut bundle.tags)));
                }
                let bytes = Zeroizing::new(std::mem::take(&mut *bundle.value).into_bytes());
                Ok(RemoteValue::raw(STORE_TYPE, path, version, bytes))
            }
            ObjectKind::Key => {
                let what = format!("key {name:?}{at}");
                let response = self
                    .get("get_key", &format!("/keys/{name}{suffix}"), "", &what)
                    .await?;
                let bundle: KeyBundle = parse(&response.body, &what)?;
                let version = bundle
                    .key
                    .get("kid")
                    .and_then(|k| k.as_str())
                    .and_then(version_of);
                let path = format!("key/{name}");
                if read.metadata {
                    return Ok(tags_value(path, version, bundle.tags));
                }
                let json = secrets_core::store::to_json_zeroized(&bundle.key);
                Ok(RemoteValue::raw(STORE_TYPE, path, version, json))
            }
            ObjectKind::Cert | ObjectKind::CertKey => {
                let what = format!("certificate {name:?}{at}");
                let response = self
                    .get(
                        "get_certificate",
                        &format!("/certificates/{name}{suffix}"),
                        "",
                        &what,
                    )
                    .await?;
                let bundle: CertificateBundle = parse(&response.body, &what)?;
                let version = version_of(&bundle.id);
                let path = format!("{}/{name}", object.kind.prefix());
                if read.metadata {
                    return Ok(tags_value(path, version, bundle.tags));
                }
                if object.kind == ObjectKind::Cert {
                    let der = STANDARD.decode(bundle.cer.as_bytes()).map_err(|_| {
                        StoreError::new(
                            STORE_TYPE,
                            ErrorKind::BadResponse,
                            format!("the cer of {what} is not base64"),
                        )
                    })?;
                    return Ok(RemoteValue::raw(
                        STORE_TYPE,
                        path,
                        version,
                        Zeroizing::new(der),
                    ));
                }
                let pem = self.backing_secret(&bundle, &what).await?;
                let bytes = Zeroizing::new(pem.as_bytes().to_vec());
                Ok(RemoteValue::raw(STORE_TYPE, path, version, bytes))
            }
        }
    }

    /// The chain and key of a certificate, from its backing secret (`sid`), which must be a
    /// secret of this same vault.
    async fn backing_secret(
        &self,
        bundle: &CertificateBundle,
        what: &str,
    ) -> Result<Zeroizing<String>, StoreError> {
        let bad = |m: String| StoreError::new(STORE_TYPE, ErrorKind::BadResponse, m);
        let sid = bundle
            .sid
            .as_deref()
            .ok_or_else(|| bad(format!("{what} names no backing secret (sid)")))?;
        let prefix = format!("{}/secrets/", self.vault.base());
        let rest = sid
            .strip_prefix(&prefix)
            .ok_or_else(|| bad(format!("the backing secret of {what} is not in this vault")))?;
        let mut parts = rest.split('/');
        let (Some(name), version) = (parts.next(), parts.next()) else {
            return Err(bad(format!("the backing secret id of {what} is unusable")));
        };
        crate::object::check_name(name).map_err(bad)?;
        if let Some(v) = version {
            crate::object::check_version(v).map_err(bad)?;
        }
        let secret_what = format!("the backing secret of {what}");
        let path = match version {
            Some(v) => format!("/secrets/{name}/{v}"),
            None => format!("/secrets/{name}"),
        };
        let response = self.get("get_secret", &path, "", &secret_what).await?;
        let secret: SecretBundle = parse(&response.body, &secret_what)?;
        certkey::to_pem(&secret.value, secret.content_type.as_deref())
            .map_err(|m| bad(format!("{secret_what}: {m}")))
    }

    /// Every remote key the vault offers that starts with `prefix`: `NAME` for plain
    /// secrets, `cert/NAME` and `certkey/NAME` for certificates (their managed secrets);
    /// disabled ones are left out.
    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let what = "the secrets list".to_owned();
        let mut response = self
            .get("list_secrets", "/secrets", "&maxresults=25", &what)
            .await?;
        let mut keys = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: ListPage = parse(&response.body, &what)?;
            for item in page.value.iter().filter(|i| i.attributes.enabled) {
                let Some(name) = name_of(&item.id) else {
                    continue;
                };
                if item.managed {
                    keys.push(format!("cert/{name}"));
                    keys.push(format!("certkey/{name}"));
                } else {
                    keys.push(name.to_owned());
                    keys.push(format!("secret/{name}"));
                }
            }
            let Some(next) = page.next_link.filter(|n| !n.is_empty()) else {
                keys.retain(|k| {
                    k.starts_with(prefix)
                        && (prefix.starts_with("secret/") || !k.starts_with("secret/"))
                });
                keys.sort();
                keys.dedup();
                return Ok(keys);
            };
            // A nextLink elsewhere would take our token with it.
            if !next.starts_with(&format!("{}/", self.vault.base())) {
                return Err(StoreError::new(
                    STORE_TYPE,
                    ErrorKind::BadResponse,
                    format!(
                        "azure key vault {} sent a nextLink to another host",
                        self.vault.base()
                    ),
                ));
            }
            let result = self.get_url(&next, &what).await;
            self.observe("list_secrets", result.as_ref().err());
            response = result?;
        }
        Err(StoreError::new(
            STORE_TYPE,
            ErrorKind::BadResponse,
            format!(
                "the secrets list of {} has more than {MAX_PAGES} pages",
                self.vault.base()
            ),
        ))
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(body).map_err(|_| {
        StoreError::new(
            STORE_TYPE,
            ErrorKind::BadResponse,
            format!("azure key vault's answer for {what} is unusable"),
        )
    })
}

/// `metadataPolicy: Fetch`: the tags as the value's keys.
fn tags_value(
    path: String,
    version: Option<String>,
    tags: std::collections::BTreeMap<String, String>,
) -> RemoteValue {
    let data = tags
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    RemoteValue::new(STORE_TYPE, path, version, data)
}

impl Store for AzureStore {
    fn store_type(&self) -> StoreType {
        STORE_TYPE
    }

    fn check_version(&self, version: &str) -> Result<(), String> {
        crate::object::check_version(version)
    }

    fn read<'a>(&'a self, read: &'a ReadKey) -> StoreFuture<'a, RemoteValue> {
        Box::pin(self.read_value(read))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> StoreFuture<'a, Vec<String>> {
        Box::pin(self.list_keys(prefix))
    }

    fn login(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move { self.access_token().await.map(drop) })
    }

    /// A token and one page of the secrets list (what the Key Vault Secrets User role allows).
    fn check(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.get(
                "list_secrets",
                "/secrets",
                "&maxresults=1",
                "the secrets list",
            )
            .await
            .map(drop)
        })
    }

    fn close(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        // Entra access tokens cannot be revoked; forgetting it is all there is.
        Box::pin(async move { self.forget_token().await })
    }
}
