//! Which resources exist: the built-in kinds we store, plus those registered by
//! CustomResourceDefinitions at runtime. Discovery documents (legacy and aggregated v2) are
//! rendered from this table, so kube-rs and kubectl see exactly what is served.

use serde_json::{Value, json};

/// Storage identity of a resource: objects live under `(group, plural)` whatever version
/// they are read through.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResKey {
    /// API group, `""` for core.
    pub group: String,
    /// Plural name.
    pub resource: String,
}

/// One served resource in one version.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDef {
    /// API group (`""` = core).
    pub group: String,
    /// Version served.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural (URL segment).
    pub plural: String,
    /// Singular.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: Vec<String>,
    /// Has a `/status` subresource (status ignored on the main resource).
    pub status_subresource: bool,
    /// Tracks `metadata.generation` (bumped on spec changes).
    pub generation: bool,
    /// Only `create` (tokenreviews).
    pub create_only: bool,
    /// Name of the CRD that registered it.
    pub crd: Option<String>,
    /// `additionalPrinterColumns` of a CRD version, for tables.
    pub printer_columns: Vec<Value>,
}

impl ResourceDef {
    /// `group/version`, or `v1` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Storage key. `events.k8s.io` events are stored with the core ones: one resource with
    /// two views, as in kube-apiserver (`store::event_views` converts between them).
    pub fn key(&self) -> ResKey {
        let group = if self.group == "events.k8s.io" && self.plural == "events" {
            String::new()
        } else {
            self.group.clone()
        };
        ResKey {
            group,
            resource: self.plural.clone(),
        }
    }

    /// For error messages.
    pub fn target(&self) -> crate::api::Target<'_> {
        crate::api::Target {
            resource: &self.plural,
            group: &self.group,
            kind: &self.kind,
        }
    }

    fn verbs(&self) -> Vec<&'static str> {
        if self.create_only {
            vec!["create"]
        } else {
            vec![
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ]
        }
    }
}

/// (group, version, kind, plural, namespaced, short names, status subresource, generation)
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
    bool,
);

const BUILTINS: &[Builtin] = &[
    (
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        &["ns"],
        true,
        false,
    ),
    ("", "v1", "Secret", "secrets", true, &[], false, false),
    ("", "v1", "Node", "nodes", false, &["no"], true, false),
    (
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        true,
        &["cm"],
        false,
        false,
    ),
    (
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        &["sa"],
        false,
        false,
    ),
    ("", "v1", "Service", "services", true, &["svc"], true, false),
    (
        "",
        "v1",
        "Endpoints",
        "endpoints",
        true,
        &["ep"],
        false,
        false,
    ),
    ("", "v1", "Event", "events", true, &["ev"], false, false),
    ("", "v1", "Pod", "pods", true, &["po"], true, false),
    (
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        true,
        &["ev"],
        false,
        false,
    ),
    (
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        true,
        &[],
        false,
        false,
    ),
    (
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        &["deploy"],
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        &["ds"],
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        &["sts"],
        true,
        true,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        &[],
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        &[],
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        &[],
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        &[],
        false,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        &["crd", "crds"],
        true,
        true,
    ),
    (
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        &["pdb"],
        true,
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        &["netpol"],
        false,
        true,
    ),
    (
        "authentication.k8s.io",
        "v1",
        "TokenReview",
        "tokenreviews",
        false,
        &[],
        false,
        false,
    ),
    // Answered from the test's canned table (`canned::AuthzTable`), never stored.
    (
        "authorization.k8s.io",
        "v1",
        "SubjectAccessReview",
        "subjectaccessreviews",
        false,
        &[],
        false,
        false,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
        &[],
        false,
        false,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "LocalSubjectAccessReview",
        "localsubjectaccessreviews",
        true,
        &[],
        false,
        false,
    ),
];

/// Resources that only take a `create`, answered by their own handler and never stored.
const REVIEWS: [&str; 4] = [
    "tokenreviews",
    "subjectaccessreviews",
    "selfsubjectaccessreviews",
    "localsubjectaccessreviews",
];

/// The table of served resources.
#[derive(Debug, Clone)]
pub struct Registry {
    defs: Vec<ResourceDef>,
}

impl Default for Registry {
    fn default() -> Self {
        let defs = BUILTINS
            .iter()
            .map(
                |&(group, version, kind, plural, namespaced, short, status, generation)| {
                    ResourceDef {
                        group: group.to_owned(),
                        version: version.to_owned(),
                        kind: kind.to_owned(),
                        plural: plural.to_owned(),
                        singular: kind.to_lowercase(),
                        namespaced,
                        short_names: short.iter().map(|s| (*s).to_owned()).collect(),
                        status_subresource: status,
                        generation,
                        create_only: REVIEWS.contains(&plural),
                        crd: None,
                        printer_columns: Vec::new(),
                    }
                },
            )
            .collect();
        Registry { defs }
    }
}

