//! The CustomResourceDefinitions the agent serves, as shipped in the chart's `crds/` folder and
//! printed by `secrets-agent crds`.
//!
//! Data flow: each kind's `CustomResource` derive gives `K::crd()`, whose schema schemars
//! generated from the Rust types → [`finish`] walks that schema and tidies it into what a
//! cluster should get → [`all`] lists the finished CRDs → [`to_yaml`] / [`file_name`] write
//! them (`cargo xtask gen` into `charts/secrets-agent/crds/`; a test fails when the committed
//! files differ).
//!
//! What [`finish`] changes, for every kind alike (it looks at shapes, not at kind names):
//! - An embedded `ObjectMeta` (a Secret template's `metadata`) expands to ~30 KB of schema,
//!   most of it fields the API server sets and the agent never reads. It becomes a small
//!   object: `name` and `namespace` with the API server's own name rules, `labels`,
//!   `annotations`, `finalizers`.
//! - A `conditions` list becomes a map list keyed by `type` (so server-side apply merges
//!   conditions by type) whose `status` is one of `True`, `False`, `Unknown`.
//! - Every version gets the printer columns Ready, Reason and Age (and Message with `-o wide`)
//!   when its status has conditions.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, JSON, JSONSchemaProps,
    JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt as _;

use crate::api::sealed_secret::{BitnamiSealedSecret, SealedSecret};
use crate::api::{ClusterSecretStore, ExternalSecret, SecretStore};

/// Every CRD the agent serves, finished. Adding a kind is one line here (then `cargo xtask gen`).
pub fn all() -> Vec<CustomResourceDefinition> {
    vec![
        finish(SealedSecret::crd()),
        finish(BitnamiSealedSecret::crd()),
        finish(ExternalSecret::crd()),
        finish(SecretStore::crd()),
        finish(ClusterSecretStore::crd()),
    ]
}

/// The chart's file name for a CRD: `<plural>.<group>.yaml`, its own name.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or_default())
}

/// One CRD as a YAML document (starting with `---`, as the chart's files and `kubectl apply`
/// streams have it).
pub fn to_yaml(crd: &CustomResourceDefinition) -> String {
    // A CRD is plain strings, maps and numbers: serializing it cannot fail.
    let body = crate::yaml::to_string(crd).unwrap_or_default();
    format!("---\n{}", body.as_str())
}

/// A CRD as the chart's `crds/` file holds it: a note on where it comes from, then the YAML.
pub fn chart_file(crd: &CustomResourceDefinition) -> String {
    format!(
        "# Generated from secrets-core's Rust types by `cargo xtask gen`: do not edit.\n{}",
        to_yaml(crd)
    )
}

/// Every CRD in one YAML stream, for `kubectl apply -f -`.
pub fn all_yaml() -> String {
    all().iter().map(to_yaml).collect()
}

/// Tidy a derived CRD (see the module docs). Only the schema and the printer columns change.
pub fn finish(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        // The root's own `metadata` is the API server's business; only nested ones are trimmed.
        if let Some(properties) = schema.properties.as_mut() {
            for (name, property) in properties.iter_mut() {
                if name != "metadata" {
                    trim(property);
                }
            }
        }
        if has_conditions(schema) {
            let columns = version
                .additional_printer_columns
                .get_or_insert_with(Vec::new);
            for column in condition_columns() {
                if !columns.iter().any(|c| c.name == column.name) {
                    columns.push(column);
                }
            }
        }
    }
    crd
}

/// Walk a schema, rewriting embedded ObjectMeta and condition lists wherever they are.
fn trim(schema: &mut JSONSchemaProps) {
    if is_object_meta(schema) {
        *schema = template_metadata(schema.description.take(), schema.nullable);
        return;
    }
    if let Some(properties) = schema.properties.as_mut() {
        for (name, property) in properties.iter_mut() {
            if name == "conditions" {
                condition_list(property);
            }
            trim(property);
        }
    }
    match schema.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => trim(item),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => items.iter_mut().for_each(trim),
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = schema.additional_properties.as_mut() {
        trim(values);
    }
    for list in [&mut schema.all_of, &mut schema.any_of, &mut schema.one_of] {
        list.iter_mut().flatten().for_each(trim);
    }
}

