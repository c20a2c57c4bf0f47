//! Who can read Secrets, evaluated as the RBAC authorizer evaluates (reference `doctor.md`
//! §1.1), from RBAC objects collected from a cluster or read from Git.
//!
//! Data flow:
//!
//! ```text
//!  RbacObjects ──[model::Model::build]──▶ bindings with resolved roles ──▶ grants
//!  (Roles, ClusterRoles,   RoleBinding → ClusterRole kept in its     (subject × binding ×
//!   both binding kinds)    namespace; aggregation computed; missing    effective rule)
//!                          roles and unmatchable subjects set aside        │
//!                                                                          ▼
//!        reads (RBAC010/011/012) · indirect (RBAC020) · hygiene (RBAC030/032) ──▶ Vec<Finding>
//!        named Secrets: sealing keys (RBAC013), legacy tokens (RBAC031) ──────────┘
//! ```
//!
//! Readers are grouped per subject and scope (`cluster` for ClusterRoleBindings, the namespace
//! for RoleBindings), so one subject bound three ways gets one finding whose `via` lists all
//! three chains. RBAC is only one authorizer: `system:masters`, the Node authorizer and cloud
//! IAM grant reads these checks cannot see; the plugin confirms with SubjectAccessReviews.

mod checks;
mod indirect;
mod matcher;
mod model;
mod named;
#[cfg(test)]
mod tests;

use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use crate::audit::Finding;
use crate::manifest::ManifestError;

/// The RBAC objects a run looked at. Order does not matter; with duplicate names the first wins.
#[derive(Debug, Clone, Default)]
pub struct RbacObjects {
    /// Namespaced roles.
    pub roles: Vec<Role>,
    /// Cluster roles, aggregated or not.
    pub cluster_roles: Vec<ClusterRole>,
    /// Namespaced bindings, to a Role or a ClusterRole.
    pub role_bindings: Vec<RoleBinding>,
    /// Cluster-wide bindings.
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
}

/// Why RBAC manifests could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RbacParseError {
    /// The stream is not valid YAML or JSON.
    #[error("invalid manifest stream")]
    Manifest(#[from] ManifestError),
    /// A document has an RBAC kind but not its shape.
    #[error("document {document}: {kind} {name:?} is not a valid {kind}: {message}")]
    Object {
        /// 1-based index in the stream.
        document: usize,
        /// `Role`, `ClusterRole`, `RoleBinding` or `ClusterRoleBinding`.
        kind: String,
        /// `metadata.name`, empty when missing.
        name: String,
        /// The parser's message, with quoted values redacted.
        message: String,
    },
}

impl RbacObjects {
    /// Read the RBAC objects of a YAML or JSON stream (multi-document, `List`s unwrapped, as
    /// `kubectl get -o yaml` prints them). Documents of other kinds or API groups are skipped,
    /// so a whole checkout's manifests can be passed in.
    pub fn from_yaml(text: &str) -> Result<Self, RbacParseError> {
        let mut objects = Self::default();
        let mut values = crate::manifest::parse_values(text)?;
        let mut result = Ok(());
        for (index, value) in values.iter().enumerate() {
            let items = match value.get("items").and_then(Value::as_sequence) {
                Some(items) if str_at(value, "kind").is_some_and(|k| k.ends_with("List")) => {
                    items.iter().collect()
                }
                _ => vec![value],
            };
            for item in items {
                if let Err(err) = objects.push(index + 1, item) {
                    result = Err(err);
                    break;
                }
            }
            if result.is_err() {
                break;
            }
        }
        // The stream may hold Secrets next to the RBAC objects: wipe its strings either way.
        values.iter_mut().for_each(crate::yaml::wipe);
        result.map(|()| objects)
    }

