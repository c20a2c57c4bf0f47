//! Which secrets engine is mounted where, from Vault's own mount metadata.
//!
//! Data flow: a mount path → `GET sys/internal/ui/mounts/<path>` (the endpoint Vault's UI uses:
//! it answers for any token that holds some capability under the mount, so it needs neither a
//! root token nor `sys/mounts` access; OpenBao behaves the same) → the answer's `data.path`,
//! `data.type` and `data.options.version` → [`MountInfo`] → [`MountInfo::expect_kv`] says
//! whether reads of that mount as a given KV version mean what they say.
//!
//! Why it matters: a KV v1 mount read as v2 gets, for every key, the very answer v1 gives for
//! a secret never written, so without this check a wrong `version` in a store looks like every
//! secret having been deleted.

use http::Method;
use serde_json::Value;

use super::client::VaultClient;
use super::kv::KvVersion;
use super::path;
use super::{Call, Token, VaultError};

/// A mount as Vault describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    path: String,
    engine: String,
    kv: Option<KvVersion>,
}

impl MountInfo {
    /// A description of a mount (for tests and callers that cache it).
    pub fn new(path: impl Into<String>, engine: impl Into<String>, kv: Option<KvVersion>) -> Self {
        MountInfo {
            path: path.into(),
            engine: engine.into(),
            kv,
        }
    }

    /// The mount's path, without the trailing slash (`secret`, `kv/team-a`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The engine type (`kv`, `generic`, `transit`, …).
    pub fn engine(&self) -> &str {
        &self.engine
    }

    /// The KV version, or `None` when the engine is not KV.
    pub fn kv_version(&self) -> Option<KvVersion> {
        self.kv
    }

    /// `Ok` when the mount is KV `expected`; else [`VaultError::MountMismatch`] saying what
    /// it is.
    pub fn expect_kv(&self, expected: KvVersion) -> Result<(), VaultError> {
        let found = match self.kv {
            Some(version) if version == expected => return Ok(()),
            Some(version) => format!("KV {version}"),
            None => format!("a {:?} engine", self.engine),
        };
        Err(VaultError::MountMismatch {
            mount: self.path.clone(),
            found,
            expected,
        })
    }
}

impl VaultClient {
    /// The mount that serves `path` (a mount path, or any path below one), with its engine
    /// type and KV version. A path under no mount, or a token with no capability under it,
    /// is refused by Vault with 403 ("preflight capability check returned 403").
    pub async fn mount_info(&self, token: &Token, path: &str) -> Result<MountInfo, VaultError> {
        let mount = path::encode_path(path.trim_matches('/'), "mount")?;
        let api_path = format!("sys/internal/ui/mounts/{mount}");
        self.observed(Call::Mount, async {
            let answer = self
                .send(Method::GET, &api_path, None, Some(token), None)
                .await?;
            if !(200..300).contains(&answer.status) {
                return Err(self.status_error(&api_path, answer.status, &answer.json));
            }
            parse(&api_path, answer.json.get("/data"))
        })
        .await
    }
}

/// The mount description in `data` of a `sys/internal/ui/mounts` answer.
fn parse(api_path: &str, data: Option<&Value>) -> Result<MountInfo, VaultError> {
    let field = |name: &str| data.and_then(|d| d.get(name)).and_then(Value::as_str);
    let mount = field("path")
        .ok_or_else(|| VaultError::bad_response(api_path, "no data.path"))?
        .trim_end_matches('/')
        .to_owned();
    let engine = field("type")
        .ok_or_else(|| VaultError::bad_response(api_path, "no data.type"))?
        .to_owned();
    let version = data
        .and_then(|d| d.pointer("/options/version"))
        .and_then(|v| match v {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
    let kv = match engine.as_str() {
        // `generic` is KV v1's old name; a `kv` mount without a version option is v1.
        "generic" => Some(KvVersion::V1),
        "kv" => match version.as_deref() {
            None | Some("" | "1") => Some(KvVersion::V1),
            Some("2") => Some(KvVersion::V2),
            Some(other) => {
                return Err(VaultError::bad_response(
                    api_path,
                    format!("mount {mount:?} has KV version {other:?}, which is neither 1 nor 2"),
                ));
            }
        },
        _ => None,
    };
    Ok(MountInfo {
        path: mount,
        engine,
        kv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn info(data: Value) -> Result<MountInfo, VaultError> {
        parse("sys/internal/ui/mounts/x", Some(&data))
    }

    #[test]
    fn versions_are_read_from_the_options() {
        let v2 = info(json!({"path": "secret/", "type": "kv", "options": {"version": "2"}}));
        assert_eq!(
            v2.unwrap(),
            MountInfo::new("secret", "kv", Some(KvVersion::V2))
        );
        for options in [json!({"version": "1"}), json!({}), Value::Null] {
            let v1 = info(json!({"path": "kv1/", "type": "kv", "options": options})).unwrap();
            assert_eq!(v1.kv_version(), Some(KvVersion::V1), "{options}");
        }
        let generic = info(json!({"path": "old/", "type": "generic"})).unwrap();
        assert_eq!(generic.kv_version(), Some(KvVersion::V1));
        let transit = info(json!({"path": "transit/", "type": "transit"})).unwrap();
        assert_eq!(transit.kv_version(), None);
        assert!(matches!(
            info(json!({"path": "kv/", "type": "kv", "options": {"version": "3"}})),
            Err(VaultError::BadResponse { .. })
        ));
        assert!(matches!(
            info(json!({"type": "kv"})),
            Err(VaultError::BadResponse { .. })
        ));
    }

    #[test]
    fn a_mismatch_names_the_mount_and_both_versions() {
        let v1 = MountInfo::new("kv1", "kv", Some(KvVersion::V1));
        assert!(v1.expect_kv(KvVersion::V1).is_ok());
        let err = v1.expect_kv(KvVersion::V2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "vault mount \"kv1\" is KV v1, but it is read as KV v2"
        );
        assert!(!err.is_transient());
        let transit = MountInfo::new("transit", "transit", None);
        assert_eq!(
            transit.expect_kv(KvVersion::V1).unwrap_err().to_string(),
            "vault mount \"transit\" is a \"transit\" engine, but it is read as KV v1"
        );
    }
}
