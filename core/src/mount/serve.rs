//! What the controller decides about a mount request, pure: the TokenReview's answer for the
//! pod's token ([`check_pod_review`]) or the provider's own ([`check_provider_review`]), the
//! pod as the API server has it ([`check_pod`]), the request's form ([`check_request`]), and
//! the scope and values ([`open_items`]: each SealedSecret in the pod's namespace, annotated
//! mount-only, opened and rendered, the asked keys present). The agent does the IO between
//! these steps and turns a [`Denied`] into an HTTP status by its category.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::authentication::v1::TokenReviewStatus;
use k8s_openapi::api::core::v1::Pod;
use zeroize::Zeroizing;

use super::CONTROLLER_AUDIENCE;
use super::exchange::{self, FileMeta, MAX_ITEMS, MountRequest, OpenedFile, RequestItem};
use crate::api::sealed_secret::SealedSecret;
use crate::seal::decide::{content_hash, is_mount_only, unseal_failure};
use crate::seal::keys::KeyRing;
use crate::seal::{self, Templates};

/// `user.extra` key kube-apiserver fills with a bound token's pod name.
pub const EXTRA_POD_NAME: &str = "authentication.kubernetes.io/pod-name";
/// `user.extra` key with the bound pod's uid.
pub const EXTRA_POD_UID: &str = "authentication.kubernetes.io/pod-uid";

/// A refusal: a failure category (the store seam's names) and a message naming the object
/// and cause, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denied {
    /// `rejected` (400), `credentials` (401), `permission_denied` (403), `not_found` (404),
    /// `throttled` (429), `unavailable` (503).
    pub category: &'static str,
    /// What was refused and why.
    pub message: String,
}

impl Denied {
    /// A refusal of `category`.
    pub fn new(category: &'static str, message: impl Into<String>) -> Denied {
        Denied {
            category,
            message: message.into(),
        }
    }

    /// The HTTP status for the category.
    pub fn http_status(&self) -> u16 {
        match self.category {
            "rejected" | "invalid_config" => 400,
            "credentials" => 401,
            "permission_denied" => 403,
            "not_found" => 404,
            "throttled" => 429,
            _ => 503,
        }
    }
}

/// The request's form: fields present, a nonce, a one-time key, items within bounds with
/// unique paths.
pub fn check_request(req: &MountRequest) -> Result<(), Denied> {
    let rejected = |what: String| Denied::new("rejected", what);
    for (name, value) in [
        ("namespace", &req.namespace),
        ("podName", &req.pod_name),
        ("podUID", &req.pod_uid),
        ("serviceAccount", &req.service_account),
    ] {
        if value.is_empty() {
            return Err(rejected(format!("the mount request has no {name}")));
        }
    }
    exchange::check_nonce(&req.nonce).map_err(|e| rejected(e.to_string()))?;
    exchange::decode_public_key("ephemeralKey", &req.ephemeral_key)
        .map_err(|e| rejected(e.to_string()))?;
    if req.items.is_empty() || req.items.len() > MAX_ITEMS {
        return Err(rejected(format!(
            "the mount request for pod {}/{} has {} items (1 to {MAX_ITEMS} allowed)",
            req.namespace,
            req.pod_name,
            req.items.len()
        )));
    }
    let mut paths = BTreeSet::new();
    for item in &req.items {
        if item.path.is_empty() || item.name.is_empty() || item.key.is_empty() {
            return Err(rejected(format!(
                "the mount request for pod {}/{} has an item without path, name or key",
                req.namespace, req.pod_name
            )));
        }
        if !paths.insert(item.path.as_str()) {
            return Err(rejected(format!(
                "the mount request for pod {}/{} names path {:?} twice",
                req.namespace, req.pod_name, item.path
            )));
        }
    }
    Ok(())
}

