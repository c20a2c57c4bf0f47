//! Merge, JSON and strategic merge patches.

use serde_json::{Value, json};

use super::*;

/// Fails the test if any key anywhere starts with `$`.
fn assert_no_directives(value: &Value) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                assert!(!key.starts_with('$'), "directive {key} left in {value}");
                assert_no_directives(child);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_directives),
        _ => {}
    }
}

fn strategic(target: Value, patch: Value) -> Value {
    let mut target = target;
    strategic_merge_patch(&mut target, &patch).unwrap();
    assert_no_directives(&target);
    target
}

#[test]
fn merge_patch_deletes_nests_and_replaces() {
    let mut object = json!({
        "metadata": {"labels": {"a": "1", "b": "2"}, "name": "x"},
        "spec": {"list": [1, 2, 3], "keep": true},
    });
    merge_patch(
        &mut object,
        &json!({
            "metadata": {"labels": {"a": null, "c": "3"}},
            "spec": {"list": [9], "new": {"deep": 1}},
        }),
    );
    assert_eq!(
        object,
        json!({
            "metadata": {"labels": {"b": "2", "c": "3"}, "name": "x"},
            "spec": {"list": [9], "keep": true, "new": {"deep": 1}},
        })
    );
}

#[test]
fn json_patch_operations() {
    let mut object = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "data": {}});
    json_patch(
        &mut object,
        &json!([
            {"op": "add", "path": "/data/k", "value": "v"},
            {"op": "remove", "path": "/metadata/labels/a"},
            {"op": "replace", "path": "/metadata/name", "value": "y"},
            {"op": "test", "path": "/data/k", "value": "v"},
        ]),
    )
    .unwrap();
    assert_eq!(
        object,
        json!({"metadata": {"name": "y", "labels": {}}, "data": {"k": "v"}})
    );
}

#[test]
fn json_patch_failures_leave_target_unchanged() {
    let original = json!({"data": {"k": "v"}});
    let mut object = original.clone();
    let failing_test = json!([
        {"op": "add", "path": "/data/other", "value": "x"},
        {"op": "test", "path": "/data/k", "value": "not-v"},
    ]);
    let error = json_patch(&mut object, &failing_test).unwrap_err();
    assert!(matches!(error, PatchError::JsonPatchApply(_)), "{error:?}");
    assert_eq!(object, original);

    let missing_path = json!([{"op": "remove", "path": "/data/nope"}]);
    assert!(matches!(
        json_patch(&mut object, &missing_path),
        Err(PatchError::JsonPatchApply(_))
    ));
    let bad_op = json!([{"op": "frobnicate", "path": "/data"}]);
    assert!(matches!(
        json_patch(&mut object, &bad_op),
        Err(PatchError::JsonPatchDecode(_))
    ));
    let error = json_patch(&mut object, &json!({"op": "add"})).unwrap_err();
    assert_eq!(
        error.to_string(),
        "decoding json patch: expected an array of operations, found an object"
    );
    assert_eq!(object, original);
}

fn deployment() -> Value {
    json!({
        "metadata": {"name": "web", "finalizers": ["a", "b"]},
        "spec": {"template": {"spec": {
            "containers": [
                {"name": "app", "image": "app:1", "env": [
                    {"name": "A", "value": "1"},
                    {"name": "B", "value": "2"},
                ]},
                {"name": "sidecar", "image": "proxy:1"},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
        }}},
    })
}

#[test]
fn strategic_merge_containers_and_env_by_name() {
    let result = strategic(
        deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "app:2", "env": [
                {"name": "B", "value": "two"},
                {"name": "C", "value": "3"},
            ]},
            {"name": "new", "image": "new:1"},
        ]}}}}),
    );
    assert_eq!(
        result.pointer("/spec/template/spec/containers").unwrap(),
        &json!([
            {"name": "app", "image": "app:2", "env": [
                {"name": "A", "value": "1"},
                {"name": "B", "value": "two"},
                {"name": "C", "value": "3"},
            ]},
            {"name": "sidecar", "image": "proxy:1"},
            {"name": "new", "image": "new:1"},
        ])
    );
    // A list without a merge key replaces.
    let result = strategic(
        json!({"spec": {"args": ["a", "b"]}}),
        json!({"spec": {"args": ["c"]}}),
    );
    assert_eq!(result, json!({"spec": {"args": ["c"]}}));
}

#[test]
fn strategic_merge_delete_directives() {
    let result = strategic(
        deployment(),
        json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "sidecar", "$patch": "delete"},
                {"name": "app", "env": [{"name": "A", "$patch": "delete"}]},
            ],
            "volumes": [{"name": "data", "emptyDir": {"$patch": "delete"}}],
        }}}}),
    );
    assert_eq!(
        result.pointer("/spec/template/spec").unwrap(),
        &json!({
            "containers": [
                {"name": "app", "image": "app:1", "env": [{"name": "B", "value": "2"}]},
            ],
            "volumes": [{"name": "data"}],
        })
    );
    // Deleting an item that is not there is not an error.
    let unchanged = strategic(
        deployment(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "ghost", "$patch": "delete"},
        ]}}}}),
    );
    assert_eq!(unchanged, deployment());
    // Null deletes a map key.
    let result = strategic(deployment(), json!({"spec": {"template": null}}));
    assert_eq!(result.get("spec").unwrap(), &json!({}));
}

