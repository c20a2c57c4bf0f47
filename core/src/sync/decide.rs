//! The ExternalSecret → Secret decision, pure: given the object, the Secret that exists and
//! the provider's answers for the reads [`reads`] listed, say what the Secret must become.
//!
//! Semantics are ESO's: `dataFrom` is merged first, in order, then `data[]` on top; with
//! `template.data` the Secret holds only the rendered keys; `creationPolicy` Owner / Orphan /
//! Merge / None; `deletionPolicy` acts only when the provider *answered* that every remote
//! secret is gone ([`Answer::Gone`]) — an error never deletes anything, and a deletion is its
//! own outcome ([`Decision::Delete`], [`Decision::DeleteKeys`], [`Decision::NothingToDelete`]:
//! Ready reason `SecretDeleted`), never reported as synced data. Data is empty only when the
//! provider returned an empty secret. Unlike ESO, an existing Secret we do not manage is never
//! taken over (or deleted) silently.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use zeroize::Zeroizing;

use crate::api::external_secret::{CreationPolicy, DeletionPolicy, ExternalSecret, RemoteRef};
use crate::ownership::{Owner, controlled_by};

/// Label on every Secret we write: the ExternalSecret's name.
pub const MANAGED_BY_LABEL: &str = "kubectl-secrets.io/external-secret";
/// Annotation listing the keys we wrote (so `Merge` + `Delete` removes only ours).
pub const SYNCED_KEYS: &str = "kubectl-secrets.io/synced-keys";
/// Ready reason (ESO's) after `deletionPolicy: Delete` acted on remote secrets that are gone.
pub const SECRET_DELETED: &str = "SecretDeleted";

type Bytes = Zeroizing<Vec<u8>>;

/// One provider read: a remote path and an optional version (a string the store checks).
/// Many objects share one.
pub use crate::store::ReadKey;

fn read_key(r: &RemoteRef) -> ReadKey {
    ReadKey {
        key: r.key.trim_matches('/').to_owned(),
        version: r.version.clone(),
        metadata: r.metadata_policy.as_deref() == Some("Fetch"),
    }
}

/// What the provider returned for a read, as the decision needs it.
pub trait RemoteSecret {
    /// One property (none = the whole secret), as bytes; the error names what is missing.
    fn select(&self, property: Option<&str>) -> Result<Bytes, String>;
    /// Every top-level key.
    fn entries(&self) -> Result<BTreeMap<String, Bytes>, String>;
}

/// The provider's answer to one read.
pub enum Answer<'a> {
    /// The secret exists.
    Found(&'a dyn RemoteSecret),
    /// The provider said it does not exist (or its latest version is deleted).
    Gone,
}

