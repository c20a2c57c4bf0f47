//! Unit tests of the request builder: what driver v1.6 would send.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use super::*;
use serde_json::{Value, json};

fn pod_info() -> PodInfo {
    PodInfo {
        namespace: "team-a".into(),
        name: "web-0".into(),
        uid: "9aeb260f-0000-4000-8000-000000000001".into(),
        service_account: "web".into(),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn volume(attributes: &[(&str, &str)]) -> CsiVolume {
    CsiVolume {
        name: "secrets".into(),
        read_only: true,
        attributes: map(attributes),
        node_publish_secret: None,
    }
}

fn attributes_of(request: &MountRequest) -> BTreeMap<String, String> {
    serde_json::from_str(&request.attributes).unwrap()
}

#[test]
fn request_as_driver_v1_6_builds_it() {
    let pod = pod_info();
    let volume = volume(&[("secretProviderClass", "app-secrets")]);
    let parameters = map(&[("objects", "- objectName: db\n"), ("roleName", "web")]);
    let request = build(&Inputs {
        pod: &pod,
        volume: &volume,
        parameters: &parameters,
        node_publish_secret: None,
        tokens: Some(r#"{"vault":{"token":"t","expirationTimestamp":"2026-12-01T18:00:00Z"}}"#),
        tokens_in_secrets: false,
    })
    .unwrap();
    assert_eq!(
        attributes_of(&request),
        map(&[
            ("objects", "- objectName: db\n"),
            ("roleName", "web"),
            ("secretProviderClass", "app-secrets"),
            ("csi.storage.k8s.io/pod.name", "web-0"),
            ("csi.storage.k8s.io/pod.namespace", "team-a"),
            (
                "csi.storage.k8s.io/pod.uid",
                "9aeb260f-0000-4000-8000-000000000001"
            ),
            ("csi.storage.k8s.io/serviceAccount.name", "web"),
            ("csi.storage.k8s.io/ephemeral", "true"),
            (
                "csi.storage.k8s.io/serviceAccount.tokens",
                r#"{"vault":{"token":"t","expirationTimestamp":"2026-12-01T18:00:00Z"}}"#
            ),
        ])
    );
    // Keys sorted, as Go's encoder writes a map.
    let keys: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, Value>>(&request.attributes)
            .unwrap()
            .keys()
            .cloned()
            .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(
        request
            .attributes
            .starts_with("{\"csi.storage.k8s.io/ephemeral\":\"true\",")
    );
    assert_eq!(request.secrets, "null");
    assert_eq!(request.permission, "420");
    assert_eq!(
        request.target_path,
        "/var/lib/kubelet/pods/9aeb260f-0000-4000-8000-000000000001/volumes/kubernetes.io~csi/secrets/mount"
    );
    assert!(request.current_object_version.is_empty());
}

#[test]
fn pod_attributes_shadow_parameters_but_not_kubelet_keys() {
    let pod = pod_info();
    let volume = volume(&[
        ("secretProviderClass", "app-secrets"),
        ("roleName", "admin"),
        ("csi.storage.k8s.io/pod.namespace", "kube-system"),
        ("csi.storage.k8s.io/serviceAccount.tokens", "forged"),
    ]);
    let parameters = map(&[("roleName", "web")]);
    let inputs = |tokens| Inputs {
        pod: &pod,
        volume: &volume,
        parameters: &parameters,
        node_publish_secret: None,
        tokens,
        tokens_in_secrets: false,
    };
    let attributes = attributes_of(&build(&inputs(Some("real"))).unwrap());
    // The pod author's value wins over the admin's parameter (the provider must defend).
    assert_eq!(attributes["roleName"], "admin");
    // kubelet's keys are merged after the volume attributes.
    assert_eq!(attributes["csi.storage.k8s.io/pod.namespace"], "team-a");
    assert_eq!(
        attributes["csi.storage.k8s.io/serviceAccount.tokens"],
        "real"
    );
    // Without tokenRequests, nothing overrides a pod-supplied tokens key.
    let attributes = attributes_of(&build(&inputs(None)).unwrap());
    assert_eq!(
        attributes["csi.storage.k8s.io/serviceAccount.tokens"],
        "forged"
    );
}

#[test]
fn secrets_hold_the_node_publish_secret_and_optionally_the_tokens() {
    let pod = pod_info();
    let mut volume = volume(&[("secretProviderClass", "app-secrets")]);
    volume.node_publish_secret = Some("store-creds".into());
    let parameters = map(&[("a", "b")]);
    let data = map(&[("clientid", "id"), ("clientsecret", "s<&>")]);
    let request = build(&Inputs {
        pod: &pod,
        volume: &volume,
        parameters: &parameters,
        node_publish_secret: Some(&data),
        tokens: Some("{}"),
        tokens_in_secrets: true,
    })
    .unwrap();
    assert_eq!(
        request.secrets,
        r#"{"clientid":"id","clientsecret":"s\u003c\u0026\u003e","csi.storage.k8s.io/serviceAccount.tokens":"{}"}"#
    );
    assert_eq!(
        attributes_of(&request)["csi.storage.k8s.io/serviceAccount.tokens"],
        "{}"
    );
    // A Secret without data crosses gRPC as no entries: null.
    let empty = BTreeMap::new();
    let request = build(&Inputs {
        pod: &pod,
        volume: &volume,
        parameters: &parameters,
        node_publish_secret: Some(&empty),
        tokens: None,
        tokens_in_secrets: true,
    })
    .unwrap();
    assert_eq!(request.secrets, "null");
    assert!(!attributes_of(&request).contains_key(SERVICE_ACCOUNT_TOKENS));
}

#[test]
fn go_json_escapes_like_encoding_json() {
    let value = json!({"k": "<a href=\"x\">&\u{2028}\u{2029}</a>"});
    assert_eq!(
        go_json(&value).unwrap(),
        r#"{"k":"\u003ca href=\"x\"\u003e\u0026\u2028\u2029\u003c/a\u003e"}"#
    );
    let back: Value = serde_json::from_str(&go_json(&value).unwrap()).unwrap();
    assert_eq!(back, value);
}

#[test]
fn provider_names() {
    for ok in ["", "kubectl-secrets", "vault", "a_b-C9", &"x".repeat(30)] {
        assert!(valid_provider_name(ok), "{ok}");
    }
    for bad in ["../etc", "a.b", "a/b", "sp ace", &"x".repeat(31), "é"] {
        assert!(!valid_provider_name(bad), "{bad}");
    }
}

fn pod(volumes: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-0", "namespace": "team-a", "uid": "u-1"},
        "spec": {"containers": [], "volumes": volumes},
    }))
    .unwrap()
}

