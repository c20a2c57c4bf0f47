//! Platform detection (ENC001) and the apiserver flag (ENC010) from node and pod fixtures.

use k8s_openapi::api::core::v1::{ConfigMap, Node, Pod};

use super::*;
use crate::manifest::parse_documents;

fn nodes(text: &str) -> Collected<Vec<Node>> {
    Collected::Got(parse_documents(text).unwrap())
}

fn pods(text: &str) -> Collected<Vec<Pod>> {
    Collected::Got(parse_documents(text).unwrap())
}

fn facts(nodes: Collected<Vec<Node>>, pods: Collected<Vec<Pod>>) -> ClusterFacts {
    ClusterFacts {
        server_version: Collected::Got("v1.31.2".to_owned()),
        nodes,
        kube_system_pods: pods,
        kubeadm_config: Collected::Got(None),
        openshift_apiserver: Collected::Got(None),
        ..ClusterFacts::default()
    }
}

fn kubeadm(pod_fixture: &str) -> ClusterFacts {
    facts(nodes(fixture!("nodes-plain.yaml")), pods(pod_fixture))
}

fn run(facts: &ClusterFacts) -> Vec<Finding> {
    sorted(audit(facts, None))
}

fn enc010_by_name<'f>(findings: &'f [Finding], name: &str) -> &'f Finding {
    let found: Vec<_> = findings
        .iter()
        .filter(|f| f.id == "ENC010" && f.subject.name == name)
        .collect();
    assert_eq!(found.len(), 1, "ENC010 {name} in {findings:#?}");
    found[0]
}

#[test]
fn kubeadm_mirror_pods_with_the_flag_in_both_forms_pass() {
    let facts = kubeadm(fixture!("pods-kubeadm-encrypted.yaml"));
    assert_eq!(detect_platform(&facts), Platform::Kubeadm);
    let findings = run(&facts);
    let platform = one(&findings, "ENC001");
    assert_eq!(verdict(platform), (Severity::Info, Status::Pass));
    assert_eq!(platform.subject.name, "kubeadm");
    for name in ["kube-apiserver-cp1", "kube-apiserver-cp2"] {
        let f = enc010_by_name(&findings, name);
        assert_eq!(verdict(f), (Severity::Info, Status::Pass));
        assert!(
            f.message.contains("=/etc/kubernetes/enc/config.yaml"),
            "{}",
            f.message
        );
        assert!(
            f.hint
                .contains("--encryption-config /etc/kubernetes/enc/config.yaml")
        );
    }
    assert_eq!(
        with_id(&findings, "ENC010").len(),
        2,
        "etcd is not an apiserver"
    );
}

#[test]
fn a_mirror_pod_without_the_flag_fails_high_despite_the_reload_flag() {
    let findings = run(&kubeadm(fixture!("pods-kubeadm-plain.yaml")));
    let f = enc010_by_name(&findings, "kube-apiserver-cp1");
    assert_eq!(verdict(f), (Severity::High, Status::Fail));
    assert!(f.message.contains("plaintext"), "{}", f.message);
    assert!(!f.message.contains("mixed"));
}

#[test]
fn mixed_apiservers_fail_the_one_without_the_flag() {
    let findings = run(&kubeadm(fixture!("pods-kubeadm-mixed.yaml")));
    let f = enc010_by_name(&findings, "kube-apiserver-cp3");
    assert_eq!(verdict(f), (Severity::High, Status::Fail));
    assert!(
        f.message.contains("2 of 3 apiservers set it (mixed)"),
        "{}",
        f.message
    );
    let ok = enc010_by_name(&findings, "kube-apiserver-cp1");
    assert_eq!(ok.status, Status::Pass);
}

#[test]
fn different_config_paths_are_mixed() {
    let findings = run(&kubeadm(fixture!("pods-kubeadm-paths.yaml")));
    for name in ["kube-apiserver-cp1", "kube-apiserver-cp2"] {
        let f = enc010_by_name(&findings, name);
        assert_eq!(verdict(f), (Severity::High, Status::Fail));
        assert!(
            f.message.contains("2 different paths (mixed)"),
            "{}",
            f.message
        );
    }
}