/// The distinct reads an ExternalSecret needs, in a stable order.
pub fn reads(es: &ExternalSecret) -> Vec<ReadKey> {
    let refs = es
        .spec
        .data_from
        .iter()
        .filter_map(|d| d.extract.as_ref())
        .chain(es.spec.data.iter().map(|d| &d.remote_ref));
    refs.map(read_key)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// What to do with the target Secret.
#[derive(Debug)]
pub enum Decision {
    /// It already holds exactly this.
    UpToDate,
    /// Create or replace it (plaintext inside: zeroize after use).
    Write {
        /// The full desired Secret; `resource_version` set when replacing.
        secret: Box<Secret>,
        /// It does not exist yet.
        create: bool,
        /// Its data differs from what was there (restart the listed workloads).
        data_changed: bool,
    },
    /// `creationPolicy: None`: the data was read, nothing is written.
    NothingToWrite,
    /// `deletionPolicy: Delete` and every remote secret is gone: delete the Secret.
    Delete,
    /// `deletionPolicy: Delete`, every remote secret is gone, and the Secret is one we merge
    /// into: replace it with the keys we wrote removed.
    DeleteKeys {
        /// The Secret without our keys; `resource_version` set.
        secret: Box<Secret>,
    },
    /// `deletionPolicy: Delete` and every remote secret is gone, but nothing of ours is there
    /// to delete.
    NothingToDelete {
        /// Why, for the status message.
        message: &'static str,
    },
    /// It cannot be done; the status says why, the Secret stays as it is.
    Fail {
        /// `SecretSyncedError` or `SecretMissing`.
        reason: &'static str,
        /// For people; never a value.
        message: String,
    },
}

fn fail(reason: &'static str, message: impl Into<String>) -> Decision {
    Decision::Fail {
        reason,
        message: message.into(),
    }
}

fn owner(es: &ExternalSecret) -> Owner {
    Owner::of(es)
}

/// Assemble the data from the answers; `Err` is a finished decision (gone or failed). `exists`:
/// whether the target Secret exists (for the messages).
fn assemble<'a>(
    es: &ExternalSecret,
    answer: &dyn Fn(&ReadKey) -> Option<Answer<'a>>,
    store: &str,
    exists: bool,
) -> Result<BTreeMap<String, Bytes>, Decision> {
    let mut data = BTreeMap::new();
    let mut gone = Vec::new();
    let mut found = 0usize;
    // An extract that returned no keys: the one way the data may legally end up empty.
    let mut empty_extract = false;
    let mut get = |r: &RemoteRef| -> Result<Option<&'a dyn RemoteSecret>, Decision> {
        match answer(&read_key(r)) {
            Some(Answer::Found(s)) => {
                found += 1;
                Ok(Some(s))
            }
            Some(Answer::Gone) => {
                gone.push(r.key.clone());
                Ok(None)
            }
            None => Err(fail(
                "SecretSyncedError",
                format!("no answer from {store} for {:?} (internal)", r.key),
            )),
        }
    };
    for from in &es.spec.data_from {
        let Some(r) = &from.extract else { continue };
        let Some(remote) = get(r)? else { continue };
        let entries = match &r.property {
            None => remote.entries(),
            Some(p) => remote.select(Some(p)).and_then(|b| entries_of_json(&b, p)),
        }
        .map_err(|e| {
            fail(
                "SecretSyncedError",
                format!("dataFrom extract {:?}: {e}", r.key),
            )
        })?;
        empty_extract |= entries.is_empty();
        for (k, v) in entries {
            if !crate::secret::valid_key(&k) {
                return Err(fail(
                    "SecretSyncedError",
                    format!(
                        "remote secret {:?} has key {k:?}, which is not a valid Secret key",
                        r.key
                    ),
                ));
            }
            data.insert(k, v);
        }
    }
    for item in &es.spec.data {
        let r = &item.remote_ref;
        let Some(remote) = get(r)? else { continue };
        let value = remote.select(r.property.as_deref()).map_err(|e| {
            fail(
                "SecretSyncedError",
                format!("data {:?} from {:?}: {e}", item.secret_key, r.key),
            )
        })?;
        data.insert(item.secret_key.clone(), value);
    }
    if !gone.is_empty() {
        gone.sort();
        gone.dedup();
        let all_gone = found == 0;
        if all_gone && es.deletion_policy() == DeletionPolicy::Delete {
            return Err(Decision::Delete);
        }
        let keys = gone
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let outcome = if exists {
            "the Secret is kept as it is"
        } else {
            "the Secret was not created"
        };
        let others = if all_gone {
            ""
        } else {
            ", and other remote secrets still exist"
        };
        return Err(fail(
            "SecretSyncedError",
            format!(
                "{store} reports {keys} as not found; {outcome} (deletionPolicy {:?}{others})",
                es.deletion_policy(),
            ),
        ));
    }
    if data.is_empty() && !empty_extract {
        // Every answer was found yet nothing was taken from them: only a spec with no reads
        // gets here, which validation refuses. Never write (or report) empty data for it.
        return Err(fail(
            "SecretSyncedError",
            format!("nothing was read from {store} (internal)"),
        ));
    }
    Ok(data)
}

fn entries_of_json(bytes: &[u8], property: &str) -> Result<BTreeMap<String, Bytes>, String> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| format!("property {property:?} is not a JSON object"))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!("property {property:?} is not a JSON object"));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let bytes = match v {
                serde_json::Value::String(s) => s.into_bytes(),
                other => other.to_string().into_bytes(),
            };
            (k, Zeroizing::new(bytes))
        })
        .collect())
}

