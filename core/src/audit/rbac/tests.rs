//! The RBAC checks from YAML fixtures (`core/tests/fixtures/audit/rbac/`), one per trap of the
//! reference's §1: each asserts the finding that must appear and the ones that must not.

use super::*;
use crate::audit::{Report, Severity, Status};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/audit/rbac/", $name))
    };
}

fn run_with(yaml: &str, config: &AuditConfig) -> Vec<Finding> {
    let objects = RbacObjects::from_yaml(yaml).unwrap();
    Report::new(audit(&objects, config)).findings
}

fn run(yaml: &str) -> Vec<Finding> {
    run_with(yaml, &AuditConfig::default())
}

/// The findings about `name` (subject name) with `id` in `scope` (`cluster` or a namespace).
fn about<'f>(findings: &'f [Finding], id: &str, name: &str, scope: &str) -> Vec<&'f Finding> {
    findings
        .iter()
        .filter(|f| f.id == id && f.subject.name == name && f.scope.to_string() == scope)
        .collect()
}

fn one<'f>(findings: &'f [Finding], id: &str, name: &str, scope: &str) -> &'f Finding {
    let found = about(findings, id, name, scope);
    assert_eq!(found.len(), 1, "{id} {name} {scope} in {findings:#?}");
    found[0]
}

#[test]
fn list_only_and_watch_only_grants_are_cluster_wide_reads() {
    let findings = run(fixture!("list-watch.yaml"));
    let alice = one(&findings, "RBAC011", "alice", "cluster");
    assert_eq!(
        (alice.severity, alice.status),
        (Severity::High, Status::Fail)
    );
    assert!(
        alice.message.contains("list, watch every secret"),
        "{}",
        alice.message
    );
    // One finding per subject and scope: both bindings are named in via.
    assert_eq!(
        alice.via,
        [
            "ClusterRoleBinding/alice-lists → ClusterRole/secret-lister (rule 2)",
            "ClusterRoleBinding/team-watches → ClusterRole/secret-watcher (rule 1)",
        ]
    );
    assert!(
        alice.hint.contains("delete ClusterRoleBinding/alice-lists"),
        "{}",
        alice.hint
    );
    assert!(
        alice
            .hint
            .contains("remove User/alice from the subjects of ClusterRoleBinding/team-watches"),
        "{}",
        alice.hint
    );

    let team = one(&findings, "RBAC011", "team-a", "cluster");
    assert_eq!(
        (team.subject.kind.as_str(), team.severity),
        ("Group", Severity::High)
    );

    let bob = one(&findings, "RBAC011", "bob", "cluster");
    assert_eq!(bob.severity, Severity::Medium, "get only is medium");

    // "get,list,watch" is one verb nobody sends; secrets in apps is not the core group.
    assert!(
        findings.iter().all(|f| f.subject.name != "carl"),
        "{findings:#?}"
    );
}

#[test]
fn rolebinding_to_clusterrole_reads_only_in_its_namespace() {
    let findings = run(fixture!("rolebinding-clusterrole.yaml"));
    let carol = one(&findings, "RBAC012", "carol", "shop");
    assert_eq!(
        (carol.severity, carol.status),
        (Severity::Medium, Status::Fail)
    );
    assert_eq!(
        carol.via,
        ["RoleBinding/shop/carol-reads → ClusterRole/secret-reader (rule 1)"]
    );
    assert!(about(&findings, "RBAC011", "carol", "cluster").is_empty());
    assert_eq!(
        findings.len(),
        1,
        "the ConfigMap is not RBAC: {findings:#?}"
    );
}

#[test]
fn aggregated_roles_with_empty_rules_are_computed_from_labels() {
    let findings = run(fixture!("aggregation.yaml"));
    let dave = one(&findings, "RBAC011", "dave", "cluster");
    assert_eq!(dave.severity, Severity::High);
    assert_eq!(
        dave.via,
        [
            "ClusterRoleBinding/dave-secrets-admin → ClusterRole/secrets-admin → ClusterRole/source-a (rule 2)"
        ]
    );
    // source-b has the label but fails matchExpressions (tier b): its exec rule is not in.
    assert!(
        about(&findings, "RBAC020", "dave", "cluster").is_empty(),
        "{findings:#?}"
    );

    // Nested: platform ← secrets-admin-shim ← every tier=a role (source-a), within tools only.
    let erin = one(&findings, "RBAC012", "erin", "tools");
    assert_eq!(
        erin.via,
        [
            "RoleBinding/tools/erin-platform → ClusterRole/platform → ClusterRole/secrets-admin-shim → ClusterRole/source-a (rule 2)"
        ]
    );
}

