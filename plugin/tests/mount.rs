//! `kubectl secrets mount` end to end: the built binary against kube-standin (with our minimal
//! Secrets Store CSI Driver CRDs) and a real OpenBao behind the SecretStore (`common::mount`).
//! The SecretProviderClass and the pod template are applied server-side with only our fields;
//! a second run changes nothing; `--remove` gives the workload back its own template (applied
//! by a GitOps manager or made by a plain `kubectl create`); dry runs write nothing; foreign
//! volumes, bad paths and duplicates are refused before any write; `mount status` joins
//! classes, workloads and the driver's pod records.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::collections::BTreeMap;

use common::mount::{MountEnv, deployment, pod, rv};
use common::stderr;
use common::sync::DB_PASSWORD;
use secrets_core::mount::params::{MountObject, MountSpec, ObjectSource, StoreKind, StoreRef};
use serde_json::{Value, json};

fn ok(m: &MountEnv, args: &[&str]) -> (String, String) {
    m.env.ok(args)
}

fn fails(m: &MountEnv, args: &[&str], expect: &str) {
    let out = m.env.run(args, &[("VAULT_TOKEN", &m.env.person_token)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("kubectl-secrets: ") && err.contains(expect),
        "{args:?}: {err}"
    );
    assert!(out.stdout.is_empty());
    assert!(!err.contains(DB_PASSWORD));
}

fn spec_of(spc: &Value) -> MountSpec {
    let parameters: BTreeMap<String, String> =
        serde_json::from_value(spc["spec"]["parameters"].clone()).unwrap();
    MountSpec::from_parameters(&parameters).unwrap()
}

fn remote(path: &str, key: &str, property: Option<&str>, mode: u32) -> MountObject {
    MountObject {
        path: path.into(),
        source: ObjectSource::Remote {
            key: key.into(),
            property: property.map(Into::into),
            version: None,
        },
        mode,
    }
}

const MOUNT_WEB: [&str; 18] = [
    "mount",
    "deployment/web",
    "-n",
    "team",
    "--store",
    "vault",
    "--key",
    "app/db",
    "--property",
    "password",
    "--file",
    "db-password",
    "--mode",
    "0440",
    "--property",
    "user",
    "--key",
    "app/config",
];

#[test]
fn mount_applies_the_class_and_the_pod_template_once_and_remove_undoes_it() {
    let m = MountEnv::start();
    let original = m.get("deployment", "team", "web").unwrap();
    let (stdout, err) = ok(&m, &MOUNT_WEB);
    assert!(stdout.is_empty(), "data only with -o: {stdout}");
    assert!(
        err.contains("secretproviderclass team/web-secrets applied (3 files)"),
        "{err}"
    );
    assert!(
        err.contains("mounted read-only at /mnt/secrets/web-secrets in app, sidecar"),
        "{err}"
    );

    let spc = m.get("spc", "team", "web-secrets").unwrap();
    assert_eq!(spc["spec"]["provider"], "kubectl-secrets");
    assert_eq!(
        spc["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kubectl-secrets"
    );
    assert_eq!(
        spec_of(&spc),
        MountSpec {
            store: Some(StoreRef {
                name: "vault".into(),
                kind: StoreKind::SecretStore
            }),
            objects: vec![
                remote("db-password", "app/db", Some("password"), 0o440),
                remote("user", "app/db", Some("user"), 0o644),
                remote("config", "app/config", None, 0o644),
            ],
            audience: None,
            aws_auth: None,
        }
    );
    let web = m.get("deployment", "team", "web").unwrap();
    let ours = json!({"name": "secrets-web-secrets", "mountPath": "/mnt/secrets/web-secrets", "readOnly": true});
    assert_eq!(
        pod(&web)["volumes"],
        json!([
            {"name": "data", "emptyDir": {}},
            {"name": "secrets-web-secrets", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true,
             "volumeAttributes": {"secretProviderClass": "web-secrets"}}}
        ])
    );
    assert_eq!(
        pod(&web)["containers"],
        json!([
            {"name": "app", "image": "example/app:1", "volumeMounts": [{"name": "data", "mountPath": "/data"}, ours]},
            {"name": "sidecar", "image": "example/sidecar:1", "volumeMounts": [ours]}
        ])
    );
    let managers: Vec<&str> = web["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["gitops", "kubectl-secrets"]);

    // The same command again: neither object changes.
    let (_, err) = ok(&m, &MOUNT_WEB);
    assert!(
        err.contains("secretproviderclass team/web-secrets unchanged"),
        "{err}"
    );
    assert!(err.contains("deployment team/web unchanged"), "{err}");
    assert_eq!(rv(&m.get("spc", "team", "web-secrets").unwrap()), rv(&spc));
    assert_eq!(rv(&m.get("deployment", "team", "web").unwrap()), rv(&web));

    // The real kubectl reads the class back as written.
    let yaml = m.env.cluster.kubectl_ok(&[
        "get",
        "secretproviderclass",
        "web-secrets",
        "-n",
        "team",
        "-o",
        "yaml",
    ]);
    let read: Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(spec_of(&read), spec_of(&spc));

    let (printed, err) = ok(
        &m,
        &["mount", "deploy/web", "-n", "team", "--remove", "--dry-run"],
    );
    assert!(
        err.contains("would delete secretproviderclass team/web-secrets"),
        "{err}"
    );
    let config: Value = serde_yaml_ng::from_str(&printed).unwrap();
    assert_eq!(
        config,
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "team"}})
    );
    assert_eq!(rv(&m.get("deployment", "team", "web").unwrap()), rv(&web));
    assert!(m.get("spc", "team", "web-secrets").is_some());

    let (_, err) = ok(&m, &["mount", "deploy/web", "-n", "team", "--remove"]);
    assert!(
        err.contains("secretproviderclass team/web-secrets deleted"),
        "{err}"
    );
    assert!(m.get("spc", "team", "web-secrets").is_none());
    let after = m.get("deployment", "team", "web").unwrap();
    assert_eq!(after["spec"]["template"], original["spec"]["template"]);
    // Removing again is a no-op that says so.
    let (_, err) = ok(&m, &["mount", "deploy/web", "-n", "team", "--remove"]);
    assert!(
        err.contains("has no volume of secretproviderclass web-secrets"),
        "{err}"
    );
    assert_eq!(rv(&m.get("deployment", "team", "web").unwrap()), rv(&after));
}

