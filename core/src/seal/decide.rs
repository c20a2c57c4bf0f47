//! The SealedSecret → Secret decision, pure: given the SealedSecret, the Secret that exists
//! (if any) and the keys, say what the Secret must become, or why it cannot. No IO here: the
//! agent reads the world, calls [`decide`], applies the result and writes status.
//!
//! Semantics are Bitnami's (reference §2.3–2.4): template metadata, type and immutability;
//! name and namespace forced; an owner reference unless `skip-set-owner-references`; an
//! existing Secret is taken only if this SealedSecret controls it or it is annotated
//! `managed` (replace) or `patch` (merge). On top: the Secret records a hash of what was
//! unsealed and which key opened it, so an unchanged SealedSecret costs no RSA work.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::sealed_secret::SealedSecret;
use crate::ownership::{Owner, controlled_by};
use crate::seal::keys::KeyRing;
use crate::seal::{self, Templates, UnsealError};

/// Annotation prefix for ours; Bitnami's is read too in compat mode.
pub const PREFIX: &str = "kubectl-secrets.io/";
/// Bitnami's annotation prefix.
pub const BITNAMI_PREFIX: &str = "sealedsecrets.bitnami.com/";
/// Hash of the SealedSecret content the Secret was made from.
pub const SEALED_HASH: &str = "kubectl-secrets.io/sealed-hash";
/// Fingerprint of the key that opened it.
pub const KEY_FINGERPRINT: &str = "kubectl-secrets.io/key-fingerprint";

/// Options that change the decision.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also honour Bitnami's `managed`/`patch`/`skip-set-owner-references` annotations.
    pub bitnami_compat: bool,
}

/// What to do.
#[derive(Debug)]
pub enum Decision {
    /// The Secret already matches this SealedSecret: nothing to do, no RSA work done.
    UpToDate,
    /// Create (no `resource_version`) or replace the Secret with this one.
    Write {
        /// The full desired Secret (plaintext inside: zeroize after use).
        secret: Box<Secret>,
        /// Fingerprint of the key that opened the values.
        key_fingerprint: Option<String>,
        /// True when the Secret does not exist yet.
        create: bool,
    },
    /// The SealedSecret is annotated mount-only (`kubectl-secrets.io/mount-only: "true"`):
    /// it opened and rendered, and no Secret is made; one this SealedSecret had made before
    /// the annotation is deleted.
    MountOnly {
        /// Delete this Secret (ours, from before the annotation): its name and uid, so the
        /// delete is a precondition on exactly that object.
        delete: Option<Stale>,
        /// Fingerprint of the key that opened the values.
        key_fingerprint: Option<String>,
    },
    /// It cannot be done; the status says why.
    Fail(Failure),
}

/// A Secret to delete: the one this SealedSecret made before it became mount-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// Its name.
    pub name: String,
    /// Its uid (a precondition of the delete).
    pub uid: Option<String>,
}

/// True when the SealedSecret is served to CSI mounts only (annotation
/// [`crate::mount::MOUNT_ONLY_ANNOTATION`] set to `"true"` on the SealedSecret itself).
pub fn is_mount_only(sealed: &SealedSecret) -> bool {
    sealed
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(crate::mount::MOUNT_ONLY_ANNOTATION))
        .is_some_and(|v| v == "true")
}

/// A failure with a stable machine reason (condition reason, event reason, metric label) and a
/// message for people that never holds a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `DecryptionFailed`, `TemplateError`, `SecretConflict`, `ImmutableSecret`, `InvalidSpec`.
    pub reason: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl Failure {
    fn new(reason: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            reason,
            message: message.into(),
        }
    }
}

/// SHA-256 (hex) of everything that determines the Secret: identity, scope annotations and
/// spec. Never computed over plaintext.
pub fn content_hash(sealed: &SealedSecret) -> String {
    let (name, namespace) = sealed.name_and_namespace();
    let input = serde_json::json!({
        "name": name, "namespace": namespace, "scope": sealed.scope().as_str(), "spec": sealed.spec,
    });
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, input.to_string().as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str, options: Options) -> Option<&'a str> {
    let annotations = meta.annotations.as_ref()?;
    annotations
        .get(&format!("{PREFIX}{key}"))
        .or_else(|| {
            options
                .bitnami_compat
                .then(|| annotations.get(&format!("{BITNAMI_PREFIX}{key}")))
                .flatten()
        })
        .map(String::as_str)
}

