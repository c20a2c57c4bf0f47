//! SecretProviderClass `spec.parameters` for our provider: `store`, `storeKind`, `objects` (a
//! YAML list in a string, the driver's de-facto convention), `audience` and `awsAuth`.
//!
//! [`MountSpec::from_parameters`] validates everything a mount depends on up front (paths,
//! sources, modes), so a bad SecretProviderClass fails with one clear message naming the
//! object before any store is asked. [`check_not_shadowed`] compares what the driver sent
//! with the SecretProviderClass itself, because the driver merges a pod's `volumeAttributes`
//! over the parameters and a pod author must not redirect a mount.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Parameter names (fixed: docs and tests depend on them).
pub const STORE: &str = "store";
/// See [`STORE`].
pub const STORE_KIND: &str = "storeKind";
/// See [`STORE`].
pub const OBJECTS: &str = "objects";
/// See [`STORE`].
pub const AUDIENCE: &str = "audience";
/// See [`STORE`]: AWS stores, `irsa` (default) or `podIdentity`.
pub const AWS_AUTH: &str = "awsAuth";
/// The parameters an admin sets and a pod may not shadow.
pub const GUARDED: [&str; 5] = [STORE, STORE_KIND, OBJECTS, AUDIENCE, AWS_AUTH];

/// The default file mode.
pub const DEFAULT_MODE: u32 = 0o644;

/// Which kind of store `store` names: the same kinds an ExternalSecret names.
pub use crate::api::secret_store::StoreKind;

/// The store a mount reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRef {
    /// The store's name.
    pub name: String,
    /// SecretStore (pod's namespace) or ClusterSecretStore.
    pub kind: StoreKind,
}

/// Where one file's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectSource {
    /// A remote secret in the store, with ESO's `remoteRef` meaning: no `property` is the
    /// whole remote secret as JSON.
    Remote {
        /// The remote key (path).
        key: String,
        /// The property to select.
        property: Option<String>,
        /// The version, in the store's own syntax.
        version: Option<String>,
    },
    /// One key of a mount-only SealedSecret in the pod's namespace (after template rendering).
    SealedSecret {
        /// The SealedSecret's name.
        name: String,
        /// The key in the Secret it describes.
        key: String,
    },
}

/// One file of the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountObject {
    /// The file's path relative to the volume (validated by [`check_path`]).
    pub path: String,
    /// Where its content comes from.
    pub source: ObjectSource,
    /// Its mode (0..=0o777).
    pub mode: u32,
}

/// Everything a SecretProviderClass of ours asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// The store; required when any object has a `remoteRef`.
    pub store: Option<StoreRef>,
    /// The files, in order.
    pub objects: Vec<MountObject>,
    /// Which of the pod's tokens to use for the store.
    pub audience: Option<String>,
    /// AWS stores: `irsa` (default) or `podIdentity`.
    pub aws_auth: Option<String>,
}