impl Registry {
    /// The resource served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.defs
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
    }

    /// Any served version of a resource (for storage-level operations such as GC).
    pub fn any_version(&self, key: &ResKey) -> Option<&ResourceDef> {
        self.defs
            .iter()
            .find(|d| d.group == key.group && d.plural == key.resource)
    }

    /// Every served definition.
    pub fn all(&self) -> &[ResourceDef] {
        &self.defs
    }

    /// Register (or re-register) the resources of a CRD object; returns the definitions.
    pub fn register_crd(&mut self, crd: &Value) -> Result<Vec<ResourceDef>, String> {
        let name = crd["metadata"]["name"].as_str().unwrap_or_default();
        let spec = &crd["spec"];
        let group = spec["group"].as_str().ok_or("spec.group: Required value")?;
        let names = &spec["names"];
        let plural = names["plural"]
            .as_str()
            .ok_or("spec.names.plural: Required value")?;
        let kind = names["kind"]
            .as_str()
            .ok_or("spec.names.kind: Required value")?;
        if name != format!("{plural}.{group}") {
            return Err(format!(
                "metadata.name: Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
            ));
        }
        let namespaced = match spec["scope"].as_str() {
            Some("Namespaced") => true,
            Some("Cluster") => false,
            _ => {
                return Err(
                    "spec.scope: Unsupported value: must be Namespaced or Cluster".to_owned(),
                );
            }
        };
        let versions = spec["versions"]
            .as_array()
            .filter(|v| !v.is_empty())
            .ok_or("spec.versions: Required value")?;
        if self
            .defs
            .iter()
            .any(|d| d.group == group && d.plural == plural && d.crd.as_deref() != Some(name))
        {
            return Err(format!(
                "spec.names.plural: {plural}.{group} is already served"
            ));
        }
        self.unregister_crd(name);
        let mut added = Vec::new();
        for version in versions
            .iter()
            .filter(|v| v["served"].as_bool().unwrap_or(true))
        {
            let def = ResourceDef {
                group: group.to_owned(),
                version: version["name"].as_str().unwrap_or("v1").to_owned(),
                kind: kind.to_owned(),
                plural: plural.to_owned(),
                singular: names["singular"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| kind.to_lowercase()),
                namespaced,
                short_names: strings(&names["shortNames"]),
                status_subresource: !version["subresources"]["status"].is_null(),
                generation: true,
                create_only: false,
                crd: Some(name.to_owned()),
                printer_columns: version["additionalPrinterColumns"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            };
            added.push(def.clone());
            self.defs.push(def);
        }
        Ok(added)
    }

    /// Remove a CRD's resources; returns the storage key they used.
    pub fn unregister_crd(&mut self, crd_name: &str) -> Option<ResKey> {
        let key = self
            .defs
            .iter()
            .find(|d| d.crd.as_deref() == Some(crd_name))
            .map(ResourceDef::key);
        self.defs.retain(|d| d.crd.as_deref() != Some(crd_name));
        key
    }

    /// Group/version pairs, core first, in registration order.
    fn group_versions(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for def in &self.defs {
            match out.iter_mut().find(|(g, _)| *g == def.group) {
                Some((_, versions)) if !versions.contains(&def.version) => {
                    versions.push(def.version.clone())
                }
                Some(_) => {}
                None => out.push((def.group.clone(), vec![def.version.clone()])),
            }
        }
        out
    }

    /// `/apis` (legacy `APIGroupList`).
    pub fn api_group_list(&self) -> Value {
        let groups: Vec<Value> = self
            .group_versions()
            .into_iter()
            .filter(|(g, _)| !g.is_empty())
            .map(|(group, versions)| group_json(&group, &versions))
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `/apis/GROUP` (`APIGroup`).
    pub fn api_group(&self, group: &str) -> Option<Value> {
        let (_, versions) = self
            .group_versions()
            .into_iter()
            .find(|(g, _)| g == group)?;
        let mut value = group_json(group, &versions);
        value["kind"] = json!("APIGroup");
        value["apiVersion"] = json!("v1");
        Some(value)
    }

    /// `/api/v1` or `/apis/GROUP/VERSION` (`APIResourceList`).
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let defs: Vec<&ResourceDef> = self
            .defs
            .iter()
            .filter(|d| d.group == group && d.version == version)
            .collect();
        if defs.is_empty() {
            return None;
        }
        let mut resources = Vec::new();
        for def in defs {
            resources.push(json!({
                "name": def.plural,
                "singularName": def.singular,
                "namespaced": def.namespaced,
                "kind": def.kind,
                "verbs": def.verbs(),
                "shortNames": def.short_names,
            }));
            if def.status_subresource {
                resources.push(json!({
                    "name": format!("{}/status", def.plural), "singularName": "",
                    "namespaced": def.namespaced, "kind": def.kind, "verbs": ["get", "patch", "update"],
                }));
            }
            if def.plural == "serviceaccounts" {
                resources.push(json!({
                    "name": "serviceaccounts/token", "singularName": "", "namespaced": true,
                    "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest", "verbs": ["create"],
                }));
            }
            if def.plural == "services" {
                resources.push(json!({
                    "name": "services/proxy", "singularName": "", "namespaced": true, "kind": "ServiceProxyOptions",
                    "verbs": ["create", "delete", "get", "patch", "update"],
                }));
            }
        }
        let group_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        Some(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
        )
    }

    /// Aggregated discovery (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`) for `/api`
    /// (`core = true`) or `/apis`.
    pub fn aggregated(&self, core: bool) -> Value {
        let items: Vec<Value> = self
            .group_versions()
            .into_iter()
            .filter(|(g, _)| g.is_empty() == core)
            .map(|(group, versions)| {
                let versions: Vec<Value> = versions
                    .iter()
                    .map(|version| {
                        let resources: Vec<Value> = self
                            .defs
                            .iter()
                            .filter(|d| d.group == group && &d.version == version)
                            .map(aggregated_resource)
                            .collect();
                        json!({"version": version, "resources": resources, "freshness": "Current"})
                    })
                    .collect();
                json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": versions})
            })
            .collect();
        json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
    }
}

