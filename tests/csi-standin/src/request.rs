//! The MountRequest, built as kubelet and driver v1.6 build it (pure: no IO).
//!
//! Data flow: [`find_volume`] picks the pod's `secrets-store.csi.k8s.io` volume and
//! [`PodInfo::from_pod`] its identity; kubelet's `volume_context` is the volume's
//! `volumeAttributes` with the pod-info keys (and, unless they travel in the secrets, the
//! service-account tokens) on top ([`volume_context`]); the driver then starts from the
//! SecretProviderClass `parameters`, copies every `volume_context` key over them (so a pod can
//! shadow a parameter) and sets the tokens key from the secrets or the context
//! ([`attributes`]). [`build`] encodes it all as Go's `encoding/json` would (sorted keys, HTML
//! characters escaped; no secrets is `null`) with `permission` `"420"`, kubelet's
//! `target_path` and an empty `current_object_version`.

use std::collections::BTreeMap;

use csi_provider_proto::v1alpha1::MountRequest;
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;
use zeroize::Zeroize;

use crate::MountFailure;

/// The CSI driver name pods use for these volumes.
pub const DRIVER: &str = "secrets-store.csi.k8s.io";
/// Pod-info keys kubelet adds (the driver's CSIDriver has `podInfoOnMount: true`).
pub const POD_NAME: &str = "csi.storage.k8s.io/pod.name";
pub const POD_NAMESPACE: &str = "csi.storage.k8s.io/pod.namespace";
pub const POD_UID: &str = "csi.storage.k8s.io/pod.uid";
pub const SERVICE_ACCOUNT_NAME: &str = "csi.storage.k8s.io/serviceAccount.name";
pub const EPHEMERAL: &str = "csi.storage.k8s.io/ephemeral";
/// The tokens kubelet requested for the CSIDriver's `tokenRequests`.
pub const SERVICE_ACCOUNT_TOKENS: &str = "csi.storage.k8s.io/serviceAccount.tokens";
/// The volume attribute naming the SecretProviderClass.
pub const SECRET_PROVIDER_CLASS: &str = "secretProviderClass";
/// `json.Marshal(os.FileMode(0644))`.
pub const PERMISSION: &str = "420";

/// Who the pod is, as kubelet reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub service_account: String,
}

impl PodInfo {
    /// The pod's identity; a pod without a uid cannot have been read from an API server.
    pub fn from_pod(pod: &Pod) -> Result<PodInfo, MountFailure> {
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod
            .metadata
            .uid
            .clone()
            .filter(|uid| !uid.is_empty())
            .ok_or_else(|| MountFailure::NoPodUid {
                namespace: namespace.clone(),
                name: name.clone(),
            })?;
        let service_account = pod
            .spec
            .as_ref()
            .and_then(|spec| spec.service_account_name.clone())
            .filter(|sa| !sa.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        Ok(PodInfo {
            namespace,
            name,
            uid,
            service_account,
        })
    }
}

/// One inline `secrets-store.csi.k8s.io` volume of a pod spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsiVolume {
    pub name: String,
    pub read_only: bool,
    pub attributes: BTreeMap<String, String>,
    /// `nodePublishSecretRef.name`, a Secret in the pod's namespace.
    pub node_publish_secret: Option<String>,
}

/// The pod's volume of our driver named `wanted`, or its only one.
pub fn find_volume(pod: &Pod, wanted: Option<&str>) -> Result<CsiVolume, MountFailure> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ours: Vec<CsiVolume> = pod
        .spec
        .iter()
        .flat_map(|spec| spec.volumes.iter().flatten())
        .filter_map(|volume| {
            let csi = volume.csi.as_ref().filter(|csi| csi.driver == DRIVER)?;
            Some(CsiVolume {
                name: volume.name.clone(),
                read_only: csi.read_only == Some(true),
                attributes: csi.volume_attributes.clone().unwrap_or_default(),
                node_publish_secret: csi.node_publish_secret_ref.as_ref().map(|r| r.name.clone()),
            })
        })
        .collect();
    match wanted {
        Some(volume) => ours.into_iter().find(|v| v.name == volume).ok_or_else(|| {
            MountFailure::VolumeNotFound {
                namespace,
                name,
                volume: volume.to_owned(),
            }
        }),
        None => {
            let mut ours = ours.into_iter();
            match (ours.next(), ours.next()) {
                (None, _) => Err(MountFailure::NoCsiVolume { namespace, name }),
                (Some(only), None) => Ok(only),
                (Some(first), Some(second)) => {
                    let mut names = vec![first.name, second.name];
                    names.extend(ours.map(|v| v.name));
                    Err(MountFailure::AmbiguousVolume {
                        namespace,
                        name,
                        volumes: names.join(", "),
                    })
                }
            }
        }
    }
}

