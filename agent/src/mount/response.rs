//! The answer of a mount: every object's file, in the SecretProviderClass's order, with its
//! explicit mode and one object version whose id is the path.
//!
//! Data flow: the values read (one [`RemoteValue`] per distinct key and version) and the
//! SealedSecret files the controller opened → [`select`]: each object's bytes
//! (`remoteRef.property` as ESO selects it; none = the whole secret as JSON) and its version
//! when the source has one (`files::store_version`, the controller's for SealedSecrets) →
//! [`finish`]: the HMAC version for the rest (`files::hmac_version` with the cluster key) →
//! the proto answer, refused when its encoded size is over the driver's limit.
//!
//! The values move into the proto message without a copy; what tonic does with its buffers
//! afterwards is not ours to wipe.

use std::collections::HashMap;

use csi_provider_proto::v1alpha1::{File, MountResponse, ObjectVersion};
use prost::Message as _;
use secrets_core::mount::MAX_RESPONSE_BYTES;
use secrets_core::mount::files::{self, MountedFile};
use secrets_core::mount::params::{MountObject, ObjectSource};
use secrets_core::store::{ErrorKind, ReadKey, RemoteValue};
use tonic::Code;

use super::failure::{MountFailure, TOO_LARGE};
use super::link::SealedFile;

/// A file whose version may still need the cluster key (`version` empty).
pub struct Pending(MountedFile);

impl Pending {
    /// Whether the version needs the cluster key.
    pub fn needs_key(&self) -> bool {
        self.0.version.is_empty()
    }
}

/// Each object's bytes and, where its source has one, its version.
pub fn select(
    objects: &[MountObject],
    reads: &HashMap<ReadKey, RemoteValue>,
    mut sealed: HashMap<String, SealedFile>,
    store: &str,
) -> Result<Vec<Pending>, MountFailure> {
    let mut out = Vec::with_capacity(objects.len());
    for object in objects {
        let fail = |kind: ErrorKind, cause: String, source: &str| {
            MountFailure::new(kind, cause)
                .paths([object.path.clone()])
                .source(source.to_owned())
        };
        let (contents, version) = match &object.source {
            ObjectSource::Remote {
                key,
                property,
                version,
            } => {
                let read = ReadKey {
                    key: key.clone(),
                    version: version.clone(),
                    metadata: false,
                };
                let value = reads.get(&read).ok_or_else(|| {
                    fail(
                        ErrorKind::BadResponse,
                        format!("{key:?} was not read"),
                        store,
                    )
                })?;
                let contents = value
                    .select(property.as_deref())
                    .map_err(|e| fail(ErrorKind::NotFound, e.to_string(), store))?;
                let version = value
                    .version()
                    .map(|v| files::store_version(key, property.as_deref(), v))
                    .unwrap_or_default();
                (contents, version)
            }
            ObjectSource::SealedSecret { name, .. } => {
                let file = sealed.remove(&object.path).ok_or_else(|| {
                    fail(
                        ErrorKind::BadResponse,
                        "the controller's answer has no such file".into(),
                        &format!("SealedSecret {name:?}"),
                    )
                })?;
                if file.version.is_empty() {
                    return Err(fail(
                        ErrorKind::BadResponse,
                        "the controller's answer has no version for it".into(),
                        &format!("SealedSecret {name:?}"),
                    ));
                }
                (file.contents, file.version)
            }
        };
        out.push(Pending(MountedFile {
            path: object.path.clone(),
            mode: object.mode,
            contents,
            version,
        }));
    }
    Ok(out)
}