fn reviewed<'a>(
    status: &'a TokenReviewStatus,
    whose: &str,
) -> Result<&'a k8s_openapi::api::authentication::v1::UserInfo, Denied> {
    if status.authenticated != Some(true) {
        let why = status
            .error
            .as_deref()
            .filter(|e| !e.is_empty())
            .unwrap_or("not authenticated");
        return Err(Denied::new(
            "credentials",
            format!("the token of {whose} was refused by TokenReview: {why}"),
        ));
    }
    let audiences = status.audiences.as_deref().unwrap_or_default();
    if !audiences.iter().any(|a| a == CONTROLLER_AUDIENCE) {
        return Err(Denied::new(
            "credentials",
            format!("the token of {whose} is not valid for audience {CONTROLLER_AUDIENCE:?}"),
        ));
    }
    status.user.as_ref().ok_or_else(|| {
        Denied::new(
            "credentials",
            format!("TokenReview named no user for the token of {whose}"),
        )
    })
}

fn extra<'a>(
    user: &'a k8s_openapi::api::authentication::v1::UserInfo,
    key: &str,
) -> Option<&'a str> {
    match user.extra.as_ref()?.get(key)?.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    }
}

/// The TokenReview of the pod's token (asked with `spec.audiences: ["kubectl-secrets"]`):
/// authenticated, for that audience, the pod's service account, bound to that very pod.
pub fn check_pod_review(status: &TokenReviewStatus, req: &MountRequest) -> Result<(), Denied> {
    let pod = format!("pod {}/{}", req.namespace, req.pod_name);
    let user = reviewed(status, &pod)?;
    let expected = format!(
        "system:serviceaccount:{}:{}",
        req.namespace, req.service_account
    );
    let username = user.username.as_deref().unwrap_or_default();
    if username != expected {
        return Err(Denied::new(
            "permission_denied",
            format!("the token sent for {pod} belongs to {username:?}, not {expected:?}"),
        ));
    }
    match (extra(user, EXTRA_POD_NAME), extra(user, EXTRA_POD_UID)) {
        (Some(name), Some(uid)) if name == req.pod_name && uid == req.pod_uid => Ok(()),
        (Some(name), Some(uid)) => Err(Denied::new(
            "permission_denied",
            format!(
                "the token sent for {pod} (uid {}) is bound to pod {name} (uid {uid})",
                req.pod_uid
            ),
        )),
        _ => Err(Denied::new(
            "permission_denied",
            format!(
                "the token sent for {pod} is not bound to a pod (the CSI driver's tokenRequests tokens are)"
            ),
        )),
    }
}

/// The TokenReview of the provider's own token: exactly the provider's service account
/// (`namespace/name`, the `--csi-provider-service-account` flag).
pub fn check_provider_review(status: &TokenReviewStatus, provider: &str) -> Result<(), Denied> {
    let user = reviewed(status, "the caller")?;
    let expected = format!("system:serviceaccount:{}", provider.replacen('/', ":", 1));
    let username = user.username.as_deref().unwrap_or_default();
    if username != expected {
        return Err(Denied::new(
            "permission_denied",
            format!("the version key is only for the CSI provider {expected:?}, not {username:?}"),
        ));
    }
    Ok(())
}

/// The pod as the API server has it (`None`: not found): the same uid and service account,
/// not being deleted, and Pending or Running. Pending counts because the kubelet mounts
/// volumes before the containers start, while the pod is still Pending.
pub fn check_pod(pod: Option<&Pod>, req: &MountRequest) -> Result<(), Denied> {
    let name = format!("pod {}/{}", req.namespace, req.pod_name);
    let pod =
        pod.ok_or_else(|| Denied::new("permission_denied", format!("{name} does not exist")))?;
    if pod.metadata.uid.as_deref() != Some(req.pod_uid.as_str()) {
        return Err(Denied::new(
            "permission_denied",
            format!("{name} has another uid than {} (re-created?)", req.pod_uid),
        ));
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return Err(Denied::new(
            "permission_denied",
            format!("{name} is being deleted"),
        ));
    }
    let account = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.as_deref())
        .unwrap_or("default");
    if account != req.service_account {
        return Err(Denied::new(
            "permission_denied",
            format!(
                "{name} runs as service account {account:?}, not {:?}",
                req.service_account
            ),
        ));
    }
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending");
    if phase != "Pending" && phase != "Running" {
        return Err(Denied::new(
            "permission_denied",
            format!("{name} is {phase}, not Pending or Running"),
        ));
    }
    Ok(())
}

