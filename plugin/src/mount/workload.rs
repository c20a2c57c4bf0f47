//! A workload's pod template as `mount` changes it, by server-side apply.
//!
//! Data flow: the live workload (JSON) → [`owned`]: the volumes and volume mounts our field
//! manager's apply entry owns (its `managedFields`, FieldsV1 `k:{"name":…}` and
//! `k:{"mountPath":…}` members) → [`plan`]: our other SecretProviderClasses' volumes and
//! mounts kept as they are, this one's added (after the conflict checks) or dropped → the
//! apply configuration with only those fields. One field manager owns every mount the plugin
//! made in a workload, so each apply must carry all of them: what it leaves out, the API
//! server removes. Applying the same configuration twice changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use secrets_core::mount::CSI_DRIVER;
use serde_json::{Value, json};

use crate::cluster::FIELD_MANAGER;

/// The workload kinds whose pod templates can mount a volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl Kind {
    pub(crate) const ALL: [Kind; 3] = [Kind::Deployment, Kind::StatefulSet, Kind::DaemonSet];

    /// The `kind` field.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
        }
    }

    /// The word kubectl prints: `deployment`.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::DaemonSet => "daemonset",
        }
    }

    /// The kind for a word as kubectl reads it (singular, plural, short name, `.apps`).
    fn from_word(word: &str) -> Option<Kind> {
        let word = word.to_ascii_lowercase();
        let word = word.strip_suffix(".apps").unwrap_or(&word);
        match word {
            "deployment" | "deployments" | "deploy" => Some(Kind::Deployment),
            "statefulset" | "statefulsets" | "sts" => Some(Kind::StatefulSet),
            "daemonset" | "daemonsets" | "ds" => Some(Kind::DaemonSet),
            _ => None,
        }
    }
}

/// `deployment/web` and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkloadRef {
    pub(crate) kind: Kind,
    pub(crate) name: String,
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.word(), self.name)
    }
}

impl WorkloadRef {
    /// `KIND/NAME` as kubectl takes it.
    pub(crate) fn parse(text: &str) -> Result<WorkloadRef, String> {
        let usage = "deployment/NAME, statefulset/NAME or daemonset/NAME";
        let Some((word, name)) = text.split_once('/') else {
            return Err(format!("workload {text:?} is not KIND/NAME: pass {usage}"));
        };
        let kind = Kind::from_word(word).ok_or_else(|| {
            format!(
                "workload {text:?}: {word:?} is not a kind with pods to mount into: pass {usage}"
            )
        })?;
        secrets_core::secret::validate_name(name).map_err(|_| {
            format!(
                "workload {text:?}: {name:?} is not an object name (a lowercase RFC 1123 \
                 subdomain: a-z, 0-9, '-' and '.')"
            )
        })?;
        Ok(WorkloadRef {
            kind,
            name: name.to_owned(),
        })
    }
}

/// The SecretProviderClass name when `--spc` is not given.
pub(crate) fn default_spc(workload: &str) -> String {
    format!("{workload}-secrets")
}

/// Where the volume is mounted when `--mount-path` is not given.
pub(crate) fn default_mount_path(spc: &str) -> String {
    format!("/mnt/secrets/{spc}")
}

/// A mount path the kubelet takes: absolute, no empty, `.` or `..` component, no `:`.
pub(crate) fn check_mount_path(path: &str) -> Result<(), String> {
    let clean = path.len() > 1
        && !path.contains(':')
        && path.strip_prefix('/').is_some_and(|rest| {
            rest.split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
        });
    if clean {
        Ok(())
    } else {
        Err(format!(
            "mount path {path:?} is not a clean absolute directory such as /mnt/secrets/app"
        ))
    }
}

/// The pod volume's name for a SecretProviderClass: `secrets-<spc>`, a DNS label.
pub(crate) fn volume_name(spc: &str) -> Result<String, String> {
    let name = format!("secrets-{spc}");
    let label = name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.ends_with('-');
    if label {
        Ok(name)
    } else {
        Err(format!(
            "SecretProviderClass name {spc:?} makes the volume name {name:?}, which is not a DNS \
             label (lowercase letters, digits and -, at most 63): pass a shorter --spc without dots"
        ))
    }
}

/// What our field manager's apply owns in the pod template.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Owned {
    pub(crate) volumes: BTreeSet<String>,
    /// Container name → mount paths.
    pub(crate) mounts: BTreeMap<String, BTreeSet<String>>,
}

/// The keyed-list members `k:{"<key>":"<value>"}` of a FieldsV1 node.
fn keys_of<'a>(node: &'a Value, key: &str) -> Vec<(String, &'a Value)> {
    let Some(object) = node.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter_map(|(member, child)| {
            let id: Value = serde_json::from_str(member.strip_prefix("k:")?).ok()?;
            Some((id.get(key)?.as_str()?.to_owned(), child))
        })
        .collect()
}

/// Read our apply entry of `managedFields`.
pub(crate) fn owned(live: &Value) -> Owned {
    let mut out = Owned::default();
    let Some(entries) = live["metadata"]["managedFields"].as_array() else {
        return out;
    };
    let Some(entry) = entries.iter().find(|e| {
        e["manager"] == FIELD_MANAGER && e["operation"] == "Apply" && e.get("subresource").is_none()
    }) else {
        return out;
    };
    let pod = &entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"];
    out.volumes = keys_of(&pod["f:volumes"], "name")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for (container, fields) in keys_of(&pod["f:containers"], "name") {
        let paths: BTreeSet<String> = keys_of(&fields["f:volumeMounts"], "mountPath")
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        if !paths.is_empty() {
            out.mounts.insert(container, paths);
        }
    }
    out
}