/// The driver's provider-name rule, `^[a-zA-Z0-9_-]{0,30}$`.
pub fn valid_provider_name(name: &str) -> bool {
    name.len() <= 30
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// kubelet's directory for the volume: what the driver mounts its tmpfs on.
pub fn target_path(pod_uid: &str, volume: &str) -> String {
    format!("/var/lib/kubelet/pods/{pod_uid}/volumes/kubernetes.io~csi/{volume}/mount")
}

/// One requested token, as kubelet serialises `TokenRequestStatus` into the tokens map.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub token: String,
    pub expiration_timestamp: String,
}

impl Drop for IssuedToken {
    fn drop(&mut self) {
        self.token.zeroize();
    }
}

/// kubelet's `volume_context`: the volume's attributes, then the pod-info keys (kubelet's own
/// win), then the tokens when they do not travel in the secrets.
pub fn volume_context(
    volume: &CsiVolume,
    pod: &PodInfo,
    tokens: Option<&str>,
) -> BTreeMap<String, String> {
    let mut context = volume.attributes.clone();
    context.insert(POD_NAME.into(), pod.name.clone());
    context.insert(POD_NAMESPACE.into(), pod.namespace.clone());
    context.insert(POD_UID.into(), pod.uid.clone());
    context.insert(SERVICE_ACCOUNT_NAME.into(), pod.service_account.clone());
    // Inline volumes in a pod spec are ephemeral; this stand-in mounts no others.
    context.insert(EPHEMERAL.into(), "true".into());
    if let Some(tokens) = tokens {
        context.insert(SERVICE_ACCOUNT_TOKENS.into(), tokens.to_owned());
    }
    context
}

/// The driver's `attributes`: SecretProviderClass parameters, every `volume_context` key
/// copied on top, and the tokens from the secrets (first) or the context.
pub fn attributes(
    parameters: &BTreeMap<String, String>,
    context: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut attributes = parameters.clone();
    attributes.extend(context.iter().map(|(k, v)| (k.clone(), v.clone())));
    if let Some(tokens) = secrets
        .get(SERVICE_ACCOUNT_TOKENS)
        .or_else(|| context.get(SERVICE_ACCOUNT_TOKENS))
    {
        attributes.insert(SERVICE_ACCOUNT_TOKENS.into(), tokens.clone());
    }
    attributes
}

/// Everything [`build`] needs.
pub struct Inputs<'a> {
    pub pod: &'a PodInfo,
    pub volume: &'a CsiVolume,
    /// The SecretProviderClass's `spec.parameters` (non-empty: checked by the caller).
    pub parameters: &'a BTreeMap<String, String>,
    /// The `nodePublishSecretRef` Secret's data, as strings.
    pub node_publish_secret: Option<&'a BTreeMap<String, String>>,
    /// The tokens map as JSON, when the CSIDriver has `tokenRequests`.
    pub tokens: Option<&'a str>,
    /// The CSIDriver's `serviceAccountTokenInSecrets`: tokens go in the secrets instead of
    /// the volume context.
    pub tokens_in_secrets: bool,
}

/// The MountRequest for `inputs`.
pub fn build(inputs: &Inputs<'_>) -> Result<MountRequest, MountFailure> {
    let mut secrets = inputs.node_publish_secret.cloned().unwrap_or_default();
    let context_tokens = match inputs.tokens {
        Some(tokens) if inputs.tokens_in_secrets => {
            secrets.insert(SERVICE_ACCOUNT_TOKENS.into(), tokens.to_owned());
            None
        }
        other => other,
    };
    let mut context = volume_context(inputs.volume, inputs.pod, context_tokens);
    let mut attributes = attributes(inputs.parameters, &context, &secrets);
    let request = MountRequest {
        attributes: go_json(&attributes)?,
        // An empty map crosses gRPC as no entries, which Go decodes as a nil map: `null`.
        secrets: if secrets.is_empty() {
            "null".to_owned()
        } else {
            go_json(&secrets)?
        },
        target_path: target_path(&inputs.pod.uid, &inputs.volume.name),
        permission: PERMISSION.to_owned(),
        current_object_version: Vec::new(),
    };
    for map in [&mut secrets, &mut context, &mut attributes] {
        wipe(map);
    }
    Ok(request)
}

/// JSON as Go's `encoding/json` writes it: map keys sorted (a `BTreeMap` or a struct in
/// field order), and `<`, `>`, `&`, U+2028 and U+2029 escaped. Those characters only occur
/// inside strings, so escaping them in the encoded text is exact.
pub fn go_json<T: Serialize + ?Sized>(value: &T) -> Result<String, MountFailure> {
    let plain = serde_json::to_string(value).map_err(MountFailure::Encode)?;
    if !plain.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return Ok(plain);
    }
    let mut out = String::with_capacity(plain.len() + 16);
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    let mut plain = plain;
    plain.zeroize();
    Ok(out)
}

/// Zeroes the values of a map that held tokens or Secret data before it is dropped.
pub(crate) fn wipe(map: &mut BTreeMap<String, String>) {
    for value in map.values_mut() {
        value.zeroize();
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
