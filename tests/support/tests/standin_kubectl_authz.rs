//! kube-standin's canned answers driven by the real kubectl: `kubectl auth can-i` (a
//! SelfSubjectAccessReview, sent as protobuf, with `--as` impersonation headers) answered
//! from the test's table, and `kubectl get --raw` of the verbose health and metrics paths.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration test: failing loudly is the point"
)]

use kube_standin::{AuthzRule, AuthzTable, HealthCheck};
use test_support::Cluster;

#[test]
fn kubectl_auth_can_i_answers_from_the_table() {
    let cluster = Cluster::start();
    cluster.standin().control().set_authz(AuthzTable {
        default_allowed: false,
        rules: vec![
            AuthzRule {
                user: Some("alice".into()),
                verb: "get".into(),
                resource: "secrets".into(),
                namespace: Some("team".into()),
                allowed: true,
                ..AuthzRule::default()
            },
            AuthzRule {
                groups: Some(vec!["ops".into()]),
                verb: "list".into(),
                resource: "secrets".into(),
                allowed: true,
                ..AuthzRule::default()
            },
            AuthzRule {
                groups: Some(vec!["system:masters".into()]),
                verb: "*".into(),
                resource: "*".into(),
                allowed: true,
                ..AuthzRule::default()
            },
        ],
    });
    let can_i = |args: &[&str]| {
        let mut all = vec!["auth", "can-i"];
        all.extend_from_slice(args);
        let out = cluster.kubectl(&all);
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        (out.status.code(), stdout)
    };
    let yes = (Some(0), "yes".to_owned());
    let no = (Some(1), "no".to_owned());
    assert_eq!(
        can_i(&["get", "secrets", "-n", "team", "--as", "alice"]),
        yes
    );
    assert_eq!(
        can_i(&["get", "secrets", "-n", "other", "--as", "alice"]),
        no
    );
    assert_eq!(can_i(&["get", "secrets", "-n", "team", "--as", "bob"]), no);
    assert_eq!(
        can_i(&["list", "secrets", "-A", "--as", "bob", "--as-group", "ops"]),
        yes
    );
    // Without --as: the admin token, in system:masters.
    assert_eq!(can_i(&["delete", "secrets", "-n", "team"]), yes);
}

#[test]
fn kubectl_reads_verbose_health_and_metrics() {
    let cluster = Cluster::start();
    let readyz = cluster.kubectl_ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(
        readyz.starts_with("[+]ping ok\n[+]log ok\n[+]etcd ok\n"),
        "{readyz}"
    );
    assert!(readyz.ends_with("readyz check passed\n"), "{readyz}");
    cluster
        .standin()
        .control()
        .set_health_checks(vec![HealthCheck {
            name: "kms-providers".into(),
            ok: false,
        }]);
    let failed = cluster.kubectl(&["get", "--raw", "/readyz?verbose"]);
    assert!(!failed.status.success());
    let metrics_series = "apiserver_storage_transformation_operations_total{status=\"OK\",transformation_type=\"to_storage\",transformer_prefix=\"k8s:enc:aescbc:v1:\"} 3\n";
    cluster.standin().control().set_metrics(metrics_series);
    let metrics = cluster.kubectl_ok(&["get", "--raw", "/metrics"]);
    assert!(metrics.contains("# TYPE apiserver_request_total counter"));
    assert!(metrics.ends_with(metrics_series), "{metrics}");
}
