//! `kubectl secrets doctor`, end to end through the built binary: against kube-standin with
//! RBAC objects, sealing-key and token Secrets and `kube-apiserver` mirror pods applied by the
//! real kubectl (and the fake agent behind the service proxy); and offline over a real Git
//! repository made here, with a Secret in an old commit. Exit codes, the JSON shape, SARIF
//! validity, the suppression file, and `--fix` round trips.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fake_agent::FakeAgent;
use common::*;
use secrets_core::seal::keys::{KeyEntry, KeyList, KeyOrigin, SecretRef, parse_private_keys};
use serde_json::Value;

/// Values planted in the fixtures: none may appear in any output, in any encoding.
const VALUES: [&str; 3] = [
    "hunter2-old-value",
    "s3cret-current-value",
    "k8s-cluster-value",
];

fn encodings(value: &str) -> Vec<String> {
    use base64::Engine as _;
    vec![
        value.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(value),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value),
        value.bytes().map(|b| format!("{b:02x}")).collect(),
    ]
}

fn assert_no_values(out: &Output) {
    let all = format!("{}{}", stdout(out), stderr(out));
    for value in VALUES {
        for form in encodings(value) {
            assert!(!all.contains(&form), "{form:?} ({value}) leaked:\n{all}");
        }
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn findings<'v>(report: &'v Value, id: &str) -> Vec<&'v Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == id)
        .collect()
}