/// A workload made with `kubectl create -f` (a plain POST, no server-side apply): its
/// creator's managedFields entry co-owns the containers, so `--remove` takes out only our
/// volume and mounts and gives back exactly the template it had.
#[test]
fn remove_gives_a_workload_created_without_apply_its_template_back() {
    let m = MountEnv::start();
    let mut api = deployment(
        "api",
        &["server", "proxy"],
        json!({"volumes": [{"name": "cache", "emptyDir": {}}]}),
    );
    api["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "cache", "mountPath": "/cache"}]);
    m.kubectl_create("team", &api);
    let original = m.get("deployment", "team", "api").unwrap();
    let entries = original["metadata"]["managedFields"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["manager"], "kubectl-create");
    assert_eq!(entries[0]["operation"], "Update");

    ok(
        &m,
        &[
            "mount",
            "deployment/api",
            "-n",
            "team",
            "--store",
            "vault",
            "--key",
            "app/config",
        ],
    );
    let mounted = m.get("deployment", "team", "api").unwrap();
    let ours = json!({"name": "secrets-api-secrets", "mountPath": "/mnt/secrets/api-secrets", "readOnly": true});
    assert_eq!(
        pod(&mounted)["containers"],
        json!([
            {"name": "server", "image": "example/server:1",
             "volumeMounts": [{"name": "cache", "mountPath": "/cache"}, ours]},
            {"name": "proxy", "image": "example/proxy:1", "volumeMounts": [ours]}
        ])
    );
    assert_eq!(pod(&mounted)["volumes"].as_array().unwrap().len(), 2);

    let (_, err) = ok(&m, &["mount", "deployment/api", "-n", "team", "--remove"]);
    assert!(
        err.contains("secretproviderclass team/api-secrets deleted"),
        "{err}"
    );
    let after = m.get("deployment", "team", "api").unwrap();
    assert_eq!(after["spec"]["template"], original["spec"]["template"]);
}

#[test]
fn dry_run_and_output_print_both_objects_and_write_nothing() {
    let m = MountEnv::start();
    let before = rv(&m.get("deployment", "team", "web").unwrap());
    let mut args = MOUNT_WEB.to_vec();
    args.push("--dry-run");
    let (yaml, _) = ok(&m, &args);
    let docs: Vec<Value> = yaml
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{yaml}");
    assert_eq!(docs[0]["kind"], "SecretProviderClass");
    assert_eq!(spec_of(&docs[0]).objects.len(), 3);
    assert_eq!(docs[1]["kind"], "Deployment");
    assert_eq!(pod(&docs[1])["containers"].as_array().unwrap().len(), 2);
    assert!(
        pod(&docs[1])["containers"][0].get("image").is_none(),
        "only our fields: {yaml}"
    );

    let mut args = MOUNT_WEB.to_vec();
    args.extend(["-o", "json"]);
    let (json_text, _) = ok(&m, &args);
    let list: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["kind"], "SecretProviderClass");
    assert_eq!(
        list["items"][1]["spec"]["template"]["spec"]["volumes"][0]["name"],
        "secrets-web-secrets"
    );

    assert!(m.get("spc", "team", "web-secrets").is_none());
    assert_eq!(rv(&m.get("deployment", "team", "web").unwrap()), before);
}