/// Decide what the target Secret must be. `answer` gives the provider's answer for each of
/// [`reads`]; `store` names the store in messages (e.g. `SecretStore "vault"`).
pub fn decide<'a>(
    es: &ExternalSecret,
    existing: Option<&Secret>,
    answer: &dyn Fn(&ReadKey) -> Option<Answer<'a>>,
    store: &str,
) -> Decision {
    let policy = es.creation_policy();
    let target = es.target_name();
    let data = match assemble(es, answer, store, existing.is_some()) {
        Ok(data) => data,
        Err(Decision::Delete) => return gone(es, existing, store),
        Err(d) => return d,
    };
    let template = es.spec.target.as_ref().and_then(|t| t.template.as_ref());
    let data = match template.and_then(|t| t.data.as_ref()) {
        None => data,
        Some(templates) => {
            let mut rendered = BTreeMap::new();
            for (key, text) in templates {
                match crate::template::render(text, &data) {
                    Ok(v) => {
                        rendered.insert(key.clone(), v);
                    }
                    Err(e) => {
                        return fail("SecretSyncedError", format!("template.data[{key}]: {e}"));
                    }
                }
            }
            rendered
        }
    };
    if policy == CreationPolicy::None {
        return Decision::NothingToWrite;
    }
    let name = es.metadata.name.clone().unwrap_or_default();
    if let Some(s) = existing {
        if policy != CreationPolicy::Merge && !manages(es, s) {
            let other = s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(MANAGED_BY_LABEL));
            return fail(
                "SecretSyncedError",
                match other {
                    Some(o) => format!(
                        "target Secret {target:?} is managed by another ExternalSecret {o:?}"
                    ),
                    None => format!(
                        "target Secret {target:?} exists and is not managed by this ExternalSecret; delete it or use creationPolicy Merge"
                    ),
                },
            );
        }
    } else if policy == CreationPolicy::Merge {
        return fail(
            "SecretMissing",
            format!(
                "target Secret {target:?} does not exist; creationPolicy Merge only merges into an existing Secret"
            ),
        );
    }
    let mut labels = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    if let Some(m) = template.and_then(|t| t.metadata.as_ref()) {
        labels.extend(m.labels.clone().unwrap_or_default());
        annotations.extend(m.annotations.clone().unwrap_or_default());
    }
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    annotations.insert(SYNCED_KEYS.to_owned(), keys.join(","));
    let mut desired = match (existing, policy) {
        (Some(s), CreationPolicy::Merge) => {
            let mut merged = s.clone();
            let meta = &mut merged.metadata;
            meta.labels
                .get_or_insert_with(Default::default)
                .extend(labels);
            meta.annotations
                .get_or_insert_with(Default::default)
                .extend(annotations);
            let out = merged.data.get_or_insert_with(Default::default);
            for (k, v) in &data {
                out.insert(k.clone(), ByteString(v.to_vec()));
            }
            merged
        }
        _ => {
            labels.insert(MANAGED_BY_LABEL.to_owned(), name.clone());
            Secret {
                metadata: ObjectMeta {
                    name: Some(target.to_owned()),
                    namespace: es.metadata.namespace.clone(),
                    labels: Some(labels),
                    annotations: Some(annotations),
                    owner_references: (policy == CreationPolicy::Owner)
                        .then(|| vec![owner(es).reference()]),
                    resource_version: existing.and_then(|s| s.metadata.resource_version.clone()),
                    ..ObjectMeta::default()
                },
                type_: Some(
                    template
                        .and_then(|t| t.type_.clone())
                        .unwrap_or_else(|| "Opaque".into()),
                ),
                immutable: es.spec.target.as_ref().and_then(|t| t.immutable),
                data: Some(
                    data.iter()
                        .map(|(k, v)| (k.clone(), ByteString(v.to_vec())))
                        .collect(),
                ),
                ..Secret::default()
            }
        }
    };
    let Some(s) = existing else {
        return Decision::Write {
            secret: Box::new(desired),
            create: true,
            data_changed: false,
        };
    };
    if same(s, &desired) {
        return Decision::UpToDate;
    }
    if s.immutable == Some(true) {
        return fail(
            "SecretSyncedError",
            format!(
                "could not update Secret {target:?}: it is immutable; delete it to let it be re-created"
            ),
        );
    }
    desired.metadata.resource_version = s.metadata.resource_version.clone();
    let data_changed = s.data != desired.data;
    Decision::Write {
        secret: Box::new(desired),
        create: false,
        data_changed,
    }
}

