use std::collections::BTreeMap;

use super::*;

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn objects_error(objects: &str) -> String {
    MountSpec::from_parameters(&params(&[("store", "vault"), ("objects", objects)]))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn reads_remote_and_sealed_objects_with_modes() {
    let spec = MountSpec::from_parameters(&params(&[
        ("store", "vault"),
        ("storeKind", "ClusterSecretStore"),
        ("audience", "vault"),
        (
            "objects",
            "- path: db/password\n  remoteRef: {key: app/db, property: password, version: \"3\"}\n  mode: \"0440\"\n- path: api\n  sealedSecret: {name: api, key: token}\n- path: whole.json\n  remoteRef: {key: app/db}\n",
        ),
    ]))
    .unwrap();
    assert_eq!(
        spec.store,
        Some(StoreRef {
            name: "vault".into(),
            kind: StoreKind::ClusterSecretStore
        })
    );
    assert_eq!(spec.audience.as_deref(), Some("vault"));
    assert_eq!(spec.objects.len(), 3);
    assert_eq!(spec.objects[0].mode, 0o440);
    assert_eq!(
        spec.objects[0].source,
        ObjectSource::Remote {
            key: "app/db".into(),
            property: Some("password".into()),
            version: Some("3".into())
        }
    );
    assert_eq!(spec.objects[1].mode, DEFAULT_MODE);
    assert_eq!(
        spec.objects[1].source,
        ObjectSource::SealedSecret {
            name: "api".into(),
            key: "token".into()
        }
    );
}

#[test]
fn parameters_round_trip_through_the_plugin_form() {
    let spec = MountSpec {
        store: Some(StoreRef {
            name: "vault".into(),
            kind: StoreKind::ClusterSecretStore,
        }),
        objects: vec![
            MountObject {
                path: "on".into(),
                source: ObjectSource::Remote {
                    key: "yes".into(),
                    property: Some("0644".into()),
                    version: Some("1".into()),
                },
                mode: 0o400,
            },
            MountObject {
                path: "tls/key".into(),
                source: ObjectSource::SealedSecret {
                    name: "web".into(),
                    key: "tls.key".into(),
                },
                mode: DEFAULT_MODE,
            },
        ],
        audience: Some("vault".into()),
        aws_auth: None,
    };
    let written = spec.to_parameters();
    assert!(
        written["objects"].contains("\"0400\""),
        "{}",
        written["objects"]
    );
    assert_eq!(MountSpec::from_parameters(&written).unwrap(), spec);
}

#[test]
fn sealed_only_mounts_need_no_store() {
    let spec = MountSpec::from_parameters(&params(&[(
        "objects",
        "- path: a\n  sealedSecret: {name: s, key: k}\n",
    )]))
    .unwrap();
    assert_eq!(spec.store, None);
    let err = MountSpec::from_parameters(&params(&[(
        "objects",
        "- path: a\n  remoteRef: {key: k}\n",
    )]))
    .unwrap_err();
    assert_eq!(err, ParamsError::NoStore);
}

#[test]
fn unclean_paths_are_refused_with_the_object_named() {
    for (path, cause) in [
        ("/abs", "relative"),
        ("a//b", "empty component"),
        ("a/", "empty component"),
        ("a/../b", ". or .."),
        ("./a", ". or .."),
        ("..data", "atomic writer"),
        ("a/..x", "atomic writer"),
        ("a\\b", "backslash"),
    ] {
        let err = objects_error(&format!("- path: {path:?}\n  remoteRef: {{key: k}}\n"));
        assert!(
            err.contains("objects[0]") && err.contains(cause),
            "{path}: {err}"
        );
    }
}

#[test]
fn duplicate_and_nested_paths_are_refused() {
    let dup = objects_error("- path: a\n  remoteRef: {key: k}\n- path: a\n  remoteRef: {key: j}\n");
    assert!(
        dup.contains("objects[1] (a)") && dup.contains("earlier"),
        "{dup}"
    );
    let nested =
        objects_error("- path: a\n  remoteRef: {key: k}\n- path: a/b\n  remoteRef: {key: j}\n");
    assert!(nested.contains("parent directory of a/b"), "{nested}");
    let siblings =
        objects_error("- path: a\n  remoteRef: {key: k}\n- path: ab/c\n  remoteRef: {key: j}\n");
    assert_eq!(siblings, "");
}

#[test]
fn modes_must_be_quoted_octal() {
    // A bare 0644 is a string to a YAML 1.2 reader and 420 to a YAML 1.1 one: both mean 0644.
    assert_eq!(
        objects_error("- path: a\n  remoteRef: {key: k}\n  mode: 0644\n"),
        ""
    );
    let decimal = objects_error("- path: a\n  remoteRef: {key: k}\n  mode: 420\n");
    assert!(decimal.contains("quoted"), "{decimal}");
    assert!(
        objects_error("- path: a\n  remoteRef: {key: k}\n  mode: \"0999\"\n").contains("octal")
    );
    assert!(objects_error("- path: a\n  remoteRef: {key: k}\n  mode: \"1777\"\n").contains("0777"));
    assert_eq!(
        objects_error("- path: a\n  remoteRef: {key: k}\n  mode: \"0o600\"\n"),
        ""
    );
}

#[test]
fn sources_are_exactly_one() {
    assert!(objects_error("- path: a\n").contains("needs remoteRef or sealedSecret"));
    assert!(
        objects_error("- path: a\n  remoteRef: {key: k}\n  sealedSecret: {name: s, key: k}\n")
            .contains("both")
    );
    assert!(objects_error("- path: a\n  remoteRef: {key: k, extra: 1}\n").contains("extra"));
    assert!(objects_error("").contains("missing or empty"));
    assert!(objects_error("[]").contains("missing or empty"));
    assert!(objects_error("path: a").contains("not a list"));
}

#[test]
fn unknown_parameters_and_kinds_are_refused() {
    let err = MountSpec::from_parameters(&params(&[
        ("store", "v"),
        ("objects", "- path: a\n  remoteRef: {key: k}\n"),
        ("roleName", "x"),
    ]))
    .unwrap_err();
    assert_eq!(err, ParamsError::Unknown("roleName".into()));
    let err = MountSpec::from_parameters(&params(&[
        ("store", "v"),
        ("storeKind", "Cluster"),
        ("objects", "- path: a\n  remoteRef: {key: k}\n"),
    ]))
    .unwrap_err();
    assert_eq!(err, ParamsError::StoreKind("Cluster".into()));
}

#[test]
fn shadowing_a_guarded_parameter_is_refused() {
    let spc = params(&[("store", "vault"), ("objects", "x")]);
    let mut sent = spc.clone();
    sent.insert("secretProviderClass".into(), "app".into());
    sent.insert("csi.storage.k8s.io/pod.name".into(), "web".into());
    assert_eq!(check_not_shadowed(&sent, &spc), Ok(()));
    sent.insert("store".into(), "other".into());
    assert_eq!(check_not_shadowed(&sent, &spc), Err(Shadowed("store")));
    let mut added = spc.clone();
    added.insert("audience".into(), "evil".into());
    assert_eq!(check_not_shadowed(&added, &spc), Err(Shadowed("audience")));
}
