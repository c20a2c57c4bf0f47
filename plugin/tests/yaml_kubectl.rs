//! Every YAML we write reads back the same in kubectl (go-yaml, YAML 1.1) and PyYAML (YAML
//! 1.1): a generated table of strings YAML readers misread, used as data keys, values,
//! labels, annotations, names and namespaces, sealed with the real plugin, unsealed, and
//! `sync create`d, applied with the real kubectl to kube-standin and read back with
//! `kubectl get -o json`, compared exactly.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::{Value, json};
use test_support::{Cluster, tricky_strings, valid_data_keys, valid_dns_labels, valid_label_names};

/// The Secrets of the table: one holding every key, value, label and annotation, and one per
/// valid name, named and namespaced with it.
fn table_secrets(home: &str) -> Vec<Value> {
    let mut string_data = BTreeMap::new();
    for (i, value) in tricky_strings().into_iter().enumerate() {
        string_data.insert(format!("v{i}"), value);
    }
    for key in valid_data_keys() {
        string_data.insert(key.clone(), key);
    }
    let mut labels = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    for name in valid_label_names() {
        labels.insert(name.clone(), name.clone());
        labels.insert(format!("example.com/{name}"), name.clone());
        annotations.insert(name.clone(), name.clone());
    }
    labels.insert("empty".to_owned(), String::new());
    for (i, value) in tricky_strings().into_iter().enumerate() {
        annotations.insert(format!("example.com/a{i}"), value);
    }
    let mut secrets = vec![json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "table", "namespace": home, "labels": labels, "annotations": annotations},
        "type": "Opaque",
        "stringData": string_data,
    })];
    for name in valid_dns_labels() {
        secrets.push(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": name, "labels": {"backup": name}},
            "stringData": {"k": name},
        }));
    }
    secrets
}

fn get(cluster: &Cluster, resource: &str, namespace: &str, name: &str) -> Value {
    serde_json::from_str(
        &cluster.kubectl_ok(&["get", resource, name, "-n", namespace, "-o", "json"]),
    )
    .unwrap()
}

/// What PyYAML, a YAML 1.1 reader, makes of a stream.
fn pyyaml(dir: &std::path::Path, text: &str) -> Vec<Value> {
    let script = dir.join("read.py");
    std::fs::write(
        &script,
        "import json, sys, yaml\n\
         docs = [d for d in yaml.safe_load_all(json.load(sys.stdin)['text']) if d is not None]\n\
         print(json.dumps(docs))\n",
    )
    .unwrap();
    let out = test_support::run_python(&script, &[], &[], &json!({"text": text}), "PyYAML");
    serde_json::from_slice(&out).unwrap()
}

