//! Secret ⇄ SealedSecret: building kubeseal-shaped SealedSecrets, merging new values into an
//! existing one, and unsealing with private keys (offline recovery; the agent reuses it).

pub mod crypto;
pub mod decide;
pub mod keys;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::sealed_secret::{SealedSecret, SealedSecretSpec, SecretTemplateSpec};
use crate::seal::keys::{PrivateKey, PublicKey};
use crate::secret::{self, PlainSecret, SecretError};
use crate::template;
use crypto::{OpenError, Scope, SealError};

/// Annotations kubeseal strips from the template: they hold the previous plaintext (the
/// Sealed Secrets #227 leak).
pub const STRIPPED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

/// Why a Secret could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealSecretError {
    /// The Secret breaks an API-server rule.
    #[error(transparent)]
    Invalid(#[from] SecretError),
    /// No data at all.
    #[error("secret {0}: no data to seal (give data or stringData)")]
    EmptyData(String),
    /// A strict or namespace-wide seal needs a namespace.
    #[error("secret {0}: a namespace is needed for this scope")]
    NoNamespace(String),
    /// Sealing one value failed.
    #[error("secret {secret}: could not seal data[{key:?}]")]
    Seal {
        /// Which Secret.
        secret: String,
        /// Which key.
        key: String,
        /// Why.
        #[source]
        source: SealError,
    },
}

/// Seal every value of `secret` for `key` under `scope`. The Secret's name and namespace must
/// already be final: they are part of the label.
pub fn seal_secret(
    secret: &PlainSecret,
    key: &PublicKey,
    scope: Scope,
) -> Result<SealedSecret, SealSecretError> {
    secret::validate(secret)?;
    if secret.data.is_empty() {
        return Err(SealSecretError::EmptyData(secret.display_name()));
    }
    let name = secret.metadata.name.clone().unwrap_or_default();
    let namespace = secret.metadata.namespace.clone();
    if scope != Scope::ClusterWide && namespace.is_none() {
        return Err(SealSecretError::NoNamespace(secret.display_name()));
    }
    let label = scope.label(namespace.as_deref().unwrap_or_default(), &name);
    let encrypted_data = seal_values(secret, key, &label)?;

    let mut top_annotations = BTreeMap::new();
    scope.apply_annotations(&mut top_annotations);
    let metadata = ObjectMeta {
        name: Some(name),
        namespace,
        annotations: non_empty(top_annotations),
        ..ObjectMeta::default()
    };
    let template = SecretTemplateSpec {
        metadata: Some(template_metadata(&secret.metadata, scope)),
        type_: secret.type_.clone(),
        immutable: secret.immutable,
        data: None,
    };
    Ok(SealedSecret {
        metadata,
        spec: SealedSecretSpec {
            encrypted_data,
            template: Some(template),
            data: None,
        },
        status: None,
    })
}

fn seal_values(
    secret: &PlainSecret,
    key: &PublicKey,
    label: &[u8],
) -> Result<BTreeMap<String, String>, SealSecretError> {
    secret
        .data
        .iter()
        .map(|(k, v)| {
            let sealed = crypto::seal(key, label, v).map_err(|source| SealSecretError::Seal {
                secret: secret.display_name(),
                key: k.clone(),
                source,
            })?;
            Ok((k.clone(), crypto::encode(&sealed)))
        })
        .collect()
}

/// The template metadata kubeseal writes: the input's name, namespace, labels, annotations and
/// finalizers; server-set fields, owner references and last-applied annotations dropped; the
/// scope annotation added (so the Secret carries it too).
fn template_metadata(input: &ObjectMeta, scope: Scope) -> ObjectMeta {
    let mut annotations = input.annotations.clone().unwrap_or_default();
    for stripped in STRIPPED_ANNOTATIONS {
        annotations.remove(stripped);
    }
    scope.apply_annotations(&mut annotations);
    ObjectMeta {
        name: input.name.clone(),
        namespace: input.namespace.clone(),
        labels: input.labels.clone().filter(|l| !l.is_empty()),
        annotations: non_empty(annotations),
        finalizers: input.finalizers.clone().filter(|f| !f.is_empty()),
        ..ObjectMeta::default()
    }
}