fn one<'v>(report: &'v Value, id: &str, name: &str) -> &'v Value {
    let found: Vec<_> = findings(report, id)
        .into_iter()
        .filter(|f| f["subject"]["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "{id} {name} in {report:#}");
    found[0]
}

const CLUSTER_OBJECTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: alice-reads}
subjects:
  - {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: ClusterRole, name: secret-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: every-sa, namespace: app}
subjects:
  - {kind: Group, name: "system:serviceaccounts:app", apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: ClusterRole, name: secret-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: mallory-keys, namespace: kubectl-secrets}
subjects:
  - {kind: User, name: mallory, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: ClusterRole, name: secret-reader, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: v1
kind: Secret
metadata:
  name: sealing-key-test
  namespace: kubectl-secrets
  labels: {kubectl-secrets.io/sealing-key: active}
stringData: {tls.key: "k8s-cluster-value"}
---
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-cp1
  namespace: kube-system
  labels: {component: kube-apiserver, tier: control-plane}
spec:
  containers:
    - name: kube-apiserver
      image: registry.k8s.io/kube-apiserver:v1.35.0
      command: ["kube-apiserver", "--encryption-provider-config=/etc/kubernetes/enc.yaml"]
---
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-cp2
  namespace: kube-system
  labels: {component: kube-apiserver, tier: control-plane}
spec:
  containers:
    - name: kube-apiserver
      image: registry.k8s.io/kube-apiserver:v1.35.0
      command: ["kube-apiserver", "--secure-port=6443"]
"#;

struct Online {
    cluster: test_support::Cluster,
    _agent: FakeAgent,
    dir: tempfile::TempDir,
}

impl Online {
    fn new() -> Online {
        let cluster = test_support::Cluster::start();
        let older = parse_private_keys(&std::fs::read(&keys().key).unwrap()).unwrap();
        let agent = FakeAgent::start(older);
        agent.register(&cluster);
        cluster.apply(CLUSTER_OBJECTS);
        let now = time::OffsetDateTime::now_utc();
        let stamp = |t: time::OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        };
        agent.behaviour.lock().unwrap().key_list = Some(KeyList {
            keys: vec![KeyEntry {
                fingerprint: "SHA256:test".to_owned(),
                created: stamp(now - time::Duration::days(3)),
                not_before: stamp(now - time::Duration::days(3)),
                not_after: stamp(now + time::Duration::days(3650)),
                newest: true,
                secret: SecretRef {
                    namespace: "kubectl-secrets".to_owned(),
                    name: "sealing-key-test".to_owned(),
                },
                origin: KeyOrigin::Ours,
            }],
        });
        let renewed = now.replace_nanosecond(0).unwrap();
        cluster.apply(&format!(
            "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: secrets-agent-leader, namespace: kubectl-secrets}}\nspec: {{holderIdentity: agent-0, leaseDurationSeconds: 3600, renewTime: \"{}\"}}\n",
            stamp(renewed).replace('Z', ".000000Z")
        ));
        Online {
            cluster,
            _agent: agent,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let cache = self.dir.path().join("cache");
        let mut all = vec!["doctor"];
        all.extend_from_slice(args);
        let out = run_env(
            &all,
            None,
            &[
                ("KUBECONFIG", s(self.cluster.kubeconfig())),
                ("XDG_CACHE_HOME", s(&cache)),
            ],
        );
        assert_no_values(&out);
        out
    }
}

#[test]
fn doctor_on_a_cluster_reports_readers_key_readers_and_a_missing_encryption_flag() {
    let env = Online::new();
    let out = env.run(&["-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);

    let alice = one(&report, "RBAC011", "alice");
    assert_eq!(alice["severity"], "high");
    assert_eq!(alice["status"], "fail");
    assert_eq!(alice["scope"], "cluster");
    let via: Vec<&str> = alice["via"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        via.contains(&"ClusterRoleBinding/alice-reads → ClusterRole/secret-reader (rule 1)"),
        "{via:?}"
    );
    assert!(
        via.contains(&"confirmed by a SubjectAccessReview"),
        "{via:?}"
    );

    let broad = one(&report, "RBAC010", "system:serviceaccounts:app");
    assert_eq!(
        (broad["severity"].as_str(), broad["scope"].as_str()),
        (Some("critical"), Some("app"))
    );

    let mallory = one(&report, "RBAC013", "mallory");
    assert_eq!(mallory["severity"], "critical");
    assert!(
        mallory["message"]
            .as_str()
            .unwrap()
            .contains("kubectl-secrets/sealing-key-test")
    );
    assert!(
        findings(&report, "RBAC001").is_empty(),
        "everything was listable"
    );

    let mixed: Vec<_> = findings(&report, "ENC010");
    assert!(
        mixed
            .iter()
            .any(|f| f["status"] == "fail" && f["subject"]["name"] == "kube-apiserver-cp2"),
        "{mixed:#?}"
    );
    let agent = one(&report, "AGENT010", "secrets-agent");
    assert_eq!(agent["status"], "pass", "{agent:#}");
    let leader = one(&report, "AGENT011", "leader");
    assert_eq!(leader["status"], "pass", "{leader:#}");
    assert_eq!(
        one(&report, "AGENT021", "sealing-key-test")["status"],
        "pass"
    );

    // The summary counts unsuppressed fail and warn findings per severity.
    let critical = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical" && (f["status"] == "fail" || f["status"] == "warn"))
        .count();
    assert_eq!(report["summary"]["critical"], critical);
    assert!(critical >= 2);
}

#[test]
fn exit_codes_follow_fail_on_check_and_skip() {
    let env = Online::new();
    // Only alice's high finding is left: below critical, so 0.
    let out = env.run(&["--check", "RBAC011", "--fail-on", "critical", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] == "RBAC011")
    );
    let out = env.run(&["--check", "RBAC011"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("× RBAC011 User/alice [cluster] (high)"),
        "{text}"
    );
    assert!(
        text.contains("    fix: smallest change: delete ClusterRoleBinding/alice-reads"),
        "{text}"
    );
    // -n keeps that namespace's findings and the cluster-wide ones.
    let out = env.run(&[
        "-n", "app", "--check", "RBAC010", "--check", "RBAC013", "-o", "json",
    ]);
    let report = json(&out);
    assert!(!findings(&report, "RBAC010").is_empty());
    assert!(
        findings(&report, "RBAC013").is_empty(),
        "kubectl-secrets is not app"
    );
    let out = env.run(&["--check", "RBAC11"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown check id \"RBAC11\""),
        "{}",
        stderr(&out)
    );
}

/// A Git repository with a plaintext Secret in an old commit (since removed) and one in the
/// working tree.
struct Repo {
    dir: tempfile::TempDir,
}

const OLD_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: old\n  namespace: app\nstringData:\n  password: hunter2-old-value\n";
const APP: &str = "# the app's config and its password\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: app\ndata:\n  mode: fast\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\nstringData:\n  password: s3cret-current-value\n";

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.write("old/secret.yaml", OLD_SECRET);
        repo.commit("add the old secret");
        std::fs::remove_file(repo.path("old/secret.yaml")).unwrap();
        repo.write("deploy/app.yaml", APP);
        repo.commit("the app");
        repo
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn root(&self) -> &str {
        s(self.dir.path())
    }

    fn write(&self, name: &str, text: &str) {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
        stdout(&out).trim().to_owned()
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn doctor(&self, args: &[&str]) -> Output {
        let mut all = vec!["doctor", "--no-cluster", "--git", self.root()];
        all.extend_from_slice(args);
        let out = run(&all, None);
        assert_no_values(&out);
        out
    }
}

#[test]
fn git_checkout_and_history_are_audited_offline() {
    let repo = Repo::new();
    let first = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
    // A generator reading a file of any name: the plugin reads it for the check.
    repo.write(
        "base/kustomization.yaml",
        "secretGenerator:\n  - name: db\n    files:\n      - db-password.txt\n",
    );
    repo.write("base/db-password.txt", "k8s-cluster-value\n");
    let out = repo.doctor(&["--history", "-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);
    let current = one(&report, "GIT010", "deploy/app.yaml");
    assert_eq!(current["category"], "git");
    assert_eq!(current["location"]["path"], "deploy/app.yaml");
    assert!(
        current["location"]["line"].as_u64().unwrap() >= 10,
        "{current:#}"
    );
    let generator = findings(&report, "GIT011");
    assert!(
        generator
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("db-password.txt")),
        "{generator:#?}"
    );
    let old = one(&report, "GIT020", "old/secret.yaml");
    assert_eq!(old["location"]["commit"], first.as_str());
    assert!(old["hint"].as_str().unwrap().contains("rotate"), "{old:#}");
    // Without --history, the old commit is not read.
    let report = json(&repo.doctor(&["-o", "json"]));
    assert!(findings(&report, "GIT020").is_empty());
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let repo = Repo::new();
    let out = repo.doctor(&["--history", "-o", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let log = json(&out);
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "GIT020"), "{log:#}");
    let validator =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/audit/validate_sarif.py");
    test_support::run_python(&validator, &[], &[], &log, "validating doctor's SARIF");
}

#[test]
fn the_suppression_file_hides_reasoned_entries_and_reports_unreasoned_ones() {
    let repo = Repo::new();
    repo.write(
        ".kubectl-secrets-doctor.yaml",
        "suppressions:\n  - id: GIT010\n    pathGlob: \"deploy/**\"\n    reason: a test fixture, not a real password\n  - id: RBAC011\n    subject: {kind: User, name: bob}\n",
    );
    let out = repo.doctor(&["-o", "json"]);
    let report = json(&out);
    let hidden = one(&report, "GIT010", "deploy/app.yaml");
    assert_eq!(hidden["suppressed"], true);
    assert!(!findings(&report, "DOC001").is_empty(), "{report:#}");
    assert_eq!(report["summary"]["high"], 0, "{report:#}");
}

#[test]
fn fix_seals_plaintext_secrets_in_place_and_they_open_into_the_original() {
    let repo = Repo::new();
    repo.write("deploy/nons.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: nons\nstringData:\n  token: k8s-cluster-value\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            repo.path("deploy/app.yaml"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
    }
    let out = repo.doctor(&["--fix", "--cert", s(&keys().cert), "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("deploy/nons.yaml: document 1: Secret nons left as it is"),
        "{err}"
    );
    assert!(err.contains("rotate"), "{err}");
    let fixed = std::fs::read_to_string(repo.path("deploy/app.yaml")).unwrap();
    let config_map = APP.split("---\n").next().unwrap();
    assert!(
        fixed.starts_with(config_map),
        "other documents untouched:\n{fixed}"
    );
    assert!(fixed.contains("kind: SealedSecret"), "{fixed}");
    let data = unseal_data(fixed.split("---\n").nth(1).unwrap());
    assert_eq!(data["password"], b"s3cret-current-value");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(repo.path("deploy/app.yaml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }
    // After the fix, only the Secret without a namespace is left in the working tree.
    let report = json(&repo.doctor(&["-o", "json", "--check", "GIT010"]));
    let left: Vec<_> = findings(&report, "GIT010");
    assert_eq!(left.len(), 1, "{report:#}");
    assert_eq!(left[0]["subject"]["name"], "deploy/nons.yaml");
}

#[test]
fn what_cannot_be_read_is_incomplete_and_runtime_evidence_and_reviews_are_used() {
    let env = Online::new();
    let control = env.cluster.standin().control();
    for resource in ["clusterrolebindings", "pods"] {
        control.inject(kube_standin::Fault {
            resource: Some(resource.to_owned()),
            verb: Some("list".to_owned()),
            status: Some(403),
            ..Default::default()
        });
    }
    control.set_health_checks(vec![kube_standin::HealthCheck {
        name: "kms-provider-0".to_owned(),
        ok: false,
    }]);
    control.set_authz(kube_standin::AuthzTable {
        rules: vec![kube_standin::AuthzRule {
            user: Some("mallory".to_owned()),
            verb: "*".to_owned(),
            resource: "secrets".to_owned(),
            allowed: false,
            ..Default::default()
        }],
        default_allowed: true,
    });
    let out = env.run(&["-o", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = json(&out);

    let rbac = one(&report, "RBAC001", "rbac");
    assert_eq!(rbac["status"], "incomplete");
    assert!(
        rbac["message"]
            .as_str()
            .unwrap()
            .contains("list clusterrolebindings: 403"),
        "{rbac:#}"
    );
    // alice's binding could not be seen, so she is not reported; nothing says "pass" for her.
    assert!(
        findings(&report, "RBAC011")
            .iter()
            .all(|f| f["subject"]["name"] != "alice")
    );
    assert!(
        report["summary"]["incomplete"].as_u64().unwrap() >= 2,
        "{report:#}"
    );

    let enc010: Vec<_> = findings(&report, "ENC010");
    assert!(enc010.iter().all(|f| f["status"] != "pass"), "{enc010:#?}");
    assert!(
        enc010.iter().any(|f| f["status"] == "incomplete"),
        "{enc010:#?}"
    );
    let kms = findings(&report, "ENC030");
    assert!(
        kms.iter()
            .any(|f| f["status"] == "fail" && f["severity"] == "high"),
        "a failing KMS check is evidence: {kms:#?}"
    );

    let mallory = one(&report, "RBAC013", "mallory");
    let via = mallory["via"].to_string();
    assert!(!via.contains("confirmed"), "{via}");
    let mallory12 = one(&report, "RBAC012", "mallory");
    assert!(
        mallory12["via"]
            .to_string()
            .contains("a SubjectAccessReview says no"),
        "{mallory12:#}"
    );
}

#[test]
fn fix_at_a_terminal_shows_the_plan_and_writes_only_when_the_person_agrees() {
    let repo = Repo::new();
    let session = |answer: &str| {
        let mut command = Command::new(BIN);
        command
            .args([
                "doctor",
                "--no-cluster",
                "--git",
                repo.root(),
                "--fix",
                "--cert",
            ])
            .arg(&keys().cert)
            .env("KUBECONFIG", "/nonexistent/kubeconfig");
        let mut p = pty(command);
        let mut screen = Screen(String::new());
        screen.expect(
            &mut p,
            // rexpect reads bytes as Latin-1: expect the ASCII part.
            "SealedSecret (keys password; values masked)",
        );
        screen.answer(&mut p, "Rewrite 1 file(s) as shown?", answer);
        screen.0.push_str(&p.exp_eof().unwrap());
        for value in VALUES {
            assert!(!screen.0.contains(value), "{value} shown:\n{}", screen.0);
        }
        screen.0
    };
    let said = session("n");
    assert!(said.contains("nothing written"), "{said}");
    assert_eq!(
        std::fs::read_to_string(repo.path("deploy/app.yaml")).unwrap(),
        APP
    );
    let said = session("y");
    assert!(said.contains("rewrote deploy/app.yaml"), "{said}");
    let fixed = std::fs::read_to_string(repo.path("deploy/app.yaml")).unwrap();
    assert!(
        fixed.contains("kind: SealedSecret") && !fixed.contains("s3cret"),
        "{fixed}"
    );
    // Without a terminal and without --yes, --fix refuses rather than guess.
    repo.write("deploy/app.yaml", APP);
    let out = repo.doctor(&["--fix", "--cert", s(&keys().cert)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pass --yes"), "{}", stderr(&out));
}