fn yaml_docs(text: &str) -> Vec<Value> {
    use serde::Deserialize as _;
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

fn meta(object: &Value, field: &str) -> Value {
    object["metadata"]
        .get(field)
        .cloned()
        .unwrap_or_else(|| json!({}))
}

#[test]
fn tricky_strings_survive_kubectl_as_keys_values_labels_annotations_names_and_namespaces() {
    let names = valid_dns_labels();
    for must in [
        "y",
        "no",
        "on",
        "off",
        "null",
        "true",
        "1e3",
        "012",
        "2001-12-14",
    ] {
        assert!(names.iter().any(|n| n == must), "{must} is in the table");
    }
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let crds = dir.path().join("crds.yaml");
    std::fs::write(&crds, secrets_core::api::crds::all_yaml()).unwrap();
    cluster.kubectl_ok(&["apply", "-f", s(&crds)]);
    cluster.kubectl_ok(&[
        "wait",
        "--for=condition=Established",
        "crd/sealedsecrets.kubectl-secrets.io",
        "crd/externalsecrets.kubectl-secrets.io",
        "--timeout=20s",
    ]);
    // The namespaces, written by the same writer (kubectl's typed `create namespace` speaks
    // protobuf, which kube-standin does not).
    let namespaces: String = names
        .iter()
        .map(|name| {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            format!(
                "---\n{}",
                secrets_core::yaml::to_string(&ns).unwrap().as_str()
            )
        })
        .collect();
    cluster.apply(&namespaces);
    for name in &names {
        assert_eq!(
            get(&cluster, "namespace", "default", name)["metadata"]["name"],
            name.as_str()
        );
    }
    let home = names[0].clone();
    let secrets = table_secrets(&home);
    let input = dir.path().join("secrets.json");
    let stream: String = secrets.iter().map(|s| format!("{s}\n")).collect();
    std::fs::write(&input, stream).unwrap();

    // seal → kubectl apply → kubectl get: the SealedSecrets' names, keys, labels, annotations.
    let sealed_text = ok(&["seal", "-f", s(&input), "--cert", s(&keys().cert)], None);
    assert_eq!(pyyaml(dir.path(), &sealed_text), yaml_docs(&sealed_text));
    let sealed_file = dir.path().join("sealed.yaml");
    std::fs::write(&sealed_file, &sealed_text).unwrap();
    cluster.kubectl_ok(&["apply", "-f", s(&sealed_file)]);
    let written = yaml_docs(&sealed_text);
    assert_eq!(written.len(), secrets.len());
    for (secret, sealed) in secrets.iter().zip(&written) {
        let name = secret["metadata"]["name"].as_str().unwrap();
        let namespace = secret["metadata"]["namespace"].as_str().unwrap();
        let live = get(
            &cluster,
            "sealedsecrets.kubectl-secrets.io",
            namespace,
            name,
        );
        assert_eq!(live["metadata"]["name"], name);
        assert_eq!(live["metadata"]["namespace"], namespace);
        assert_eq!(live["spec"], sealed["spec"], "{namespace}/{name}");
        let keys: Vec<&String> = live["spec"]["encryptedData"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let want: Vec<&String> = secret["stringData"].as_object().unwrap().keys().collect();
        assert_eq!(keys, want, "{namespace}/{name}: data keys");
        let template = &live["spec"]["template"];
        assert_eq!(
            template["metadata"]["labels"], secret["metadata"]["labels"],
            "{namespace}/{name}: labels"
        );
        assert_eq!(
            meta(template, "annotations"),
            meta(secret, "annotations"),
            "{namespace}/{name}: annotations"
        );
    }

    // unseal → kubectl apply → kubectl get: the Secrets, values byte for byte.
    let unsealed_text = ok(
        &[
            "unseal",
            "-f",
            s(&sealed_file),
            "--private-key",
            s(&keys().key),
        ],
        None,
    );
    assert_eq!(
        pyyaml(dir.path(), &unsealed_text),
        yaml_docs(&unsealed_text)
    );
    let unsealed_file = dir.path().join("unsealed.yaml");
    std::fs::write(&unsealed_file, &unsealed_text).unwrap();
    cluster.kubectl_ok(&["apply", "-f", s(&unsealed_file)]);
    for secret in &secrets {
        let name = secret["metadata"]["name"].as_str().unwrap();
        let namespace = secret["metadata"]["namespace"].as_str().unwrap();
        let live = get(&cluster, "secret", namespace, name);
        let data: BTreeMap<String, String> = live["data"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let bytes = unb64(v.as_str().unwrap());
                (k.clone(), String::from_utf8(bytes).unwrap())
            })
            .collect();
        let want: BTreeMap<String, String> =
            serde_json::from_value(secret["stringData"].clone()).unwrap();
        assert_eq!(data, want, "{namespace}/{name}: values");
        assert_eq!(meta(&live, "labels"), meta(secret, "labels"));
        let mut annotations = meta(&live, "annotations");
        // Client-side apply records what it applied; the rest must be exactly ours.
        let applied = annotations
            .as_object_mut()
            .unwrap()
            .remove("kubectl.kubernetes.io/last-applied-configuration");
        assert!(applied.is_some());
        assert_eq!(annotations, meta(secret, "annotations"));
    }

    // sync create -o yaml → kubectl apply → kubectl get.
    for name in &names {
        let text = ok(
            &[
                "sync", "create", name, "-n", name, "--store", name, "--key", name, "-o", "yaml",
            ],
            None,
        );
        assert_eq!(pyyaml(dir.path(), &text), yaml_docs(&text));
        let file = dir.path().join("es.yaml");
        std::fs::write(&file, &text).unwrap();
        cluster.kubectl_ok(&["apply", "-f", s(&file)]);
        let live = get(&cluster, "externalsecrets.kubectl-secrets.io", name, name);
        assert_eq!(live["metadata"]["name"], name.as_str());
        assert_eq!(live["metadata"]["namespace"], name.as_str());
        assert_eq!(live["spec"], yaml_docs(&text)[0]["spec"], "{name}");
        assert_eq!(live["spec"]["secretStoreRef"]["name"], name.as_str());
    }
}

/// The other direction: an unquoted `on` is a boolean to kubectl (a key `on` becomes `true`,
/// shown here with the real kubectl), so `seal` refuses such input, naming the place and the
/// two readings but not the scalar; quoted, the same file seals.
#[test]
fn unquoted_scalars_kubectl_reads_otherwise_are_refused() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.yaml");
    std::fs::write(
        &plain,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: flags, namespace: default}\nstringData:\n  on: enabled\n",
    )
    .unwrap();
    cluster.kubectl_ok(&["apply", "-f", s(&plain)]);
    let applied = get(&cluster, "secret", "default", "flags");
    let data_keys: Vec<&String> = applied["data"].as_object().unwrap().keys().collect();
    assert_eq!(
        data_keys,
        ["true"],
        "kubectl read the unquoted key `on` as a boolean"
    );

    let out = run(&["seal", "-f", s(&plain), "--cert", s(&keys().cert)], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 5, column 3: kubectl (YAML 1.1) reads this unquoted scalar as a boolean and YAML 1.2 readers as text: quote it"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let quoted = dir.path().join("quoted.yaml");
    std::fs::write(
        &quoted,
        "apiVersion: v1\nkind: Secret\nmetadata: {name: flags, namespace: default}\nstringData:\n  'on': enabled\n",
    )
    .unwrap();
    let sealed = ok(&["seal", "-f", s(&quoted), "--cert", s(&keys().cert)], None);
    assert!(sealed.contains("\"on\": Ag"), "{sealed}");
}
