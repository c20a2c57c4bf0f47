//! `cargo xtask bench`'s doctor timing (ignored here; run with `--ignored`): the built binary's
//! wall time for `doctor` on a stand-in cluster holding 5,000 RBAC objects, and for
//! `doctor --no-cluster --git` on a 10,000-file checkout (working tree, and with `--history`
//! over a second commit that changed 1,000 manifests). Medians of alternating runs; prints one
//! `BENCH_DOCTOR {json}` line for xtask's table. The stand-in shares the two cores.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "benchmark: a broken setup should stop loudly"
)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

const RUNS: usize = 11;
const NAMESPACES: usize = 500;
const CLUSTER_ROLES: usize = 2_000;
const FILES: usize = 10_000;

fn median_ms(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
    )
}

fn time(command: &mut Command) -> (Duration, usize) {
    let start = Instant::now();
    let out = command.output().unwrap();
    let elapsed = start.elapsed();
    // 0 and 1 are both answers (1: something failed the threshold); 2 is an error.
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (elapsed, report["findings"].as_array().unwrap().len())
}

/// 5,000 RBAC objects: per namespace a Role and a RoleBinding, plus cluster roles (every tenth
/// reads Secrets, every fiftieth aggregates) and one ClusterRoleBinding each, two subjects.
fn load_rbac(cluster: &test_support::Cluster) -> usize {
    let store = cluster.standin().store();
    let rbac = |plural: &str| {
        store
            .def("rbac.authorization.k8s.io", "v1", plural)
            .unwrap()
    };
    let (roles, bindings) = (rbac("roles"), rbac("rolebindings"));
    let (cluster_roles, cluster_bindings) = (rbac("clusterroles"), rbac("clusterrolebindings"));
    let namespaces = store.def("", "v1", "namespaces").unwrap();
    let mut count = 0;
    for n in 0..NAMESPACES {
        let ns = format!("team-{n}");
        store
            .create(&namespaces, None, json!({"metadata": {"name": ns}}))
            .unwrap();
        let rule = json!({"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list"]});
        store
            .create(
                &roles,
                Some(&ns),
                json!({"metadata": {"name": "app"}, "rules": [rule]}),
            )
            .unwrap();
        store
            .create(
                &bindings,
                Some(&ns),
                json!({
                    "metadata": {"name": "app"},
                    "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"}
                }),
            )
            .unwrap();
        count += 2;
    }
    for n in 0..CLUSTER_ROLES {
        let resources = if n % 10 == 0 {
            json!(["secrets"])
        } else {
            json!(["pods", "services"])
        };
        let mut role = json!({
            "metadata": {"name": format!("role-{n}"), "labels": {"bench/aggregate": "yes"}},
            "rules": [{"apiGroups": [""], "resources": resources, "verbs": ["get", "list", "watch"]}]
        });
        if n % 50 == 0 {
            role["aggregationRule"] =
                json!({"clusterRoleSelectors": [{"matchLabels": {"bench/aggregate": "yes"}}]});
            role["metadata"]["labels"] = json!({});
        }
        store.create(&cluster_roles, None, role).unwrap();
        store
            .create(
                &cluster_bindings,
                None,
                json!({
                    "metadata": {"name": format!("binding-{n}")},
                    "subjects": [
                        {"kind": "User", "name": format!("user-{n}"), "apiGroup": "rbac.authorization.k8s.io"},
                        {"kind": "ServiceAccount", "name": "ci", "namespace": format!("team-{}", n % NAMESPACES)}
                    ],
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("role-{n}")}
                }),
            )
            .unwrap();
        count += 2;
    }
    count
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=b", "-c", "user.email=b@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

fn manifest(i: usize, round: usize) -> String {
    match i % 15 {
        0 => format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\n  namespace: team-{}\nstringData:\n  password: bench-value-{i}-{round}\n",
            i % 50
        ),
        1..=4 => format!(
            "apiVersion: kubectl-secrets.io/v1\nkind: SealedSecret\nmetadata:\n  name: s{i}\n  namespace: team\nspec:\n  encryptedData:\n    password: AgB{}\n",
            "x".repeat(680)
        ),
        _ => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: team\nspec:\n  replicas: {round}\n  template:\n    spec:\n      containers:\n        - name: app\n          image: example/app:{i}\n          env:\n            - name: MODE\n              value: fast\n"
        ),
    }
}

/// A checkout of `FILES` files: 1,500 YAML manifests, the rest source and docs; a second
/// commit changes 1,000 manifests, so history holds 1,000 more blobs.
fn checkout(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    for i in 0..FILES {
        let (path, text) = if i < 1_500 {
            (format!("deploy/app-{}/m{i}.yaml", i / 100), manifest(i, 1))
        } else if i < 9_000 {
            (
                format!("src/mod{}/f{i}.rs", i / 200),
                format!("pub fn f{i}() -> u32 {{ {i} }}\n"),
            )
        } else {
            (
                format!("docs/p{i}.md"),
                format!("# page {i}\n\nSome text about kind: Deployment.\n"),
            )
        };
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "one"]);
    for i in 0..1_000 {
        let path = dir.join(format!("deploy/app-{}/m{i}.yaml", i / 100));
        std::fs::write(path, manifest(i, 2)).unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "two"]);
}

#[test]
#[ignore = "benchmark: run by cargo xtask bench"]
fn bench_doctor() {
    let cluster = test_support::Cluster::start();
    let objects = load_rbac(&cluster);
    let dir = tempfile::tempdir().unwrap();
    checkout(dir.path());
    let root = s(dir.path());
    let kubeconfig = s(cluster.kubeconfig());

    let mut on_cluster = Command::new(BIN);
    on_cluster
        .args(["doctor", "-o", "json"])
        .env("KUBECONFIG", kubeconfig)
        .env("XDG_CACHE_HOME", dir.path().join(".cache"));
    let mut tree = Command::new(BIN);
    tree.args(["doctor", "--no-cluster", "--git", root, "-o", "json"]);
    let mut history = Command::new(BIN);
    history.args([
        "doctor",
        "--no-cluster",
        "--git",
        root,
        "--history",
        "-o",
        "json",
    ]);

    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let (mut found_a, mut found_b, mut found_c) = (0, 0, 0);
    for _ in 0..RUNS {
        let (t, n) = time(&mut on_cluster);
        a.push(t);
        found_a = n;
        let (t, n) = time(&mut tree);
        b.push(t);
        found_b = n;
        let (t, n) = time(&mut history);
        c.push(t);
        found_c = n;
    }
    let ((a50, amin, amax), (b50, bmin, bmax), (c50, cmin, cmax)) =
        (median_ms(&mut a), median_ms(&mut b), median_ms(&mut c));
    let line = json!({
        "runs": RUNS,
        "rbac": {"objects": objects, "p50_ms": a50, "min_ms": amin, "max_ms": amax, "findings": found_a},
        "tree": {"files": FILES, "p50_ms": b50, "min_ms": bmin, "max_ms": bmax, "findings": found_b},
        "history": {"files": FILES, "extra_blobs": 1000, "p50_ms": c50, "min_ms": cmin, "max_ms": cmax, "findings": found_c},
    });
    println!("BENCH_DOCTOR {line}");
    assert!(found_a > 0 && found_b > 0 && found_c > found_b, "{line}");
}