#[test]
fn sealed_secrets_must_be_mount_only_and_have_the_keys() {
    let m = MountEnv::start();
    m.sealed_secret("team", "db", &["password", "user"], true);
    m.sealed_secret("team", "plain", &["k"], false);
    let base = [
        "mount",
        "deployment/web",
        "-n",
        "team",
        "--spc",
        "db-files",
        "--mount-path",
        "/etc/db",
    ];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();
    fails(
        &m,
        &with(&["--sealed-secret", "plain"]),
        "is not annotated kubectl-secrets.io/mount-only: \"true\"",
    );
    fails(
        &m,
        &with(&["--sealed-secret", "db", "--property", "pin"]),
        "sealedsecret db has no key \"pin\" (its keys: password, user)",
    );
    fails(
        &m,
        &with(&["--sealed-secret", "gone"]),
        "sealedsecret team/gone not found",
    );
    assert!(m.get("spc", "team", "db-files").is_none());

    ok(
        &m,
        &with(&[
            "--sealed-secret",
            "db",
            "--property",
            "password",
            "--container",
            "app",
        ]),
    );
    let spc = m.get("spc", "team", "db-files").unwrap();
    let spec = spec_of(&spc);
    assert!(spec.store.is_none());
    assert_eq!(
        spec.objects,
        [MountObject {
            path: "password".into(),
            source: ObjectSource::SealedSecret {
                name: "db".into(),
                key: "password".into()
            },
            mode: 0o644
        }]
    );
    let web = m.get("deployment", "team", "web").unwrap();
    assert_eq!(
        pod(&web)["containers"][0]["volumeMounts"][1]["mountPath"],
        "/etc/db"
    );
    assert!(
        pod(&web)["containers"][1].get("volumeMounts").is_none(),
        "only --container app"
    );

    // A second class in the same workload keeps the first; removing one keeps the other.
    ok(
        &m,
        &[
            "mount",
            "deployment/web",
            "-n",
            "team",
            "--store",
            "vault",
            "--key",
            "app/db",
        ],
    );
    let both = m.get("deployment", "team", "web").unwrap();
    assert_eq!(pod(&both)["volumes"].as_array().unwrap().len(), 3);
    ok(
        &m,
        &[
            "mount",
            "deployment/web",
            "-n",
            "team",
            "--remove",
            "--spc",
            "db-files",
        ],
    );
    let left = m.get("deployment", "team", "web").unwrap();
    let names: Vec<&str> = pod(&left)["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data", "secrets-web-secrets"]);
    assert_eq!(
        pod(&left)["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(m.get("spc", "team", "db-files").is_none());
    assert!(m.get("spc", "team", "web-secrets").is_some());
}

#[test]
fn bad_paths_duplicates_and_foreign_volumes_are_refused_before_any_write() {
    let m = MountEnv::start();
    let web = [
        "mount",
        "deployment/web",
        "-n",
        "team",
        "--store",
        "vault",
        "--key",
        "app/db",
    ];
    let with = |extra: &[&'static str]| [&web[..], extra].concat();
    fails(
        &m,
        &with(&["--property", "password", "--file", "../up"]),
        "parameters.objects[0] (../up): path has a . or .. component",
    );
    fails(
        &m,
        &with(&[
            "--property",
            "password",
            "--file",
            "x",
            "--property",
            "user",
            "--file",
            "x",
        ]),
        "path is used by an earlier object",
    );
    fails(
        &m,
        &with(&["--property", "password", "--file", "..data"]),
        "atomic writer",
    );
    fails(
        &m,
        &with(&["--mount-path", "/data"]),
        "container app of deployment/web already mounts volume data at /data",
    );
    fails(
        &m,
        &with(&["--container", "nope"]),
        "has no container \"nope\" (its containers: app, sidecar)",
    );
    fails(
        &m,
        &with(&["--mount-path", "relative"]),
        "not a clean absolute directory",
    );
    fails(
        &m,
        &[
            "mount",
            "deployment/nope",
            "-n",
            "team",
            "--store",
            "vault",
            "--key",
            "k",
        ],
        "deployment/nope not found in namespace team",
    );
    fails(
        &m,
        &[
            "mount", "pod/web", "-n", "team", "--store", "vault", "--key", "k",
        ],
        "is not a kind with pods",
    );
    fails(
        &m,
        &[
            "mount",
            "deployment/web",
            "-n",
            "team",
            "--store",
            "nope",
            "--key",
            "k",
        ],
        "SecretStore \"nope\" not found",
    );
    fails(
        &m,
        &["mount", "deployment/web", "-n", "team", "--property", "p"],
        "must follow a --key or --sealed-secret",
    );
    assert!(m.get("spc", "team", "web-secrets").is_none());

    // A volume of that name that is not ours.
    m.apply_as(
        "gitops",
        "team",
        deployment(
            "api",
            &["api"],
            json!({"volumes": [{"name": "secrets-api-secrets", "secret": {"secretName": "api"}}]}),
        ),
    );
    fails(
        &m,
        &[
            "mount",
            "deployment/api",
            "-n",
            "team",
            "--store",
            "vault",
            "--key",
            "app/db",
        ],
        "already has a volume named secrets-api-secrets that is not kubectl-secrets' mount",
    );
    // A SecretProviderClass of that name that is not ours.
    m.create("team", json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": {"name": "theirs"}, "spec": {"provider": "vault", "parameters": {"roleName": "x"}}}));
    fails(
        &m,
        &with(&["--spc", "theirs"]),
        "secretproviderclass team/theirs exists and was not written by kubectl-secrets",
    );
    assert_eq!(
        m.get("spc", "team", "theirs").unwrap()["spec"]["provider"],
        "vault"
    );
    let web = m.get("deployment", "team", "web").unwrap();
    assert_eq!(
        pod(&web)["volumes"].as_array().unwrap().len(),
        1,
        "nothing written"
    );
}

#[test]
fn statefulsets_and_daemonsets_mount_too() {
    let m = MountEnv::start();
    for (kind, short) in [("StatefulSet", "sts"), ("DaemonSet", "ds")] {
        let mut body = deployment("node", &["agent"], json!({}));
        body["kind"] = json!(kind);
        m.apply_as("gitops", "team", body);
        ok(
            &m,
            &[
                "mount",
                &format!("{short}/node"),
                "-n",
                "team",
                "--store",
                "vault",
                "--key",
                "app/config",
            ],
        );
        let object = m.get(&kind.to_lowercase(), "team", "node").unwrap();
        assert_eq!(
            pod(&object)["containers"][0]["volumeMounts"][0]["mountPath"],
            "/mnt/secrets/node-secrets"
        );
        ok(
            &m,
            &["mount", &format!("{short}/node"), "-n", "team", "--remove"],
        );
        let object = m.get(&kind.to_lowercase(), "team", "node").unwrap();
        assert!(pod(&object).get("volumes").is_none(), "{object}");
    }
}

#[test]
fn mount_status_joins_classes_workloads_and_pod_records() {
    let m = MountEnv::start();
    ok(&m, &MOUNT_WEB);
    m.env.cluster.create_service_accounts("ops", &[]);
    m.env.token_store("ops", "vault", m.env.bao.addr());
    m.apply_as("gitops", "ops", deployment("batch", &["job"], json!({})));
    ok(
        &m,
        &[
            "mount",
            "deployment/batch",
            "-n",
            "ops",
            "--store",
            "vault",
            "--key",
            "app/config",
            "--spc",
            "batch",
        ],
    );
    m.create("team", json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClassPodStatus",
        "metadata": {"name": "web-abc-team-web-secrets", "labels": {"internal.secrets-store.csi.k8s.io/node-name": "n1"}},
        "status": {"podName": "web-abc", "secretProviderClassName": "web-secrets", "mounted": true,
                   "targetPath": "/var/lib/kubelet/pods/x/volumes/kubernetes.io~csi/secrets-web-secrets/mount",
                   "objects": [{"id": "db-password", "version": "1"}, {"id": "user", "version": "1"}, {"id": "config", "version": "3"}]}}));
    m.create("team", json!({"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": {"name": "theirs"}, "spec": {"provider": "vault", "parameters": {"roleName": "x"}}}));

    let (table, _) = ok(&m, &["mount", "status", "-n", "team"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    let header: Vec<&str> = lines[0]
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        ["NAME", "STORE", "FILES", "WORKLOADS", "PODS MOUNTED"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(row, ["web-secrets", "vault", "3", "deployment/web", "1/1"]);

    let (all, _) = ok(&m, &["mount", "status", "-A"]);
    assert!(all.starts_with("NAMESPACE"), "{all}");
    let rows: Vec<Vec<&str>> = all
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["ops", "batch", "vault", "1", "deployment/batch", "-"],
            vec!["team", "web-secrets", "vault", "3", "deployment/web", "1/1"]
        ]
    );

    let (json_text, _) = ok(&m, &["mount", "status", "-n", "team", "-o", "json"]);
    let parsed: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(
        parsed,
        json!([{"namespace": "team", "name": "web-secrets", "store": "vault", "storeKind": "SecretStore",
                "files": 3, "workloads": ["deployment/web"],
                "pods": [{"pod": "web-abc", "mounted": true, "objects": 3}]}])
    );
}

#[test]
fn without_a_terminal_mount_alone_names_the_flags() {
    let m = MountEnv::start();
    fails(
        &m,
        &["mount", "-n", "team"],
        "`mount` alone is a wizard for a person at a terminal: pass `mount KIND/NAME --store",
    );
    fails(
        &m,
        &["mount", "-n", "team", "--store", "vault"],
        "name the workload",
    );
}

#[test]
fn a_cluster_store_and_an_audience_are_written_as_parameters() {
    let m = MountEnv::start();
    m.env.create(
        "",
        json!({"apiVersion": "kubectl-secrets.io/v1alpha1", "kind": "ClusterSecretStore",
               "metadata": {"name": "shared"},
               "spec": {"provider": {"vault": {"server": m.env.bao.addr(), "path": "secret",
                        "auth": {"kubernetes": {"role": "web"}}}}}}),
    );
    fails(
        &m,
        &[
            "mount",
            "deployment/web",
            "-n",
            "team",
            "--store",
            "shared",
            "--key",
            "app/db",
        ],
        "SecretStore \"shared\" not found in namespace team",
    );
    ok(
        &m,
        &[
            "mount",
            "deployment/web",
            "-n",
            "team",
            "--store",
            "shared",
            "--store-kind",
            "ClusterSecretStore",
            "--audience",
            "vault",
            "--key",
            "app/db",
            "--property",
            "password",
        ],
    );
    let spc = m.get("spc", "team", "web-secrets").unwrap();
    assert_eq!(
        spc["spec"]["parameters"]["storeKind"], "ClusterSecretStore",
        "{spc}"
    );
    let spec = spec_of(&spc);
    assert_eq!(
        spec.store,
        Some(StoreRef {
            name: "shared".into(),
            kind: StoreKind::ClusterSecretStore
        })
    );
    assert_eq!(spec.audience.as_deref(), Some("vault"));
    let (table, _) = ok(&m, &["mount", "status", "-n", "team"]);
    assert!(table.contains("ClusterSecretStore/shared"), "{table}");
}

#[test]
fn keys_are_checked_against_each_cloud_store_type_before_anything_is_applied() {
    let m = MountEnv::start();
    let key = |k: &str| json!({"name": "cloud-creds", "key": k});
    for (name, provider) in [
        (
            "aws",
            json!({"aws": {"service": "SecretsManager", "region": "eu-west-1",
                   "auth": {"secretRef": {"accessKeyIDSecretRef": key("id"),
                                          "secretAccessKeySecretRef": key("secret")}}}}),
        ),
        (
            "azure",
            json!({"azurekv": {"vaultUrl": "https://team.vault.azure.net", "tenantId": "tid",
                   "authSecretRef": {"clientId": key("id"), "clientSecret": key("secret")}}}),
        ),
        (
            "gcp",
            json!({"gcpsm": {"projectID": "team-project",
                   "auth": {"secretRef": {"secretAccessKeySecretRef": key("secret")}}}}),
        ),
    ] {
        common::clouds::store(&m.env, name, provider);
    }
    let before = rv(&m.get("deployment", "team", "web").unwrap());
    let mount = |store: &'static str, key: &'static str| {
        vec![
            "mount",
            "deployment/web",
            "-n",
            "team",
            "--store",
            store,
            "--key",
            "good",
            "--property",
            "a",
            "--key",
            key,
            "--property",
            "password",
        ]
    };
    fails(
        &m,
        &mount("aws", "prod db"),
        "--key \"prod db\": SecretStore team/aws (aws store): key \"prod db\": an AWS secret \
         name is up to 512 of",
    );
    fails(
        &m,
        &mount("azure", "secrets/db"),
        "--key \"secrets/db\": SecretStore team/azure (azurekv store): key \"secrets/db\": \
         \"secrets\" is not an Azure Key Vault object type",
    );
    fails(
        &m,
        &mount("gcp", "app/db"),
        "--key \"app/db\": SecretStore team/gcp (gcpsm store): key \"app/db\": a GCP secret \
         name is up to 255 of",
    );
    assert!(m.get("spc", "team", "web-secrets").is_none());
    assert_eq!(rv(&m.get("deployment", "team", "web").unwrap()), before);

    // The Azure form, typed well, is applied as given.
    ok(&m, &mount("azure", "secret/db-password"));
    let spec = spec_of(&m.get("spc", "team", "web-secrets").unwrap());
    assert_eq!(
        spec.objects[1],
        remote("password", "secret/db-password", Some("password"), 0o644)
    );
}