/// An ObjectMeta expansion: only ObjectMeta has these three together.
fn is_object_meta(schema: &JSONSchemaProps) -> bool {
    schema.properties.as_ref().is_some_and(|p| {
        ["managedFields", "ownerReferences", "resourceVersion"]
            .iter()
            .all(|k| p.contains_key(*k))
    })
}

/// The metadata of an object the agent creates from a template: what it reads and nothing more.
fn template_metadata(description: Option<String>, nullable: Option<bool>) -> JSONSchemaProps {
    let string_map = || JSONSchemaProps {
        type_: Some("object".into()),
        additional_properties: Some(JSONSchemaPropsOrBool::Schema(Box::new(string()))),
        ..Default::default()
    };
    let properties = BTreeMap::from([
        (
            "name".to_owned(),
            JSONSchemaProps {
                description: Some("Ignored: the object's own name is used.".into()),
                // DNS-1123 subdomain, the rule for Secret names.
                pattern: Some(
                    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$".into(),
                ),
                max_length: Some(253),
                ..string()
            },
        ),
        (
            "namespace".to_owned(),
            JSONSchemaProps {
                description: Some("Ignored: the object's own namespace is used.".into()),
                // DNS-1123 label, the rule for namespace names.
                pattern: Some(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$".into()),
                max_length: Some(63),
                ..string()
            },
        ),
        (
            "labels".to_owned(),
            JSONSchemaProps {
                description: Some("Labels for the created object.".into()),
                ..string_map()
            },
        ),
        (
            "annotations".to_owned(),
            JSONSchemaProps {
                description: Some("Annotations for the created object.".into()),
                ..string_map()
            },
        ),
        (
            "finalizers".to_owned(),
            JSONSchemaProps {
                description: Some("Finalizers for the created object.".into()),
                type_: Some("array".into()),
                items: Some(JSONSchemaPropsOrArray::Schema(Box::new(string()))),
                ..Default::default()
            },
        ),
    ]);
    JSONSchemaProps {
        description,
        nullable,
        type_: Some("object".into()),
        properties: Some(properties),
        // kubeseal and older tools write `creationTimestamp: null` (and sometimes other
        // ObjectMeta fields) into templates. Strict field validation, kubectl's default,
        // would refuse those files; keeping unknown fields accepts them, and the agent
        // ignores them.
        x_kubernetes_preserve_unknown_fields: Some(true),
        ..Default::default()
    }
}

fn string() -> JSONSchemaProps {
    JSONSchemaProps {
        type_: Some("string".into()),
        ..Default::default()
    }
}

/// Kubernetes' condition conventions on a `conditions` array of `{type, status, …}` objects.
fn condition_list(schema: &mut JSONSchemaProps) {
    let Some(JSONSchemaPropsOrArray::Schema(item)) = schema.items.as_mut() else {
        return;
    };
    let Some(properties) = item.properties.as_mut() else {
        return;
    };
    if !properties.contains_key("type") {
        return;
    }
    if let Some(status) = properties.get_mut("status") {
        status.enum_ = Some(
            ["True", "False", "Unknown"]
                .map(|s| JSON(serde_json::Value::String(s.into())))
                .to_vec(),
        );
    }
    // A map list needs its key present in every item.
    if item
        .required
        .as_ref()
        .is_some_and(|r| r.iter().any(|k| k == "type"))
    {
        schema.x_kubernetes_list_type = Some("map".into());
        schema.x_kubernetes_list_map_keys = Some(vec!["type".into()]);
    }
}

/// Whether the root schema has `status.conditions`.
fn has_conditions(root: &JSONSchemaProps) -> bool {
    root.properties
        .as_ref()
        .and_then(|p| p.get("status"))
        .and_then(|s| s.properties.as_ref())
        .is_some_and(|p| p.contains_key("conditions"))
}

fn condition_columns() -> Vec<CustomResourceColumnDefinition> {
    let ready = r#".status.conditions[?(@.type=="Ready")]"#;
    let column = |name: &str, type_: &str, json_path: String, priority: Option<i32>| {
        CustomResourceColumnDefinition {
            name: name.into(),
            type_: type_.into(),
            json_path,
            priority,
            ..Default::default()
        }
    };
    vec![
        column("Ready", "string", format!("{ready}.status"), None),
        column("Reason", "string", format!("{ready}.reason"), None),
        column("Age", "date", ".metadata.creationTimestamp".into(), None),
        column("Message", "string", format!("{ready}.message"), Some(1)),
    ]
}

#[cfg(test)]
mod tests;