/// Open what the request asks: `sealed` holds each SealedSecret the items name, as read from
/// the pod's namespace (absent: not found). Each must be annotated mount-only; each asked key
/// must exist after template rendering. Values come back in the items' order, with versions.
pub fn open_items(
    req: &MountRequest,
    sealed: &BTreeMap<String, SealedSecret>,
    keys: &KeyRing,
) -> Result<Vec<OpenedFile>, Denied> {
    if keys.is_empty() {
        return Err(Denied::new("unavailable", "no sealing key is loaded yet"));
    }
    let order = keys.try_order(None);
    let mut opened = BTreeMap::new();
    for name in req.items.iter().map(|i| &i.name).collect::<BTreeSet<_>>() {
        let object = format!("SealedSecret {}/{name}", req.namespace);
        let Some(found) = sealed.get(name) else {
            return Err(Denied::new("not_found", format!("{object} does not exist")));
        };
        if found.metadata.namespace.as_deref() != Some(req.namespace.as_str()) {
            return Err(Denied::new(
                "permission_denied",
                format!("{object} is not in the pod's namespace"),
            ));
        }
        if !is_mount_only(found) {
            return Err(Denied::new(
                "permission_denied",
                format!(
                    "{object} is not served to mounts: annotate it {}=\"true\"",
                    super::MOUNT_ONLY_ANNOTATION
                ),
            ));
        }
        let open = seal::unseal_with(found, &order, Templates::Render).map_err(|err| {
            let failure = unseal_failure(&err);
            Denied::new(
                "invalid_config",
                format!("{object}: {} ({})", failure.message, failure.reason),
            )
        })?;
        let fingerprint = open
            .key_index
            .and_then(|i| order.get(i))
            .map(|k| k.public().fingerprint())
            .unwrap_or_default();
        opened.insert(
            name.clone(),
            (open.secret, fingerprint, content_hash(found)),
        );
    }
    let mut files = Vec::with_capacity(req.items.len());
    for RequestItem { path, name, key } in &req.items {
        let Some((secret, fingerprint, hash)) = opened.get(name) else {
            return Err(Denied::new(
                "not_found",
                format!("SealedSecret {}/{name} does not exist", req.namespace),
            ));
        };
        let value = secret.data.get(key).ok_or_else(|| {
            Denied::new(
                "not_found",
                format!(
                    "SealedSecret {}/{name} has no key {key:?} (after template rendering)",
                    req.namespace
                ),
            )
        })?;
        let version = item_version(&sealed[name], key, fingerprint, hash);
        files.push((
            FileMeta {
                path: path.clone(),
                version,
            },
            Zeroizing::new(value.to_vec()),
        ));
    }
    Ok(files)
}

/// A key straight from `encryptedData`: its ciphertext; a key `template.data` renders: the
/// whole object's content hash (the template and every ciphertext).
fn item_version(sealed: &SealedSecret, key: &str, fingerprint: &str, hash: &str) -> String {
    let templated = sealed
        .spec
        .template
        .as_ref()
        .and_then(|t| t.data.as_ref())
        .is_some_and(|d| d.contains_key(key));
    match sealed.spec.encrypted_data.get(key) {
        Some(ciphertext) if !templated => exchange::sealed_version(
            fingerprint,
            &[b"value", key.as_bytes(), ciphertext.as_bytes()],
        ),
        _ => exchange::sealed_version(fingerprint, &[b"object", key.as_bytes(), hash.as_bytes()]),
    }
}

#[cfg(test)]
mod tests;