fn non_empty(map: BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!map.is_empty()).then_some(map)
}

/// Seal `secret`'s values with `existing`'s name, namespace and scope, and add or replace them
/// in `existing`, keeping every other key. The Secret's labels and annotations are merged into
/// the template (kubeseal `--merge-into`).
pub fn merge_into(
    existing: &mut SealedSecret,
    secret: &PlainSecret,
    key: &PublicKey,
) -> Result<(), SealSecretError> {
    let scope = existing.scope();
    let mut renamed = secret.clone();
    renamed.metadata.name = existing.metadata.name.clone();
    renamed.metadata.namespace = existing.metadata.namespace.clone();
    let sealed = seal_secret(&renamed, key, scope)?;
    existing
        .spec
        .encrypted_data
        .extend(sealed.spec.encrypted_data);
    let template = existing
        .spec
        .template
        .get_or_insert_with(SecretTemplateSpec::default);
    let meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    let new_meta = sealed
        .spec
        .template
        .and_then(|t| t.metadata)
        .unwrap_or_default();
    merge_map(&mut meta.labels, new_meta.labels);
    merge_map(&mut meta.annotations, new_meta.annotations);
    Ok(())
}

fn merge_map(into: &mut Option<BTreeMap<String, String>>, from: Option<BTreeMap<String, String>>) {
    if let Some(from) = from {
        into.get_or_insert_with(BTreeMap::new).extend(from);
    }
}

/// Why a SealedSecret could not be unsealed. Messages name the object, the scope label used
/// and the number of keys tried; never a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnsealError {
    /// One or more values did not open.
    #[error(
        "sealed secret {object}: {} of {total} values could not be opened with {tried} key(s) \
         under scope label {label}: {}",
        failures.len(),
        describe(failures)
    )]
    Values {
        /// `namespace/name`.
        object: String,
        /// The scope label, described.
        label: String,
        /// Keys tried.
        tried: usize,
        /// Values in the object.
        total: usize,
        /// Each failed item and why.
        failures: Vec<(String, OpenError)>,
    },
    /// `template.data` could not be rendered.
    #[error("sealed secret {object}: template.data[{key:?}]")]
    Template {
        /// `namespace/name`.
        object: String,
        /// Which template key.
        key: String,
        /// Why.
        #[source]
        source: template::TemplateError,
    },
    /// The legacy v1 `spec.data` blob opened but is not a Secret.
    #[error("sealed secret {object}: the legacy spec.data blob does not hold a valid Secret")]
    LegacyBlob {
        /// `namespace/name`.
        object: String,
    },
    /// Nothing to unseal.
    #[error("sealed secret {0}: spec.encryptedData is empty")]
    Empty(String),
}