#[test]
fn strategic_merge_set_element_order_is_stripped_and_orders() {
    let result = strategic(
        deployment(),
        json!({
            "metadata": {"$setElementOrder/finalizers": ["b", "a"]},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
                "containers": [{"name": "app", "image": "app:3"}],
            }}},
        }),
    );
    assert_eq!(
        result.pointer("/spec/template/spec/containers").unwrap(),
        &json!([
            {"name": "sidecar", "image": "proxy:1"},
            {"name": "app", "image": "app:3", "env": [
                {"name": "A", "value": "1"},
                {"name": "B", "value": "2"},
            ]},
        ])
    );
    assert_eq!(
        result.pointer("/metadata/finalizers").unwrap(),
        &json!(["b", "a"])
    );
}

#[test]
fn strategic_merge_finalizers() {
    let result = strategic(
        deployment(),
        json!({"metadata": {"finalizers": ["c", "a"]}}),
    );
    assert_eq!(
        result.pointer("/metadata/finalizers").unwrap(),
        &json!(["a", "b", "c"])
    );
    let result = strategic(
        deployment(),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a", "zz"]}}),
    );
    assert_eq!(
        result.pointer("/metadata/finalizers").unwrap(),
        &json!(["b"])
    );
}

#[test]
fn strategic_merge_retain_keys_and_replace() {
    let result = strategic(
        json!({"spec": {"strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1},
        }}}),
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    );
    assert_eq!(result, json!({"spec": {"strategy": {"type": "Recreate"}}}));

    let result = strategic(
        json!({"spec": {"selector": {"a": "1", "b": "2"}}}),
        json!({"spec": {"selector": {"$patch": "replace", "c": "3"}}}),
    );
    assert_eq!(result, json!({"spec": {"selector": {"c": "3"}}}));

    let result = strategic(
        deployment(),
        json!({"spec": {"template": {"spec": {"volumes": [
            {"$patch": "replace"},
            {"name": "only", "secret": {"secretName": "s"}},
        ]}}}}),
    );
    assert_eq!(
        result.pointer("/spec/template/spec/volumes").unwrap(),
        &json!([{"name": "only", "secret": {"secretName": "s"}}])
    );
}

#[test]
fn strategic_merge_ports_and_other_keys() {
    let result = strategic(
        json!({"spec": {
            "ports": [{"port": 80, "targetPort": 8080}, {"port": 443}],
            "containers": [{"name": "c", "ports": [{"containerPort": 80, "name": "http"}]}],
        }}),
        json!({"spec": {
            "ports": [{"port": 80, "targetPort": 9090}],
            "containers": [{"name": "c", "ports": [{"containerPort": 81}]}],
        }}),
    );
    assert_eq!(
        result,
        json!({"spec": {
            "ports": [{"port": 80, "targetPort": 9090}, {"port": 443}],
            "containers": [{"name": "c", "ports": [
                {"containerPort": 80, "name": "http"},
                {"containerPort": 81},
            ]}],
        }})
    );
    let result = strategic(
        json!({"status": {"conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "Synced", "status": "True"},
        ]}}),
        json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    assert_eq!(
        result,
        json!({"status": {"conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "Synced", "status": "True"},
        ]}})
    );
}

#[test]
fn strategic_merge_top_level_directives_and_new_objects() {
    let result = strategic(
        json!({"a": 1}),
        json!({"b": {"c": null, "d": {"$patch": "delete"}, "e": 2}}),
    );
    assert_eq!(result, json!({"a": 1, "b": {"e": 2}}));
    let result = strategic(json!({"a": 1}), json!({"$patch": "delete"}));
    assert_eq!(result, json!({}));
}

#[test]
fn strategic_merge_errors_leave_target_unchanged() {
    let original = deployment();
    let mut object = original.clone();
    let cases = [
        json!({"metadata": {"labels": {"x": "1"}}, "spec": {"$bogus": 1}}),
        json!({"spec": {"$patch": "explode"}}),
        json!({"spec": {"$retainKeys": "template"}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}),
        json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
        json!(["not", "an", "object"]),
    ];
    for patch in cases {
        assert!(
            strategic_merge_patch(&mut object, &patch).is_err(),
            "{patch} should fail"
        );
        assert_eq!(object, original);
    }
    let error = strategic_merge_patch(
        &mut object,
        &json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "applying strategic merge patch at spec.template.spec.containers: \
         list item has no merge key \"name\""
    );
}