/// The answer, with HMAC versions made with `key` where needed, within the size limit.
pub fn finish(pending: Vec<Pending>, key: Option<&[u8]>) -> Result<MountResponse, MountFailure> {
    let mut response = MountResponse::default();
    for Pending(mut file) in pending {
        let version = if file.version.is_empty() {
            let Some(key) = key else {
                return Err(MountFailure::new(
                    ErrorKind::Unavailable,
                    "no cluster key for the object's version",
                )
                .paths([file.path]));
            };
            files::hmac_version(key, &file.path, &file.contents)
        } else {
            std::mem::take(&mut file.version)
        };
        response.object_version.push(ObjectVersion {
            id: file.path.clone(),
            version,
        });
        response.files.push(File {
            mode: i32::try_from(file.mode).unwrap_or(0o644),
            // Moved, not copied: the Zeroizing wrapper is left with an empty buffer.
            contents: std::mem::take(&mut *file.contents),
            path: std::mem::take(&mut file.path),
        });
    }
    files::check_total(response.encoded_len(), MAX_RESPONSE_BYTES)
        .map_err(|e| MountFailure::raw(TOO_LARGE, Code::ResourceExhausted, e.to_string()))?;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use secrets_core::mount::params::DEFAULT_MODE;
    use serde_json::json;
    use zeroize::Zeroizing;

    use super::*;

    fn remote(path: &str, key: &str, property: Option<&str>, mode: u32) -> MountObject {
        MountObject {
            path: path.into(),
            source: ObjectSource::Remote {
                key: key.into(),
                property: property.map(Into::into),
                version: None,
            },
            mode,
        }
    }

    fn value(key: &str, version: Option<&str>, data: serde_json::Value) -> (ReadKey, RemoteValue) {
        let serde_json::Value::Object(map) = data else {
            unreachable!()
        };
        (
            ReadKey {
                key: key.into(),
                version: None,
                metadata: false,
            },
            RemoteValue::new(
                secrets_core::store::StoreType::new("fake"),
                key,
                version.map(Into::into),
                map,
            ),
        )
    }

    #[test]
    fn files_get_modes_properties_and_versions() {
        let objects = vec![
            remote("db/password", "app/db", Some("password"), 0o440),
            remote("db.json", "app/db", None, DEFAULT_MODE),
            remote("plain", "kv1/app", Some("token"), DEFAULT_MODE),
            MountObject {
                path: "sealed".into(),
                source: ObjectSource::SealedSecret {
                    name: "s".into(),
                    key: "k".into(),
                },
                mode: 0o400,
            },
        ];
        let reads = HashMap::from([
            value("app/db", Some("3"), json!({"password": "pw"})),
            value("kv1/app", None, json!({"token": "t0k"})),
        ]);
        let sealed = HashMap::from([(
            "sealed".to_owned(),
            SealedFile {
                path: "sealed".into(),
                contents: Zeroizing::new(b"opened".to_vec()),
                version: "sha256:abc".into(),
            },
        )]);
        let pending = select(&objects, &reads, sealed, "SecretStore \"v\"").unwrap();
        assert_eq!(
            pending.iter().map(Pending::needs_key).collect::<Vec<_>>(),
            [false, false, true, false]
        );
        // Without the controller's file the object is not silently left out.
        let missing = select(&objects, &reads, HashMap::new(), "s").err().unwrap();
        assert!(
            missing
                .to_string()
                .contains("object \"sealed\" from SealedSecret \"s\"")
        );
        let response = finish(pending, Some(b"key")).unwrap();
        let files: Vec<_> = response
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.mode, f.contents.as_slice()))
            .collect();
        assert_eq!(
            files,
            [
                ("db/password", 288, b"pw".as_slice()),
                ("db.json", 420, br#"{"password":"pw"}"#.as_slice()),
                ("plain", 420, b"t0k".as_slice()),
                ("sealed", 256, b"opened".as_slice()),
            ]
        );
        let versions: Vec<_> = response
            .object_version
            .iter()
            .map(|v| (v.id.as_str(), v.version.clone()))
            .collect();
        assert_eq!(versions[0], ("db/password", "app/db#password@v3".into()));
        assert_eq!(versions[1], ("db.json", "app/db@v3".into()));
        assert_eq!(
            versions[2],
            ("plain", files::hmac_version(b"key", "plain", b"t0k"))
        );
        assert_eq!(versions[3], ("sealed", "sha256:abc".into()));
    }

    #[test]
    fn a_missing_property_names_the_object_and_too_much_is_refused() {
        let objects = vec![remote("a", "app/db", Some("nope"), DEFAULT_MODE)];
        let reads = HashMap::from([value("app/db", Some("1"), json!({"password": "pw"}))]);
        let err = select(&objects, &reads, HashMap::new(), "SecretStore \"v\"")
            .err()
            .unwrap();
        assert_eq!(err.category, "not_found");
        let text = err.to_string();
        assert!(
            text.contains("object \"a\" from SecretStore \"v\""),
            "{text}"
        );
        assert!(!text.contains("pw"), "{text}");

        let big = "x".repeat(MAX_RESPONSE_BYTES);
        let objects = vec![remote("big", "app/big", Some("v"), DEFAULT_MODE)];
        let reads = HashMap::from([value("app/big", Some("1"), json!({ "v": big }))]);
        let err = finish(select(&objects, &reads, HashMap::new(), "s").unwrap(), None)
            .err()
            .unwrap();
        assert_eq!(err.category, TOO_LARGE);
        assert_eq!(err.code, Code::ResourceExhausted);
    }
}