fn describe(failures: &[(String, OpenError)]) -> String {
    failures
        .iter()
        .map(|(key, err)| format!("{key}: {err}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Open every value with any of `keys` and build the Secret (template metadata, type and
/// immutability; name and namespace forced to the SealedSecret's; `template.data` rendered).
pub fn unseal(sealed: &SealedSecret, keys: &[PrivateKey]) -> Result<PlainSecret, UnsealError> {
    let refs: Vec<&PrivateKey> = keys.iter().collect();
    unseal_with(sealed, &refs, Templates::Render).map(|opened| opened.secret)
}

/// Whether to render `template.data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Templates {
    /// Render them (building the Secret).
    Render,
    /// Leave them alone: verify and rotate must not render attacker-supplied templates, which
    /// would turn them into decryption oracles (the Sealed Secrets 2026 fixes).
    Skip,
}

/// What [`unseal_with`] opened.
#[derive(Debug)]
pub struct Opened {
    /// The Secret.
    pub secret: PlainSecret,
    /// Index in `keys` of the key that opened the values (the first value's), if any value.
    pub key_index: Option<usize>,
}

/// [`unseal`] with the keys in the caller's order (put the likely key first) and a choice
/// about templates; reports which key opened the values.
pub fn unseal_with(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    templates: Templates,
) -> Result<Opened, UnsealError> {
    let (name, namespace) = sealed.name_and_namespace();
    let object = if namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}/{name}")
    };
    let scope = sealed.scope();
    let label = scope.label(namespace, name);
    let template = sealed.spec.template.clone().unwrap_or_default();

    let mut secret = PlainSecret {
        metadata: template.metadata.unwrap_or_default(),
        type_: template.type_,
        immutable: template.immutable,
        data: BTreeMap::new(),
    };
    if sealed.spec.encrypted_data.is_empty() {
        match &sealed.spec.data {
            Some(blob) => {
                let secret = unseal_legacy(blob, keys, &label, &object, scope, sealed)?;
                return Ok(Opened {
                    secret,
                    key_index: None,
                });
            }
            None if template.data.is_none() => return Err(UnsealError::Empty(object)),
            None => {}
        }
    }
    let mut failures = Vec::new();
    let mut key_index = None;
    for (key, value) in &sealed.spec.encrypted_data {
        // Once a key has opened one value, try it first for the rest: they were sealed together.
        let order: Vec<&PrivateKey> = match key_index {
            Some(i) => std::iter::once(keys[i])
                .chain(
                    keys.iter()
                        .copied()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, k)| k),
                )
                .collect(),
            None => keys.to_vec(),
        };
        let opened = crypto::decode(value)
            .and_then(|raw| crypto::open_with_any(order.iter().copied(), &label, &raw));
        match opened {
            Ok((index, plaintext)) => {
                let used = order[index];
                key_index = keys.iter().position(|k| std::ptr::eq(*k, used));
                secret.data.insert(key.clone(), plaintext);
            }
            Err(err) => failures.push((key.clone(), err)),
        }
    }
    if !failures.is_empty() {
        return Err(UnsealError::Values {
            object,
            label: scope.describe_label(namespace, name),
            tried: keys.len(),
            total: sealed.spec.encrypted_data.len(),
            failures,
        });
    }
    if templates == Templates::Render {
        // Every template sees the decrypted values only, as Bitnami's (its data map is built
        // once, before any template runs), never another template's output.
        let mut rendered = BTreeMap::new();
        for (key, text) in template.data.unwrap_or_default() {
            let value =
                template::render(&text, &secret.data).map_err(|source| UnsealError::Template {
                    object: object.clone(),
                    key: key.clone(),
                    source,
                })?;
            rendered.insert(key, value);
        }
        secret.data.extend(rendered);
    }
    force_identity(&mut secret, name, namespace);
    Ok(Opened { secret, key_index })
}

/// Can every value be opened with `keys`? Templates are never rendered here.
pub fn verify(sealed: &SealedSecret, keys: &[&PrivateKey]) -> Result<(), UnsealError> {
    unseal_with(sealed, keys, Templates::Skip).map(drop)
}