#[test]
fn unlistable_kube_system_pods_are_incomplete_never_pass() {
    let mut facts = facts(
        nodes(fixture!("nodes-plain.yaml")),
        Collected::Unavailable("pods is forbidden: cannot list in kube-system".to_owned()),
    );
    let config: ConfigMap = serde_yaml_ng::from_str(fixture!("kubeadm-config.yaml")).unwrap();
    facts.kubeadm_config = Collected::Got(Some(config));
    let findings = run(&facts);
    let f = one(&findings, "ENC010");
    assert_eq!(verdict(f), (Severity::High, Status::Incomplete));
    assert!(
        f.via.iter().any(|v| v.contains("pods is forbidden")),
        "{:?}",
        f.via
    );
    assert!(
        f.via
            .iter()
            .any(|v| v.contains("sets encryption-provider-config=/etc/kubernetes")),
        "{:?}",
        f.via
    );
    assert!(
        !findings
            .iter()
            .any(|f| f.status == Status::Pass && f.id == "ENC010")
    );
}

#[test]
fn no_apiserver_pod_and_no_platform_is_incomplete() {
    let findings = run(&kubeadm(fixture!("pods-none.yaml")));
    let f = one(&findings, "ENC010");
    assert_eq!(verdict(f), (Severity::High, Status::Incomplete));
    assert!(f.message.contains("not visible as a pod"), "{}", f.message);
    assert!(f.hint.contains("--encryption-config FILE"), "{}", f.hint);
    assert_eq!(one(&findings, "ENC001").subject.name, "unknown");
}

#[test]
fn k3s_servers_without_secrets_encryption_fail_and_agents_are_ignored() {
    let facts = facts(
        nodes(fixture!("nodes-k3s-plain.yaml")),
        pods(fixture!("pods-none.yaml")),
    );
    assert_eq!(detect_platform(&facts), Platform::K3s);
    let findings = run(&facts);
    let f = one(&findings, "ENC010");
    assert_eq!(f.subject.name, "server1");
    assert_eq!(verdict(f), (Severity::High, Status::Fail));
    assert!(f.message.contains("off by default"), "{}", f.message);
    assert!(
        f.hint.contains("/etc/rancher/k3s/config.yaml"),
        "{}",
        f.hint
    );
}

#[test]
fn k3s_servers_with_secrets_encryption_pass_in_both_forms() {
    let findings = run(&facts(
        nodes(fixture!("nodes-k3s-encrypted.yaml")),
        Collected::NotAsked,
    ));
    for name in ["server1", "server2"] {
        let f = enc010_by_name(&findings, name);
        assert_eq!(verdict(f), (Severity::Info, Status::Pass));
        assert!(f.message.contains("(aescbc, the default)"), "{}", f.message);
    }
}

#[test]
fn rke2_is_on_by_default_and_fails_where_turned_off() {
    let facts = facts(
        nodes(fixture!("nodes-rke2.yaml")),
        pods(fixture!("pods-none.yaml")),
    );
    assert_eq!(detect_platform(&facts), Platform::Rke2);
    let findings = run(&facts);
    let on = enc010_by_name(&findings, "server1");
    assert_eq!(verdict(on), (Severity::Info, Status::Pass));
    assert!(on.message.contains("on by default"), "{}", on.message);
    let off = enc010_by_name(&findings, "server2");
    assert_eq!(verdict(off), (Severity::High, Status::Fail));
}

#[test]
fn rke2_with_visible_mirror_pods_is_judged_by_their_flags() {
    let facts = facts(
        nodes(fixture!("nodes-rke2.yaml")),
        pods(fixture!("pods-kubeadm-plain.yaml")),
    );
    let findings = run(&facts);
    let f = enc010_by_name(&findings, "kube-apiserver-cp1");
    assert_eq!(verdict(f), (Severity::High, Status::Fail));
}