fn csi(name: &str, driver: &str, read_only: Option<bool>) -> Value {
    let mut csi = json!({"driver": driver, "volumeAttributes": {"secretProviderClass": "spc"}});
    if let Some(ro) = read_only {
        csi["readOnly"] = json!(ro);
    }
    json!({"name": name, "csi": csi})
}

#[test]
fn volumes_are_picked_as_asked() {
    let p = pod(json!([
        {"name": "cache", "emptyDir": {}},
        csi("other", "other.csi.example.com", Some(true)),
        csi("secrets", DRIVER, None),
    ]));
    let v = find_volume(&p, None).unwrap();
    assert_eq!((v.name.as_str(), v.read_only), ("secrets", false));
    assert_eq!(v.attributes["secretProviderClass"], "spc");
    assert!(matches!(
        find_volume(&p, Some("other")).unwrap_err(),
        MountFailure::VolumeNotFound { .. }
    ));
    let two = pod(json!([
        csi("a", DRIVER, Some(true)),
        csi("b", DRIVER, Some(true))
    ]));
    let err = find_volume(&two, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "pod team-a/web-0 has several secrets-store.csi.k8s.io volumes (a, b): name one"
    );
    assert_eq!(find_volume(&two, Some("b")).unwrap().name, "b");
    assert!(matches!(
        find_volume(&pod(json!([])), None).unwrap_err(),
        MountFailure::NoCsiVolume { .. }
    ));
    let info = PodInfo::from_pod(&p).unwrap();
    assert_eq!(info.service_account, "default");
}