/// Re-seal every value to `newest`. The label is the one the object was opened with (its
/// top-level metadata); the template's name, namespace and scope annotations are overwritten
/// with the top-level ones, so a request can never widen the scope through the template.
/// `template.data` is kept as text, never rendered.
///
/// When every value already opens with `newest` (its private key is among `keys`), the
/// ciphertext is kept as it is: re-encrypting would change every value (OAEP is randomized)
/// and churn Git for nothing. The template is normalized either way.
pub fn rotate(
    sealed: &SealedSecret,
    keys: &[&PrivateKey],
    newest: &PublicKey,
) -> Result<SealedSecret, RotateError> {
    let (name, namespace) = sealed.name_and_namespace();
    let scope = sealed.scope();
    let label = scope.label(namespace, name);
    let mut out = sealed.clone();
    out.status = None;
    let newest_keys: Vec<&PrivateKey> = keys
        .iter()
        .copied()
        .filter(|k| k.public().spki_der() == newest.spki_der())
        .collect();
    let on_newest = !newest_keys.is_empty() && verify(sealed, &newest_keys).is_ok();
    if !on_newest {
        let opened = unseal_with(sealed, keys, Templates::Skip)?;
        for (key, value) in &opened.secret.data {
            let raw = crypto::seal(newest, &label, value).map_err(|source| RotateError::Seal {
                key: key.clone(),
                source,
            })?;
            out.spec
                .encrypted_data
                .insert(key.clone(), crypto::encode(&raw));
        }
    }
    let template = out
        .spec
        .template
        .get_or_insert_with(SecretTemplateSpec::default);
    let meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    meta.name = (!name.is_empty()).then(|| name.to_owned());
    meta.namespace = (!namespace.is_empty()).then(|| namespace.to_owned());
    let mut annotations = meta.annotations.take().unwrap_or_default();
    scope.apply_annotations(&mut annotations);
    meta.annotations = non_empty(annotations);
    let top = &mut out.metadata;
    for field in [&mut top.creation_timestamp, &mut top.deletion_timestamp] {
        *field = None;
    }
    top.generation = None;
    top.resource_version = None;
    top.uid = None;
    top.managed_fields = None;
    Ok(out)
}

/// Why a SealedSecret could not be re-sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// Opening failed.
    #[error(transparent)]
    Unseal(#[from] UnsealError),
    /// Sealing a value to the new key failed.
    #[error("re-sealing data[{key:?}]")]
    Seal {
        /// Which key.
        key: String,
        /// Why.
        #[source]
        source: SealError,
    },
}

fn force_identity(secret: &mut PlainSecret, name: &str, namespace: &str) {
    secret.metadata.name = Some(name.to_owned());
    secret.metadata.namespace = (!namespace.is_empty()).then(|| namespace.to_owned());
}

/// The deprecated v1 format: the whole Secret JSON sealed as one value.
fn unseal_legacy(
    blob: &str,
    keys: &[&PrivateKey],
    label: &[u8],
    object: &str,
    scope: Scope,
    sealed: &SealedSecret,
) -> Result<PlainSecret, UnsealError> {
    let (name, namespace) = sealed.name_and_namespace();
    let opened = crypto::decode(blob)
        .and_then(|raw| crypto::open_with_any(keys.iter().copied(), label, &raw));
    let (_, plaintext) = opened.map_err(|err| UnsealError::Values {
        object: object.to_owned(),
        label: scope.describe_label(namespace, name),
        tried: keys.len(),
        total: 1,
        failures: vec![("spec.data".to_owned(), err)],
    })?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| UnsealError::LegacyBlob {
        object: object.to_owned(),
    })?;
    let mut secrets = secret::parse_secrets(text).map_err(|_| UnsealError::LegacyBlob {
        object: object.to_owned(),
    })?;
    let mut secret = secrets.pop().ok_or_else(|| UnsealError::LegacyBlob {
        object: object.to_owned(),
    })?;
    force_identity(&mut secret, name, namespace);
    Ok(secret)
}

/// Where the sealed Secret's namespace comes from, kubeseal's rules: the input's own, else
/// `-n`, else the kubeconfig context's. An explicit `-n` that contradicts the input is an
/// error rather than a silent choice.
pub fn resolve_namespace(
    input: Option<&str>,
    flag: Option<&str>,
    context: Option<&str>,
) -> Result<String, NamespaceConflict> {
    match (input, flag) {
        (Some(input), Some(flag)) if input != flag => Err(NamespaceConflict {
            input: input.to_owned(),
            flag: flag.to_owned(),
        }),
        (Some(input), _) => Ok(input.to_owned()),
        (None, Some(flag)) => Ok(flag.to_owned()),
        (None, None) => Ok(context.unwrap_or("default").to_owned()),
    }
}

/// The input's namespace and `-n` disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the input's namespace {input:?} conflicts with --namespace {flag:?}")]
pub struct NamespaceConflict {
    /// Namespace in the manifest.
    pub input: String,
    /// Namespace from the flag.
    pub flag: String,
}

#[cfg(test)]
mod tests;