    fn push(&mut self, document: usize, value: &Value) -> Result<(), RbacParseError> {
        let is_rbac = str_at(value, "apiVersion")
            .is_some_and(|v| v.starts_with("rbac.authorization.k8s.io/"));
        if !is_rbac {
            return Ok(());
        }
        match str_at(value, "kind").unwrap_or_default() {
            "Role" => self.roles.push(object(document, "Role", value)?),
            "ClusterRole" => self
                .cluster_roles
                .push(object(document, "ClusterRole", value)?),
            "RoleBinding" => self
                .role_bindings
                .push(object(document, "RoleBinding", value)?),
            "ClusterRoleBinding" => {
                self.cluster_role_bindings
                    .push(object(document, "ClusterRoleBinding", value)?);
            }
            _ => {}
        }
        Ok(())
    }
}

fn str_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

fn object<T: DeserializeOwned>(
    document: usize,
    kind: &str,
    value: &Value,
) -> Result<T, RbacParseError> {
    T::deserialize(value).map_err(|err| RbacParseError::Object {
        document,
        kind: kind.to_owned(),
        name: value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        message: crate::manifest::redact(&err.to_string()),
    })
}

/// A service account by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceAccountRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// A Secret by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// What the RBAC checks need to know besides the objects.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// Where our agent runs: indirect paths there are critical (its sealing keys live there).
    pub agent_namespace: Option<String>,
    /// Our own agent's service accounts: their reads are expected and reported as info.
    pub agent_service_accounts: Vec<ServiceAccountRef>,
    /// The namespace of RoleBindings and Roles that name none (manifests for `kubectl apply -n`).
    pub default_namespace: String,
    /// Our sealing-key Secrets (RBAC013); empty when there are none or they could not be listed.
    pub sealing_keys: Vec<SecretRef>,
    /// Secrets of type `kubernetes.io/service-account-token` (RBAC031).
    pub token_secrets: Vec<SecretRef>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            agent_namespace: None,
            agent_service_accounts: Vec::new(),
            default_namespace: "default".to_owned(),
            sealing_keys: Vec::new(),
            token_secrets: Vec::new(),
        }
    }
}

/// Every RBAC finding for `objects`: RBAC010 (broad groups read Secrets), RBAC011 (cluster-wide
/// readers), RBAC012 (namespace readers), RBAC013 (sealing-key readers), RBAC020 (indirect
/// paths), RBAC030 (wildcards), RBAC031 (legacy token Secrets) and RBAC032 (bindings to missing
/// roles, subjects that match nobody). Unsorted: [`Report::new`]
/// sorts.
///
/// [`Report::new`]: crate::audit::Report::new
pub fn audit(objects: &RbacObjects, config: &AuditConfig) -> Vec<Finding> {
    let model = model::Model::build(objects, &config.default_namespace);
    let mut findings = checks::reads(&model, config);
    findings.extend(indirect::paths(&model, config));
    findings.extend(checks::wildcards(objects, &config.default_namespace));
    findings.extend(checks::dangling(&model));
    findings.extend(named::sealing_key_readers(&model, config));
    findings.extend(named::token_secrets(&model, config));
    findings
}

/// RBAC001: the RBAC checks saw only part of the picture. `missing` names what could not be
/// read and why (`list clusterrolebindings: forbidden`); `None` when nothing is missing. Every
/// other RBAC result of the run is then a lower bound, never a pass.
pub fn visibility(missing: &[String]) -> Option<Finding> {
    if missing.is_empty() {
        return None;
    }
    let mut f = checks::finding(
        "RBAC001",
        crate::audit::Severity::High,
        crate::audit::Status::Incomplete,
        crate::audit::Subject::new("Check", "rbac"),
        crate::audit::Scope::Cluster,
    );
    f.message = format!(
        "could not read everything the RBAC checks need ({}), so readers may be missing",
        missing.join("; ")
    );
    f.hint = "run doctor as someone who may list roles, rolebindings, clusterroles and clusterrolebindings (e.g. a cluster-admin, or bind the built-in view-style ClusterRole that covers rbac.authorization.k8s.io)".to_owned();
    f.via = missing.to_vec();
    Some(f)
}