/// A SecretProviderClass whose parameters cannot be used; the message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// `objects` is missing or empty.
    #[error("parameters.objects is missing or empty: list at least one object")]
    NoObjects,
    /// `objects` is not the YAML list we read.
    #[error("parameters.objects is not a list of objects: {0}")]
    ObjectsSyntax(String),
    /// One object is wrong.
    #[error("parameters.objects[{index}] ({path}): {cause}")]
    Object {
        /// Its index in the list.
        index: usize,
        /// Its path as given (or `?`).
        path: String,
        /// What is wrong.
        cause: String,
    },
    /// A remoteRef object without a store.
    #[error("parameters.store is missing: objects with remoteRef read from a store")]
    NoStore,
    /// A bad `storeKind`.
    #[error("parameters.storeKind {0:?} is not SecretStore or ClusterSecretStore")]
    StoreKind(String),
    /// A parameter we do not know.
    #[error(
        "parameters.{0} is not a parameter of the kubectl-secrets provider (store, storeKind, objects, audience, awsAuth)"
    )]
    Unknown(String),
    /// A bad `awsAuth`.
    #[error("parameters.awsAuth {0:?} is not irsa or podIdentity")]
    AwsAuth(String),
    /// An empty value where a name is needed.
    #[error("parameters.{0} is empty")]
    Empty(&'static str),
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawObject {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    remote_ref: Option<RawRemoteRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_secret: Option<RawSealedRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mode: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRemoteRef {
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    property: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawSealedRef {
    name: String,
    key: String,
}

impl MountSpec {
    /// Read and validate a SecretProviderClass's `spec.parameters`. Unknown parameters are
    /// refused, so a typo fails the mount instead of being ignored.
    pub fn from_parameters(parameters: &BTreeMap<String, String>) -> Result<Self, ParamsError> {
        if let Some(unknown) = parameters.keys().find(|k| !GUARDED.contains(&k.as_str())) {
            return Err(ParamsError::Unknown(unknown.clone()));
        }
        Self::from_guarded(parameters)
    }

    /// Like [`MountSpec::from_parameters`] but ignoring keys outside [`GUARDED`]: for the
    /// driver's `attributes`, which also carry the volume context and pod information.
    pub fn from_guarded(parameters: &BTreeMap<String, String>) -> Result<Self, ParamsError> {
        let objects = parse_objects(parameters.get(OBJECTS).map(String::as_str))?;
        let kind = match parameters.get(STORE_KIND).map(String::as_str) {
            None | Some("SecretStore") => StoreKind::SecretStore,
            Some("ClusterSecretStore") => StoreKind::ClusterSecretStore,
            Some(other) => return Err(ParamsError::StoreKind(other.to_owned())),
        };
        let store = match parameters.get(STORE) {
            None => None,
            Some(name) if name.is_empty() => return Err(ParamsError::Empty(STORE)),
            Some(name) => Some(StoreRef {
                name: name.clone(),
                kind,
            }),
        };
        let needs_store = objects
            .iter()
            .any(|o| matches!(o.source, ObjectSource::Remote { .. }));
        if needs_store && store.is_none() {
            return Err(ParamsError::NoStore);
        }
        let audience = match parameters.get(AUDIENCE) {
            None => None,
            Some(a) if a.is_empty() => return Err(ParamsError::Empty(AUDIENCE)),
            Some(a) => Some(a.clone()),
        };
        let aws_auth = match parameters.get(AWS_AUTH).map(String::as_str) {
            None => None,
            Some(a @ ("irsa" | "podIdentity")) => Some(a.to_owned()),
            Some(other) => return Err(ParamsError::AwsAuth(other.to_owned())),
        };
        Ok(MountSpec {
            store,
            objects,
            audience,
            aws_auth,
        })
    }

    /// The parameters that describe this spec, as the plugin writes them. `objects` goes
    /// through core's YAML writer, so a YAML 1.1 reader reads every value back as written.
    pub fn to_parameters(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(store) = &self.store {
            out.insert(STORE.to_owned(), store.name.clone());
            if store.kind == StoreKind::ClusterSecretStore {
                out.insert(STORE_KIND.to_owned(), store.kind.as_str().to_owned());
            }
        }
        if let Some(audience) = &self.audience {
            out.insert(AUDIENCE.to_owned(), audience.clone());
        }
        if let Some(aws_auth) = &self.aws_auth {
            out.insert(AWS_AUTH.to_owned(), aws_auth.clone());
        }
        let raw: Vec<RawObject> = self.objects.iter().map(RawObject::from).collect();
        // Serialising plain strings and maps cannot fail; an empty list is the safe fallback.
        let objects = crate::yaml::to_string(&raw)
            .map(|y| y.to_string())
            .unwrap_or_default();
        out.insert(OBJECTS.to_owned(), objects);
        out
    }
}

impl From<&MountObject> for RawObject {
    fn from(object: &MountObject) -> Self {
        let (remote_ref, sealed_secret) = match &object.source {
            ObjectSource::Remote {
                key,
                property,
                version,
            } => (
                Some(RawRemoteRef {
                    key: key.clone(),
                    property: property.clone(),
                    version: version.clone(),
                }),
                None,
            ),
            ObjectSource::SealedSecret { name, key } => (
                None,
                Some(RawSealedRef {
                    name: name.clone(),
                    key: key.clone(),
                }),
            ),
        };
        RawObject {
            path: object.path.clone(),
            remote_ref,
            sealed_secret,
            mode: (object.mode != DEFAULT_MODE)
                .then(|| serde_yaml_ng::Value::String(format!("{:04o}", object.mode))),
        }
    }
}

fn parse_objects(text: Option<&str>) -> Result<Vec<MountObject>, ParamsError> {
    let text = text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ParamsError::NoObjects);
    }
    let raw: Vec<RawObject> =
        serde_yaml_ng::from_str(text).map_err(|err| ParamsError::ObjectsSyntax(err.to_string()))?;
    if raw.is_empty() {
        return Err(ParamsError::NoObjects);
    }
    let mut objects = Vec::with_capacity(raw.len());
    for (index, item) in raw.into_iter().enumerate() {
        let fail = |cause: String| ParamsError::Object {
            index,
            path: if item.path.is_empty() {
                "?".to_owned()
            } else {
                item.path.clone()
            },
            cause,
        };
        check_path(&item.path).map_err(|cause| fail(cause.to_owned()))?;
        let source = match (&item.remote_ref, &item.sealed_secret) {
            (Some(r), None) => {
                if r.key.is_empty() {
                    return Err(fail("remoteRef.key is empty".into()));
                }
                ObjectSource::Remote {
                    key: r.key.clone(),
                    property: r.property.clone().filter(|p| !p.is_empty()),
                    version: r.version.clone().filter(|v| !v.is_empty()),
                }
            }
            (None, Some(s)) => {
                if s.name.is_empty() || s.key.is_empty() {
                    return Err(fail("sealedSecret needs both name and key".into()));
                }
                ObjectSource::SealedSecret {
                    name: s.name.clone(),
                    key: s.key.clone(),
                }
            }
            (None, None) => return Err(fail("needs remoteRef or sealedSecret".into())),
            (Some(_), Some(_)) => {
                return Err(fail("has both remoteRef and sealedSecret; give one".into()));
            }
        };
        let mode = parse_mode(item.mode.as_ref()).map_err(fail)?;
        objects.push(MountObject {
            path: item.path.clone(),
            source,
            mode,
        });
    }
    check_layout(&objects)?;
    Ok(objects)
}

/// A mode is a quoted octal string: YAML 1.1 and 1.2 readers disagree on a bare `0644`.
fn parse_mode(value: Option<&serde_yaml_ng::Value>) -> Result<u32, String> {
    let Some(value) = value else {
        return Ok(DEFAULT_MODE);
    };
    let text = match value {
        serde_yaml_ng::Value::String(text) => text,
        _ => return Err("mode must be a quoted octal string such as \"0644\"".into()),
    };
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(format!(
            "mode {text:?} is not an octal mode such as \"0644\""
        ));
    }
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("mode {text:?} is above 0777")),
    }
}