/// Whether this ExternalSecret manages the Secret (our label with its name, or it controls it).
pub fn manages(es: &ExternalSecret, s: &Secret) -> bool {
    let name = es.metadata.name.as_deref().unwrap_or_default();
    s.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == name)
        || controlled_by(s, &owner(es))
}

fn same(existing: &Secret, desired: &Secret) -> bool {
    let subset = |want: &Option<BTreeMap<String, String>>,
                  have: &Option<BTreeMap<String, String>>| {
        want.iter()
            .flatten()
            .all(|(k, v)| have.as_ref().and_then(|h| h.get(k)) == Some(v))
    };
    existing.data.clone().unwrap_or_default() == desired.data.clone().unwrap_or_default()
        && existing.type_ == desired.type_
        && subset(&desired.metadata.labels, &existing.metadata.labels)
        && subset(
            &desired.metadata.annotations,
            &existing.metadata.annotations,
        )
        && existing
            .metadata
            .owner_references
            .clone()
            .unwrap_or_default()
            == desired
                .metadata
                .owner_references
                .clone()
                .unwrap_or_default()
        && (desired.immutable.is_none() || existing.immutable == desired.immutable)
}

/// Every remote secret is gone under `deletionPolicy: Delete`: what that deletes.
fn gone(es: &ExternalSecret, existing: Option<&Secret>, store: &str) -> Decision {
    let target = es.target_name();
    match existing {
        None => Decision::NothingToDelete {
            message: "every remote secret is gone; there is no Secret to delete (deletionPolicy Delete)",
        },
        Some(s) if es.creation_policy() == CreationPolicy::Merge => remove_ours(s),
        Some(s) if manages(es, s) => Decision::Delete,
        Some(_) => fail(
            "SecretSyncedError",
            format!(
                "{store} reports every remote secret as not found, but target Secret {target:?} \
                 is not managed by this ExternalSecret, so deletionPolicy Delete leaves it alone"
            ),
        ),
    }
}

fn remove_ours(s: &Secret) -> Decision {
    let ours: BTreeSet<&str> = s
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SYNCED_KEYS))
        .map(|k| k.split(',').filter(|k| !k.is_empty()).collect())
        .unwrap_or_default();
    let mut kept = s.clone();
    let before = kept.data.as_ref().map_or(0, BTreeMap::len);
    if let Some(data) = kept.data.as_mut() {
        data.retain(|k, _| !ours.contains(k.as_str()));
    }
    if kept.data.as_ref().map_or(0, BTreeMap::len) == before {
        return Decision::NothingToDelete {
            message: "every remote secret is gone; the Secret holds none of the synced keys \
                      (deletionPolicy Delete)",
        };
    }
    if let Some(a) = kept.metadata.annotations.as_mut() {
        a.remove(SYNCED_KEYS);
    }
    Decision::DeleteKeys {
        secret: Box::new(kept),
    }
}

#[cfg(test)]
mod tests;

/// What every store returns is what the decision reads.
impl RemoteSecret for crate::store::RemoteValue {
    fn select(&self, property: Option<&str>) -> Result<Bytes, String> {
        crate::store::RemoteValue::select(self, property).map_err(|e| e.to_string())
    }

    fn entries(&self) -> Result<BTreeMap<String, Bytes>, String> {
        self.require_object().map_err(|e| e.to_string())?;
        Ok(crate::store::RemoteValue::entries(self))
    }
}
