//! The agent's half of "credentials come in": what a store spec's refs point at, read from
//! Kubernetes — a token, AppRole secret id or cloud key from a Secret key, a short-lived
//! service-account token from the TokenRequest API (with the account's annotations for the
//! cloud stores: IRSA's role, Azure's client id), and the CA bundle from a Secret or ConfigMap
//! key. Which
//! object and which namespace is decided by `secrets_core::store::refs` (the same function the
//! plugin uses); only the reading is here.
//!
//! Data flow: `CredentialRef` → [`KubeCredentials`] (handed to the store as its
//! `CredentialSource`) → at every login the store asks → GET Secret / POST TokenRequest →
//! `Credentials` (zeroized). Failures are `ErrorKind::Credentials` (transient: the object may
//! appear) with the Kubernetes error kept as the source.

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::api::{Api, PostParams};
use std::collections::BTreeMap;

use secrets_core::store::refs::{CredentialRef, KeyRef, NamedKeyRef, ObjectKind};
use secrets_core::store::{
    CredentialSource, Credentials, ErrorKind, FederatedToken, StoreError, StoreFuture, StoreType,
};
use zeroize::Zeroizing;

/// Lifetime asked of service-account tokens for store logins (ESO uses the same).
const SA_TOKEN_SECONDS: i64 = 600;

/// Errors here happen before (or beside) a store's own calls.
const AGENT: StoreType = StoreType::new("unknown");

fn failed(doing: &str, cause: &str) -> StoreError {
    StoreError::new(AGENT, ErrorKind::Credentials, format!("{doing}: {cause}"))
}

fn api_failed(doing: String, err: kube::Error) -> StoreError {
    StoreError::new(AGENT, ErrorKind::Credentials, doing).with_source(err)
}

/// The bytes under one key of a Secret or ConfigMap.
async fn read_key(kube: &kube::Client, r: &KeyRef, doing: &str) -> Result<Vec<u8>, StoreError> {
    let value = match r.kind {
        ObjectKind::Secret => Api::<Secret>::namespaced(kube.clone(), &r.namespace)
            .get_opt(&r.name)
            .await
            .map_err(|e| api_failed(doing.to_owned(), e))?
            .map(|s| s.data.and_then(|mut d| d.remove(&r.key)).map(|b| b.0)),
        ObjectKind::ConfigMap => Api::<ConfigMap>::namespaced(kube.clone(), &r.namespace)
            .get_opt(&r.name)
            .await
            .map_err(|e| api_failed(doing.to_owned(), e))?
            .map(|c| {
                c.data
                    .and_then(|mut d| d.remove(&r.key))
                    .map(String::into_bytes)
            }),
    };
    match value {
        None => Err(failed(doing, "the object does not exist")),
        Some(None) => Err(failed(doing, "it has no such key")),
        Some(Some(bytes)) => Ok(bytes),
    }
}

/// The CA bundle a store's `caProvider` names.
pub(crate) async fn read_ca(
    kube: &kube::Client,
    ca: &KeyRef,
    store: &str,
) -> Result<Vec<u8>, StoreError> {
    read_key(
        kube,
        ca,
        &format!("reading the CA bundle from {ca} for {store}"),
    )
    .await
}

/// A store's credentials, read from Kubernetes at each login.
pub(crate) struct KubeCredentials {
    kube: kube::Client,
    refs: CredentialRef,
    /// The store, for messages.
    store: String,
}

impl KubeCredentials {
    pub(crate) fn new(kube: kube::Client, refs: CredentialRef, store: String) -> Self {
        KubeCredentials { kube, refs, store }
    }

    async fn secret_text(&self, r: &KeyRef) -> Result<Zeroizing<String>, StoreError> {
        let doing = format!(
            "reading key {:?} of Secret {}/{} for {}",
            r.key, r.namespace, r.name, self.store
        );
        let bytes = Zeroizing::new(read_key(&self.kube, r, &doing).await?);
        let text =
            std::str::from_utf8(&bytes).map_err(|_| failed(&doing, "the value is not UTF-8"))?;
        Ok(Zeroizing::new(text.trim().to_owned()))
    }

    async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: &[String],
    ) -> Result<Zeroizing<String>, StoreError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.kube.clone(), namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: audiences.to_vec(),
                expiration_seconds: Some(SA_TOKEN_SECONDS),
                ..Default::default()
            },
            ..Default::default()
        };
        let answer = api
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                api_failed(
                    format!(
                        "requesting a token for service account {namespace}/{name} for {}",
                        self.store
                    ),
                    e,
                )
            })?;
        Ok(Zeroizing::new(
            answer.status.map(|s| s.token).unwrap_or_default(),
        ))
    }

    async fn named_keys(
        &self,
        keys: &[NamedKeyRef],
    ) -> Result<BTreeMap<String, Zeroizing<String>>, StoreError> {
        let mut values = BTreeMap::new();
        for k in keys {
            values.insert(k.name.clone(), self.secret_text(&k.key).await?);
        }
        Ok(values)
    }

    /// The account's annotations (IRSA's role ARN, Azure's client and tenant ids).
    async fn annotations(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.kube.clone(), namespace);
        let doing = format!(
            "reading service account {namespace}/{name} for {}",
            self.store
        );
        match api.get_opt(name).await {
            Ok(Some(sa)) => Ok(sa.metadata.annotations.unwrap_or_default()),
            Ok(None) => Err(failed(&doing, "it does not exist")),
            Err(e) => Err(api_failed(doing, e)),
        }
    }

    async fn fetch(&self) -> Result<Credentials, StoreError> {
        Ok(match &self.refs {
            CredentialRef::Token(r) => Credentials::Token(self.secret_text(r).await?),
            CredentialRef::ServiceAccount {
                namespace,
                name,
                audiences,
            } => Credentials::ServiceAccountToken {
                token: self
                    .service_account_token(namespace, name, audiences)
                    .await?,
                audiences: audiences.clone(),
            },
            CredentialRef::AppRole { role_id, secret_id } => Credentials::AppRole {
                role_id: role_id.clone(),
                secret_id: self.secret_text(secret_id).await?,
            },
            CredentialRef::Keys(keys) => Credentials::Keys(self.named_keys(keys).await?),
            CredentialRef::Federated {
                namespace,
                name,
                audiences,
                keys,
            } => Credentials::Federated(Box::new(FederatedToken {
                annotations: self.annotations(namespace, name).await?,
                token: self
                    .service_account_token(namespace, name, audiences)
                    .await?,
                audiences: audiences.clone(),
                namespace: namespace.clone(),
                service_account: name.clone(),
                keys: self.named_keys(keys).await?,
                pod_identity: false,
            })),
        })
    }
}

impl CredentialSource for KubeCredentials {
    fn credentials(&self) -> StoreFuture<'_, Credentials> {
        Box::pin(self.fetch())
    }
}