/// The rule for a file path in the volume: relative, every component a normal name, none
/// starting with `..` (the kubelet's atomic writer keeps `..data` and its timestamped
/// directories there).
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("path is empty");
    }
    if path.starts_with('/') {
        return Err("path must be relative");
    }
    if path.contains('\0') || path.contains('\\') {
        return Err("path has a NUL or a backslash");
    }
    for component in path.split('/') {
        match component {
            "" => return Err("path has an empty component (a doubled or trailing /)"),
            "." | ".." => return Err("path has a . or .. component"),
            c if c.starts_with("..") => {
                return Err(
                    "path has a component starting with .., which the kubelet's atomic writer uses",
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// Paths are unique and none is a parent directory of another (a file cannot be a directory).
fn check_layout(objects: &[MountObject]) -> Result<(), ParamsError> {
    let mut seen = BTreeSet::new();
    for (index, object) in objects.iter().enumerate() {
        if !seen.insert(object.path.as_str()) {
            return Err(ParamsError::Object {
                index,
                path: object.path.clone(),
                cause: "path is used by an earlier object".into(),
            });
        }
    }
    for (index, object) in objects.iter().enumerate() {
        let as_dir = format!("{}/", object.path);
        if let Some(child) = objects.iter().find(|o| o.path.starts_with(&as_dir)) {
            return Err(ParamsError::Object {
                index,
                path: object.path.clone(),
                cause: format!("path is a parent directory of {}", child.path),
            });
        }
    }
    Ok(())
}

/// A guarded parameter whose value in the driver's request differs from the
/// SecretProviderClass: the pod's volumeAttributes tried to shadow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the pod's volumeAttributes set {0:?}, which only the SecretProviderClass may set; remove it from the pod's volume"
)]
pub struct Shadowed(pub &'static str);

/// Refuse a request whose guarded parameters differ from the SecretProviderClass's.
pub fn check_not_shadowed(
    attributes: &BTreeMap<String, String>,
    spc_parameters: &BTreeMap<String, String>,
) -> Result<(), Shadowed> {
    match GUARDED
        .iter()
        .find(|name| attributes.get(**name) != spc_parameters.get(**name))
    {
        Some(name) => Err(Shadowed(name)),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