fn aggregated_resource(def: &ResourceDef) -> Value {
    let response_kind = json!({"group": def.group, "version": def.version, "kind": def.kind});
    let mut subresources = Vec::new();
    if def.status_subresource {
        subresources.push(json!({"subresource": "status", "responseKind": response_kind, "verbs": ["get", "patch", "update"]}));
    }
    if def.plural == "serviceaccounts" {
        subresources.push(json!({"subresource": "token", "responseKind": {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}, "verbs": ["create"]}));
    }
    json!({
        "resource": def.plural,
        "responseKind": response_kind,
        "scope": if def.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": def.singular,
        "verbs": def.verbs(),
        "shortNames": def.short_names,
        "subresources": subresources,
    })
}

fn group_json(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd() -> Value {
        json!({
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [
                    {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}}},
                    {"name": "v0", "served": false, "storage": false}
                ]}
        })
    }

    #[test]
    fn crds_register_served_versions_and_unregister() {
        let mut registry = Registry::default();
        let added = registry.register_crd(&crd()).unwrap();
        assert_eq!(added.len(), 1);
        let def = registry.find("example.com", "v1", "widgets").unwrap();
        assert!(def.namespaced && def.status_subresource && def.generation);
        assert_eq!(def.short_names, ["wd"]);
        assert!(registry.find("example.com", "v0", "widgets").is_none());
        assert!(registry.api_group("example.com").is_some());
        registry.unregister_crd("widgets.example.com");
        assert!(registry.find("example.com", "v1", "widgets").is_none());
        assert!(registry.api_group("example.com").is_none());
    }

    #[test]
    fn bad_crds_are_refused() {
        let mut registry = Registry::default();
        let mut wrong_name = crd();
        wrong_name["metadata"]["name"] = json!("widgets");
        assert!(registry.register_crd(&wrong_name).is_err());
        let mut builtin = crd();
        builtin["metadata"]["name"] = json!("secrets.");
        builtin["spec"]["group"] = json!("");
        builtin["spec"]["names"]["plural"] = json!("secrets");
        assert!(
            registry
                .register_crd(&builtin)
                .unwrap_err()
                .contains("already served")
        );
    }

    #[test]
    fn discovery_lists_subresources() {
        let registry = Registry::default();
        let core = registry.resource_list("", "v1").unwrap();
        let names: Vec<&str> = core["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"secrets")
                && names.contains(&"serviceaccounts/token")
                && names.contains(&"namespaces/status")
        );
        let agg = registry.aggregated(false);
        assert!(
            agg["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g["metadata"]["name"] == "apps")
        );
    }
}