#[test]
fn name_restricted_grants_are_reported_as_such() {
    let findings = run(fixture!("resource-names.yaml"));
    let web = one(&findings, "RBAC012", "web", "app");
    assert_eq!((web.severity, web.status), (Severity::Info, Status::Warn));
    assert_eq!(web.subject.namespace.as_deref(), Some("app"));
    assert!(
        web.message
            .contains("only the secrets named api-token, db-password"),
        "{}",
        web.message
    );
    // create can never be name-restricted, so the named pods rule grants no create.
    assert!(
        about(&findings, "RBAC020", "web", "app").is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn service_account_subjects_without_namespace() {
    let findings = run(fixture!("sa-without-namespace.yaml"));
    // RoleBinding: the binding's namespace.
    let builder = one(&findings, "RBAC012", "builder", "build");
    assert_eq!(builder.subject.kind, "ServiceAccount");
    assert_eq!(builder.subject.namespace.as_deref(), Some("build"));
    // ClusterRoleBinding: never matches, and is reported as such; its other subject still reads.
    assert!(
        findings
            .iter()
            .all(|f| f.id != "RBAC011" || f.subject.name != "ghost")
    );
    let dangling = one(&findings, "RBAC032", "ghost-reads", "cluster");
    assert_eq!(
        (dangling.severity, dangling.status),
        (Severity::Low, Status::Warn)
    );
    assert!(
        dangling.message.contains("ServiceAccount ghost"),
        "{}",
        dangling.message
    );
    let runner = one(&findings, "RBAC011", "runner", "cluster");
    assert_eq!(runner.subject.namespace.as_deref(), Some("ci"));
    assert!(
        runner
            .hint
            .contains("remove ServiceAccount/ci/runner from the subjects"),
        "{}",
        runner.hint
    );
}

#[test]
fn bindings_to_missing_roles_are_skipped_and_dangling() {
    let findings = run(fixture!("missing-role.yaml"));
    assert!(findings.iter().all(|f| f.id == "RBAC032"), "{findings:#?}");
    let rb = one(&findings, "RBAC032", "old-reader", "app");
    assert_eq!(rb.subject.kind, "RoleBinding");
    assert!(
        rb.message.contains("Role/app/deleted-role"),
        "{}",
        rb.message
    );
    let crb = one(&findings, "RBAC032", "old-admin", "cluster");
    assert!(
        crb.message.contains("ClusterRole/deleted-cluster-role"),
        "{}",
        crb.message
    );
    assert_eq!(
        crb.hint,
        "delete ClusterRoleBinding/old-admin if nothing needs it"
    );
}

#[test]
fn broad_groups_are_critical() {
    let findings = run(fixture!("broad-groups.yaml"));
    for name in [
        "system:authenticated",
        "system:unauthenticated",
        "system:anonymous",
        "system:serviceaccounts",
    ] {
        let f = one(&findings, "RBAC010", name, "cluster");
        assert_eq!(
            (f.severity, f.status),
            (Severity::Critical, Status::Fail),
            "{name}"
        );
        assert!(
            about(&findings, "RBAC011", name, "cluster").is_empty(),
            "{name} once only"
        );
    }
    let ci = one(&findings, "RBAC010", "system:serviceaccounts:ci", "ci");
    assert!(
        ci.message
            .starts_with("every service account of namespace ci can get"),
        "{}",
        ci.message
    );
    assert_eq!(Report::new(findings).exit_code(Severity::Critical), 1);
}

#[test]
fn wildcards_on_custom_roles_only() {
    let findings = run(fixture!("wildcards.yaml"));
    let ops = one(&findings, "RBAC030", "ops", "cluster");
    assert_eq!((ops.severity, ops.status), (Severity::Medium, Status::Warn));
    assert_eq!(ops.via, ["ClusterRole/ops (rule 2)"]);
    assert!(
        ops.message
            .contains("rule 2 has * in verbs, resources, apiGroups"),
        "{}",
        ops.message
    );
    let app = one(&findings, "RBAC030", "app-all", "app");
    assert!(app.message.contains("* in resources"), "{}", app.message);
    assert!(about(&findings, "RBAC030", "cluster-admin", "cluster").is_empty());
    // The wildcard also reads Secrets and reaches them indirectly.
    assert_eq!(
        one(&findings, "RBAC011", "ops", "cluster").severity,
        Severity::High
    );
    assert_eq!(
        one(&findings, "RBAC020", "ops", "cluster").severity,
        Severity::Critical
    );
}

#[test]
fn default_roles_bound_to_system_subjects_and_our_agent_are_info() {
    let config = AuditConfig {
        agent_namespace: Some("kubectl-secrets".to_owned()),
        agent_service_accounts: vec![ServiceAccountRef {
            namespace: "kubectl-secrets".to_owned(),
            name: "secrets-agent".to_owned(),
        }],
        ..AuditConfig::default()
    };
    let findings = run_with(fixture!("defaults.yaml"), &config);
    for (id, name) in [
        ("RBAC011", "system:masters"),
        ("RBAC020", "system:masters"),
        ("RBAC011", "system:kube-controller-manager"),
        ("RBAC011", "secrets-agent"),
    ] {
        let f = one(&findings, id, name, "cluster");
        assert_eq!(
            (f.severity, f.status),
            (Severity::Info, Status::Pass),
            "{id} {name}"
        );
        assert!(f.message.starts_with("expected ("), "{}", f.message);
    }
    // The same built-in role bound to an ordinary service account is a real reader.
    let deployer = one(&findings, "RBAC011", "deployer", "cluster");
    assert_eq!(
        (deployer.severity, deployer.status),
        (Severity::High, Status::Fail)
    );
    assert_eq!(
        deployer.hint.split(';').next(),
        Some("smallest change: delete ClusterRoleBinding/deployer-admin")
    );
    let report = Report::new(findings);
    assert_eq!(
        report.summary.info, 0,
        "expected readers are passes, not warnings"
    );
    assert_eq!(report.exit_code(Severity::High), 1);

    // Without the agent configured, its reads are not expected.
    let findings = run(fixture!("defaults.yaml"));
    assert_eq!(
        one(&findings, "RBAC011", "secrets-agent", "cluster").status,
        Status::Fail
    );
}

#[test]
fn indirect_paths_are_named_and_rated_by_namespace() {
    let config = AuditConfig {
        agent_namespace: Some("kubectl-secrets".to_owned()),
        ..AuditConfig::default()
    };
    let findings = run_with(fixture!("indirect.yaml"), &config);
    let frank = one(&findings, "RBAC020", "frank", "kube-system");
    assert_eq!(frank.severity, Severity::Critical);
    assert!(
        frank.message.contains("exec into or attach to pods"),
        "{}",
        frank.message
    );
    assert_eq!(
        frank.via,
        ["RoleBinding/kube-system/frank-debugs → Role/kube-system/debugger (rule 1)"]
    );

    let web = one(&findings, "RBAC020", "gina", "web");
    assert_eq!(web.severity, Severity::High);
    assert!(
        web.message.contains("create or change workloads"),
        "{}",
        web.message
    );
    assert!(
        web.message.contains("mint service account tokens"),
        "{}",
        web.message
    );
    // nodes are cluster-scoped: a RoleBinding's nodes/proxy rule reaches nothing.
    assert!(!web.message.contains("kubelets"), "{}", web.message);
    assert_eq!(
        one(&findings, "RBAC020", "gina", "kubectl-secrets").severity,
        Severity::Critical
    );

    let hank = one(&findings, "RBAC020", "hank", "cluster");
    for path in [
        "proxy to kubelets",
        "impersonate users",
        "admission webhooks",
        "bind or escalate",
    ] {
        assert!(hank.message.contains(path), "{path}: {}", hank.message);
    }
    let ivy = one(&findings, "RBAC020", "ivy", "cluster");
    assert!(
        ivy.message.contains("approve client certificates"),
        "{}",
        ivy.message
    );
    // Updating approvals without a signer to approve for is not a path.
    assert!(about(&findings, "RBAC020", "jack", "cluster").is_empty());
}

#[test]
fn output_does_not_depend_on_input_order() {
    let text = [
        fixture!("list-watch.yaml"),
        fixture!("defaults.yaml"),
        fixture!("indirect.yaml"),
    ]
    .join("\n---\n");
    let mut objects = RbacObjects::from_yaml(&text).unwrap();
    let config = AuditConfig::default();
    let first = Report::new(audit(&objects, &config));
    objects.cluster_roles.reverse();
    objects.cluster_role_bindings.reverse();
    objects.role_bindings.reverse();
    objects.roles.reverse();
    assert_eq!(Report::new(audit(&objects, &config)), first);
}

#[test]
fn parse_errors_name_the_document_and_object_without_values() {
    let text = "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: broken}\nrules: \"s3cr3t-value\"\n";
    let err = RbacObjects::from_yaml(text).unwrap_err();
    let RbacParseError::Object {
        document,
        ref kind,
        ref name,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (document, kind.as_str(), name.as_str()),
        (2, "Role", "broken")
    );
    assert!(!err.to_string().contains("s3cr3t"), "{err}");
    assert!(RbacObjects::from_yaml("a: [").is_err());
}

#[test]
fn service_account_user_names_are_service_accounts() {
    let text = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: r}
rules: [{apiGroups: [""], resources: [secrets], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects:
  - {kind: User, name: "system:serviceaccount:ci:runner"}
  - {kind: ServiceAccount, name: runner, namespace: ci}
  - {kind: Robot, name: r2}
"#;
    let findings = run(text);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].subject.kind, "ServiceAccount");
}

fn named_config() -> AuditConfig {
    let secret = |namespace: &str, name: &str| SecretRef {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    };
    AuditConfig {
        agent_namespace: Some("kubectl-secrets".to_owned()),
        agent_service_accounts: vec![ServiceAccountRef {
            namespace: "kubectl-secrets".to_owned(),
            name: "secrets-agent".to_owned(),
        }],
        sealing_keys: vec![
            secret("kubectl-secrets", "sealing-key-a"),
            secret("kubectl-secrets", "sealing-key-b"),
        ],
        token_secrets: vec![secret("ci", "deployer-token"), secret("web", "old-token")],
        ..AuditConfig::default()
    }
}

#[test]
fn sealing_key_readers_beyond_the_agent_and_cluster_admins_are_critical() {
    let findings = run_with(fixture!("named-secrets.yaml"), &named_config());
    let ns = "kubectl-secrets";
    let bob = one(&findings, "RBAC013", "bob", ns);
    assert_eq!(
        (bob.severity, bob.status),
        (Severity::Critical, Status::Fail)
    );
    assert!(
        bob.message
            .contains("sealing-key-a, kubectl-secrets/sealing-key-b"),
        "{}",
        bob.message
    );
    assert_eq!(
        bob.via,
        ["RoleBinding/kubectl-secrets/ns-admin → ClusterRole/cluster-admin (rule 1)"]
    );
    assert!(
        bob.hint
            .contains("delete RoleBinding/kubectl-secrets/ns-admin"),
        "{}",
        bob.hint
    );
    // A name-restricted grant on one key still reads that key.
    let dave = one(&findings, "RBAC013", "dave", ns);
    assert_eq!(dave.status, Status::Fail);
    assert!(
        dave.message.contains("kubectl-secrets/sealing-key-b"),
        "{}",
        dave.message
    );
    assert!(!dave.message.contains("sealing-key-a"), "{}", dave.message);
    // Expected: the agent and the cluster admin.
    for name in ["secrets-agent", "root-admin"] {
        let f = one(&findings, "RBAC013", name, ns);
        assert_eq!(
            (f.severity, f.status),
            (Severity::Info, Status::Pass),
            "{f:#?}"
        );
    }
    // Names that are not keys, and readers of other namespaces, are no RBAC013 readers.
    assert!(about(&findings, "RBAC013", "carol", ns).is_empty());
    assert!(about(&findings, "RBAC013", "erin", ns).is_empty());
}

#[test]
fn legacy_token_secrets_are_medium_and_high_when_someone_unexpected_reads_them() {
    let findings = run_with(fixture!("named-secrets.yaml"), &named_config());
    let read = one(&findings, "RBAC031", "deployer-token", "ci");
    assert_eq!((read.severity, read.status), (Severity::High, Status::Fail));
    assert!(read.message.contains("User/erin"), "{}", read.message);
    // Cluster admins read everything anyway: not named.
    assert!(!read.message.contains("root-admin"), "{}", read.message);
    assert_eq!(read.subject.kind, "Secret");
    let quiet = one(&findings, "RBAC031", "old-token", "web");
    assert_eq!(
        (quiet.severity, quiet.status),
        (Severity::Medium, Status::Warn)
    );
}

#[test]
fn visibility_is_incomplete_when_something_could_not_be_listed() {
    assert!(visibility(&[]).is_none());
    let f = visibility(&["list clusterrolebindings: forbidden".to_owned()]).unwrap();
    assert_eq!((f.id.as_str(), f.status), ("RBAC001", Status::Incomplete));
    assert!(f.message.contains("list clusterrolebindings: forbidden"));
}