/// Decide what the Secret must be.
pub fn decide(
    sealed: &SealedSecret,
    owner: &Owner,
    existing: Option<&Secret>,
    keys: &KeyRing,
    options: Options,
) -> Decision {
    if is_mount_only(sealed) {
        return decide_mount_only(sealed, owner, existing, keys);
    }
    let hash = content_hash(sealed);
    let template_meta = sealed
        .spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.clone())
        .unwrap_or_default();
    let (mut managed, mut patch) = (false, false);
    if let Some(secret) = existing {
        managed = annotation(&secret.metadata, "managed", options) == Some("true");
        patch = annotation(&secret.metadata, "patch", options) == Some("true");
        let ours = controlled_by(secret, owner);
        if !ours && !managed && !patch {
            return Decision::Fail(Failure::new(
                "SecretConflict",
                format!(
                    "Secret {:?} already exists and is not managed by this SealedSecret; annotate it \
                     {PREFIX}managed=true (replace) or {PREFIX}patch=true (merge) to hand it over",
                    owner.name
                ),
            ));
        }
        let recorded = secret
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(SEALED_HASH));
        if ours && recorded == Some(&hash) {
            return Decision::UpToDate;
        }
    }
    let hint = existing
        .and_then(|s| s.metadata.annotations.as_ref())
        .and_then(|a| a.get(KEY_FINGERPRINT))
        .map(String::as_str);
    let (opened, key_fingerprint) = match open(sealed, keys, hint) {
        Ok(opened) => opened,
        Err(decision) => return decision,
    };
    let data: BTreeMap<String, ByteString> = opened
        .secret
        .data
        .iter()
        .map(|(k, v)| (k.clone(), ByteString(v.to_vec())))
        .collect();

    let mut annotations = template_meta.annotations.clone().unwrap_or_default();
    annotations.insert(SEALED_HASH.to_owned(), hash);
    if let Some(fp) = &key_fingerprint {
        annotations.insert(KEY_FINGERPRINT.to_owned(), fp.clone());
    }
    let skip_owner = template_meta.annotations.as_ref().is_some_and(|a| {
        a.get(&format!("{PREFIX}skip-set-owner-references"))
            .is_some_and(|v| v == "true")
            || (options.bitnami_compat
                && a.get(&format!("{BITNAMI_PREFIX}skip-set-owner-references"))
                    .is_some_and(|v| v == "true"))
    });
    let owner_refs = (!skip_owner).then(|| vec![owner.reference()]);
    let (name, namespace) = sealed.name_and_namespace();
    let mut desired = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            labels: template_meta.labels.clone(),
            annotations: Some(annotations),
            finalizers: template_meta.finalizers.clone(),
            owner_references: owner_refs,
            ..ObjectMeta::default()
        },
        type_: sealed.spec.template.as_ref().and_then(|t| t.type_.clone()),
        immutable: sealed.spec.template.as_ref().and_then(|t| t.immutable),
        data: Some(data),
        ..Secret::default()
    };
    let Some(current) = existing else {
        return Decision::Write {
            secret: Box::new(desired),
            key_fingerprint,
            create: true,
        };
    };
    if patch {
        // Merge: keys, labels and annotations the SealedSecret does not set survive. Owner
        // references are taken only when `managed` is set too.
        let mut data = current.data.clone().unwrap_or_default();
        data.extend(desired.data.take().unwrap_or_default());
        desired.data = Some(data);
        let mut labels = current.metadata.labels.clone().unwrap_or_default();
        labels.extend(desired.metadata.labels.take().unwrap_or_default());
        desired.metadata.labels = Some(labels);
        let mut annotations = current.metadata.annotations.clone().unwrap_or_default();
        annotations.extend(desired.metadata.annotations.take().unwrap_or_default());
        desired.metadata.annotations = Some(annotations);
        if !managed {
            desired.metadata.owner_references = current.metadata.owner_references.clone();
        }
    } else if managed {
        // Keep the hand-over annotation so the Secret stays ours after the replace.
        let annotations = desired
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new);
        for key in [
            format!("{PREFIX}managed"),
            format!("{BITNAMI_PREFIX}managed"),
        ] {
            if let Some(v) = current
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(&key))
            {
                annotations.insert(key, v.clone());
            }
        }
    }
    if current.immutable == Some(true)
        && (current.data != desired.data || desired.immutable != Some(true))
    {
        return Decision::Fail(Failure::new(
            "ImmutableSecret",
            format!(
                "Secret {:?} is immutable and its data would change; delete it so it can be re-created",
                owner.name
            ),
        ));
    }
    desired.metadata.resource_version = current.metadata.resource_version.clone();
    desired.metadata.uid = current.metadata.uid.clone();
    Decision::Write {
        secret: Box::new(desired),
        key_fingerprint,
        create: false,
    }
}

/// Open `sealed` with every loaded key (the one named by `hint` first) and render its
/// template; the failure is the decision to report.
fn open(
    sealed: &SealedSecret,
    keys: &KeyRing,
    hint: Option<&str>,
) -> Result<(seal::Opened, Option<String>), Decision> {
    if keys.is_empty() {
        return Err(Decision::Fail(Failure::new(
            "NoKeys",
            "no sealing key is loaded yet",
        )));
    }
    let order = keys.try_order(hint);
    let opened = seal::unseal_with(sealed, &order, Templates::Render)
        .map_err(|err| Decision::Fail(unseal_failure(&err)))?;
    let key_fingerprint = opened
        .key_index
        .and_then(|i| order.get(i))
        .map(|k| k.public().fingerprint());
    Ok((opened, key_fingerprint))
}

/// A mount-only SealedSecret: prove it opens and renders (so `Ready` means a mount will
/// work), then make no Secret, and delete the one this object made before, if any. A Secret
/// of that name that is not ours is left alone.
fn decide_mount_only(
    sealed: &SealedSecret,
    owner: &Owner,
    existing: Option<&Secret>,
    keys: &KeyRing,
) -> Decision {
    // The plaintext is dropped (and wiped) at the end of this function: only the fact that it
    // opened, and with which key, is kept.
    let (_opened, key_fingerprint) = match open(sealed, keys, None) {
        Ok(opened) => opened,
        Err(decision) => return decision,
    };
    let delete = existing
        .filter(|secret| controlled_by(secret, owner))
        .map(|secret| Stale {
            name: owner.name.clone(),
            uid: secret.metadata.uid.clone(),
        });
    Decision::MountOnly {
        delete,
        key_fingerprint,
    }
}

/// The failure reason and message for an unseal error.
pub fn unseal_failure(err: &UnsealError) -> Failure {
    match err {
        UnsealError::Template { .. } => {
            Failure::new("TemplateError", format!("{err}: {}", source_text(err)))
        }
        UnsealError::Empty(_) => Failure::new("InvalidSpec", err.to_string()),
        _ => Failure::new("DecryptionFailed", err.to_string()),
    }
}

fn source_text(err: &dyn std::error::Error) -> String {
    err.source().map(|s| s.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