#[test]
fn eks_from_1_28_passes_older_is_unknown_with_the_aws_command() {
    let mut facts = facts(nodes(fixture!("nodes-eks.yaml")), Collected::NotAsked);
    facts.server_version = Collected::Got("v1.30.2-eks-1234".to_owned());
    assert_eq!(detect_platform(&facts), Platform::Eks);
    let findings = run(&facts);
    let f = one(&findings, "ENC010");
    assert_eq!(verdict(f), (Severity::Info, Status::Pass));
    assert!(f.message.contains("by default"), "{}", f.message);

    facts.server_version = Collected::Got("v1.27.16-eks-a18cd3a".to_owned());
    let findings = run(&facts);
    let f = one(&findings, "ENC010");
    assert_eq!(verdict(f), (Severity::High, Status::Unknown));
    assert!(
        f.hint
            .contains("aws eks describe-cluster --name <cluster> --query cluster.encryptionConfig"),
        "{}",
        f.hint
    );
}

#[test]
fn gke_and_aks_are_unknown_with_their_cli() {
    let gke = run(&facts(
        nodes(fixture!("nodes-gke.yaml")),
        Collected::NotAsked,
    ));
    let f = one(&gke, "ENC010");
    assert_eq!(verdict(f), (Severity::High, Status::Unknown));
    assert!(
        f.hint.contains(
            "gcloud container clusters describe <cluster> --location <location> \
             --format 'value(databaseEncryption)'"
        ),
        "{}",
        f.hint
    );
    let facts = facts(nodes(fixture!("nodes-aks.yaml")), Collected::NotAsked);
    assert_eq!(detect_platform(&facts), Platform::Aks);
    let aks = run(&facts);
    let f = one(&aks, "ENC010");
    assert_eq!(verdict(f), (Severity::High, Status::Unknown));
    assert!(
        f.hint.contains(
            "az aks show -g <group> -n <cluster> --query securityProfile.azureKeyVaultKms"
        ),
        "{}",
        f.hint
    );
}

#[test]
fn openshift_reads_the_encryption_type_of_the_apiserver_cr() {
    let mut cr: serde_json::Value =
        serde_yaml_ng::from_str(fixture!("openshift-apiserver.yaml")).unwrap();
    let mut facts = facts(nodes(fixture!("nodes-plain.yaml")), Collected::NotAsked);
    facts.openshift_apiserver = Collected::Got(Some(cr.clone()));
    assert_eq!(detect_platform(&facts), Platform::OpenShift);
    let findings = run(&facts);
    assert_eq!(
        verdict(one(&findings, "ENC010")),
        (Severity::Info, Status::Pass)
    );

    cr["spec"]["encryption"]["type"] = serde_json::json!("identity");
    facts.openshift_apiserver = Collected::Got(Some(cr));
    let findings = run(&facts);
    assert_eq!(
        verdict(one(&findings, "ENC010")),
        (Severity::High, Status::Fail)
    );
}

#[test]
fn nothing_asked_gives_no_cluster_findings_and_debug_hides_pod_contents() {
    assert!(audit(&ClusterFacts::default(), None).is_empty());
    let facts = kubeadm(fixture!("pods-kubeadm-encrypted.yaml"));
    let debug = format!("{facts:?}");
    assert!(debug.contains("3 pods"), "{debug}");
    for planted in PLANTED {
        assert!(!debug.contains(planted), "{planted} in {debug}");
    }
}

#[test]
fn the_config_is_judged_alongside_the_cluster() {
    let config = EncryptionConfig::from_text(fixture!("kms-v2.yaml")).unwrap();
    let facts = kubeadm(fixture!("pods-kubeadm-encrypted.yaml"));
    let findings = sorted(audit(&facts, Some((&config, "enc.yaml"))));
    assert_eq!(one(&findings, "ENC020").subject.name, "enc.yaml");
    let f = enc010_by_name(&findings, "kube-apiserver-cp1");
    assert!(f.hint.contains("ENC020"), "{}", f.hint);
}
