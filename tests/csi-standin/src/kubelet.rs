//! What kubelet does for a CSI volume before NodePublishVolume: read the
//! `nodePublishSecretRef` Secret (data as strings) and request one token per CSIDriver
//! `tokenRequests` audience, bound to the pod by name and uid, serialised as kubelet's map
//! audience → `{token, expirationTimestamp}`.

use std::collections::BTreeMap;

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::api::{Api, PostParams};
use zeroize::Zeroize;

use crate::request::{self, IssuedToken, PodInfo};
use crate::{MountFailure, TokenAudience};

/// The Secret's data as strings (invalid UTF-8 becomes U+FFFD, as Go's JSON encoder
/// writes it).
pub(crate) async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, MountFailure> {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(|source| MountFailure::NodePublishSecret {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source: Box::new(source),
        })?;
    let mut data = secret.data.unwrap_or_default();
    let strings = data
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
        .collect();
    for value in data.values_mut() {
        value.0.zeroize();
    }
    Ok(strings)
}

/// kubelet's tokens map: audience → `{token, expirationTimestamp}`, each token bound to
/// the pod (name and uid).
pub(crate) async fn tokens_json(
    client: &kube::Client,
    wanted_tokens: &[TokenAudience],
    pod: &PodInfo,
) -> Result<String, MountFailure> {
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), &pod.namespace);
    let mut issued: BTreeMap<String, IssuedToken> = BTreeMap::new();
    for wanted in wanted_tokens {
        let request = TokenRequest {
            spec: TokenRequestSpec {
                audiences: if wanted.audience.is_empty() {
                    Vec::new()
                } else {
                    vec![wanted.audience.clone()]
                },
                bound_object_ref: Some(BoundObjectReference {
                    api_version: Some("v1".to_owned()),
                    kind: Some("Pod".to_owned()),
                    name: Some(pod.name.clone()),
                    uid: Some(pod.uid.clone()),
                }),
                expiration_seconds: wanted.expiration_seconds,
            },
            ..TokenRequest::default()
        };
        let answer = accounts
            .create_token_request(&pod.service_account, &PostParams::default(), &request)
            .await
            .map_err(|source| MountFailure::TokenRequest {
                namespace: pod.namespace.clone(),
                service_account: pod.service_account.clone(),
                pod: pod.name.clone(),
                audience: wanted.audience.clone(),
                source: Box::new(source),
            })?;
        let mut status = answer.status.ok_or_else(|| MountFailure::TokenMissing {
            namespace: pod.namespace.clone(),
            service_account: pod.service_account.clone(),
            audience: wanted.audience.clone(),
        })?;
        let expiration_timestamp = serde_json::to_value(&status.expiration_timestamp)
            .map_err(MountFailure::Encode)?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        issued.insert(
            wanted.audience.clone(),
            IssuedToken {
                token: std::mem::take(&mut status.token),
                expiration_timestamp,
            },
        );
    }
    request::go_json(&issued)
}