/// Our CSI volume for `spc`, exactly as written.
fn csi_volume(name: &str, spc: &str) -> Value {
    json!({
        "name": name,
        "csi": {
            "driver": CSI_DRIVER,
            "readOnly": true,
            "volumeAttributes": {"secretProviderClass": spc},
        },
    })
}

/// The SecretProviderClass a live volume mounts through our driver, if it is such a volume.
pub(crate) fn spc_of(volume: &Value) -> Option<&str> {
    (volume["csi"]["driver"] == CSI_DRIVER)
        .then(|| volume["csi"]["volumeAttributes"]["secretProviderClass"].as_str())
        .flatten()
}

/// What `mount` wants for this SecretProviderClass.
#[derive(Debug, Clone)]
pub(crate) struct Want {
    pub(crate) mount_path: String,
    /// Empty: every container.
    pub(crate) containers: Vec<String>,
}

/// The apply configuration and what it does.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) config: Value,
    /// The containers the volume is mounted in (empty for a removal).
    pub(crate) containers: Vec<String>,
    /// The workload had our volume for this SecretProviderClass before.
    pub(crate) had: bool,
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The configuration that keeps our other mounts and adds (`want`) or drops (`None`) the
/// volume of `spc`. Refuses a volume name or mount path someone else uses.
pub(crate) fn plan(
    live: &Value,
    target: &WorkloadRef,
    spc: &str,
    want: Option<&Want>,
) -> Result<Plan, String> {
    let pod = &live["spec"]["template"]["spec"];
    let owned = owned(live);
    let live_volumes = list(&pod["volumes"]);
    let live_containers = list(&pod["containers"]);
    let had = live_volumes.iter().any(|v| {
        owned
            .volumes
            .contains(v["name"].as_str().unwrap_or_default())
            && spc_of(v) == Some(spc)
    });

    // Ours, for other SecretProviderClasses: kept exactly.
    let mut volumes: Vec<Value> = Vec::new();
    for volume in live_volumes {
        let name = volume["name"].as_str().unwrap_or_default();
        if let Some(other) = spc_of(volume).filter(|other| *other != spc)
            && owned.volumes.contains(name)
        {
            volumes.push(csi_volume(name, other));
        }
    }
    let kept: BTreeSet<&str> = volumes.iter().filter_map(|v| v["name"].as_str()).collect();
    let mut mounts: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for container in live_containers {
        let cname = container["name"].as_str().unwrap_or_default();
        let Some(paths) = owned.mounts.get(cname) else {
            continue;
        };
        for mount in list(&container["volumeMounts"]) {
            let path = mount["mountPath"].as_str().unwrap_or_default();
            let volume = mount["name"].as_str().unwrap_or_default();
            if paths.contains(path) && kept.contains(volume) {
                mounts
                    .entry(cname.to_owned())
                    .or_default()
                    .push(json!({"name": volume, "mountPath": path, "readOnly": true}));
            }
        }
    }

    let mut chosen = Vec::new();
    if let Some(want) = want {
        let volume = volume_name(spc)?;
        if let Some(existing) = live_volumes.iter().find(|v| v["name"] == volume.as_str())
            && spc_of(existing) != Some(spc)
        {
            return Err(format!(
                "{target} already has a volume named {volume} that is not kubectl-secrets' mount \
                 of SecretProviderClass {spc}: rename that volume, or pass another --spc (the \
                 volume is named secrets-<spc>)"
            ));
        }
        let names: Vec<&str> = live_containers
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        chosen = if want.containers.is_empty() {
            names.iter().map(|n| (*n).to_owned()).collect()
        } else {
            want.containers.clone()
        };
        if let Some(missing) = chosen.iter().find(|c| !names.contains(&c.as_str())) {
            return Err(format!(
                "{target} has no container {missing:?} (its containers: {})",
                names.join(", ")
            ));
        }
        if chosen.is_empty() {
            return Err(format!("{target} has no containers in its pod template"));
        }
        for container in live_containers {
            let cname = container["name"].as_str().unwrap_or_default();
            if !chosen.iter().any(|c| c == cname) {
                continue;
            }
            if let Some(other) = list(&container["volumeMounts"]).iter().find(|m| {
                m["mountPath"] == want.mount_path.as_str() && m["name"] != volume.as_str()
            }) {
                return Err(format!(
                    "container {cname} of {target} already mounts volume {} at {}: pass another \
                     --mount-path",
                    other["name"].as_str().unwrap_or("?"),
                    want.mount_path
                ));
            }
        }
        volumes.push(csi_volume(&volume, spc));
        for cname in &chosen {
            mounts
                .entry(cname.clone())
                .or_default()
                .push(json!({"name": volume, "mountPath": want.mount_path, "readOnly": true}));
        }
    }

    let mut config = json!({
        "apiVersion": "apps/v1",
        "kind": target.kind.as_str(),
        "metadata": {
            "name": target.name,
            "namespace": live["metadata"]["namespace"],
        },
    });
    if !volumes.is_empty() {
        // In the live order, so the configuration reads like the object.
        let containers: Vec<Value> = live_containers
            .iter()
            .filter_map(|c| {
                let name = c["name"].as_str()?;
                let mounts = mounts.get(name)?;
                Some(json!({"name": name, "volumeMounts": mounts}))
            })
            .collect();
        config["spec"] =
            json!({"template": {"spec": {"volumes": volumes, "containers": containers}}});
    }
    Ok(Plan {
        config,
        containers: chosen,
        had,
    })
}

#[cfg(test)]
#[path = "workload_tests.rs"]
mod tests;
