use std::path::PathBuf;

use super::*;

/// A schema path and a node, for every node of a schema.
fn nodes<'a>(
    path: String,
    schema: &'a JSONSchemaProps,
    out: &mut Vec<(String, &'a JSONSchemaProps)>,
) {
    out.push((path.clone(), schema));
    for (name, property) in schema.properties.iter().flatten() {
        nodes(format!("{path}.{name}"), property, out);
    }
    match &schema.items {
        Some(JSONSchemaPropsOrArray::Schema(item)) => nodes(format!("{path}[]"), item, out),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => {
            for (i, item) in items.iter().enumerate() {
                nodes(format!("{path}[{i}]"), item, out);
            }
        }
        None => {}
    }
    if let Some(JSONSchemaPropsOrBool::Schema(values)) = &schema.additional_properties {
        nodes(format!("{path}{{*}}"), values, out);
    }
}

fn root(crd: &CustomResourceDefinition) -> &JSONSchemaProps {
    crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .unwrap()
}

fn all_nodes(crd: &CustomResourceDefinition) -> Vec<(String, &JSONSchemaProps)> {
    let mut out = Vec::new();
    nodes(String::new(), root(crd), &mut out);
    out
}

#[test]
fn crds_are_small() {
    for crd in all() {
        let size = to_yaml(&crd).len();
        // Client-side apply keeps the whole object in a 256 KiB annotation; stay far below.
        assert!(size < 32 * 1024, "{}: {size} bytes", file_name(&crd));
    }
}

#[test]
fn schemas_are_structural_and_trimmed() {
    for crd in all() {
        let name = file_name(&crd);
        for (path, node) in all_nodes(&crd) {
            assert!(
                node.type_.is_some()
                    || node.x_kubernetes_preserve_unknown_fields == Some(true)
                    || node.x_kubernetes_int_or_string == Some(true),
                "{name}: {path} has no type"
            );
            assert!(node.ref_path.is_none(), "{name}: {path} has a $ref");
            assert!(node.definitions.is_none(), "{name}: {path} has definitions");
            assert!(
                !(node.properties.is_some()
                    && matches!(
                        node.additional_properties,
                        Some(JSONSchemaPropsOrBool::Schema(_))
                    )),
                "{name}: {path} has both properties and additionalProperties"
            );
            assert!(
                !node
                    .properties
                    .iter()
                    .flatten()
                    .any(|(k, _)| k == "managedFields"),
                "{name}: {path} still embeds ObjectMeta"
            );
            // Unknown fields are kept only in templates' metadata (see `template_metadata`), and
            // in the sync kinds' specs: there they must reach the agent, which names every ESO
            // field it does not implement in `Ready=False` instead of the API server pruning it.
            let sync_kind = name.contains("secretstores.") || name.contains("externalsecrets.");
            if node.x_kubernetes_preserve_unknown_fields == Some(true) {
                assert!(
                    path.ends_with(".metadata") || (sync_kind && path.starts_with(".spec")),
                    "{name}: {path} keeps unknown fields"
                );
            }
        }
    }
}

#[test]
fn every_kind_prints_ready_reason_and_age() {
    for crd in all() {
        for version in &crd.spec.versions {
            let columns: Vec<&str> = version
                .additional_printer_columns
                .iter()
                .flatten()
                .filter(|c| c.priority.is_none())
                .map(|c| c.name.as_str())
                .collect();
            assert!(
                columns.ends_with(&["Ready", "Reason", "Age"]),
                "{}: {columns:?}",
                file_name(&crd)
            );
        }
    }
}

#[test]
fn our_kinds_have_short_names_and_a_status_subresource() {
    for crd in all() {
        let version = &crd.spec.versions[0];
        assert!(
            version
                .subresources
                .as_ref()
                .is_some_and(|s| s.status.is_some()),
            "{}",
            file_name(&crd)
        );
        if crd.spec.group == crate::api::sealed_secret::GROUP {
            assert!(
                crd.spec
                    .names
                    .short_names
                    .as_ref()
                    .is_some_and(|s| !s.is_empty()),
                "{} has no short name",
                file_name(&crd)
            );
        }
    }
}

#[test]
fn template_metadata_and_conditions_are_validated() {
    let crd = finish(SealedSecret::crd());
    let nodes = all_nodes(&crd);
    let at = |path: &str| {
        nodes
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, n)| *n)
            .unwrap_or_else(|| panic!("no {path} in the schema"))
    };
    let meta = at(".spec.template.metadata");
    assert_eq!(
        meta.properties.as_ref().unwrap().keys().collect::<Vec<_>>(),
        ["annotations", "finalizers", "labels", "name", "namespace"]
    );
    assert_eq!(at(".spec.template.metadata.name").max_length, Some(253));
    assert!(at(".spec.template.metadata.namespace").pattern.is_some());
    let conditions = at(".status.conditions");
    assert_eq!(conditions.x_kubernetes_list_type.as_deref(), Some("map"));
    assert_eq!(
        conditions.x_kubernetes_list_map_keys.as_deref(),
        Some(&["type".to_owned()][..])
    );
    assert_eq!(
        at(".status.conditions[].status")
            .enum_
            .as_ref()
            .map(Vec::len),
        Some(3)
    );
}

#[test]
fn finishing_twice_changes_nothing() {
    for crd in all() {
        assert_eq!(finish(crd.clone()), crd);
    }
}

/// The chart's `crds/` folder must hold exactly what the types generate.
#[test]
fn committed_chart_crds_match_the_types() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/secrets-agent/crds");
    let fix = "run `cargo xtask gen` and commit the result";
    let mut expected: Vec<String> = Vec::new();
    for crd in all() {
        let name = file_name(&crd);
        let path = dir.join(&name);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading charts/secrets-agent/crds/{name}: {err}; {fix}"));
        assert!(
            committed == chart_file(&crd),
            "charts/secrets-agent/crds/{name} differs from what secrets-core's types generate; {fix}"
        );
        expected.push(name);
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            expected.contains(&name),
            "charts/secrets-agent/crds/{name} is no CRD the types generate; {fix}"
        );
    }
}
