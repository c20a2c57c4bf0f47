use crate::api::ClusterSecretStore;
use crate::api::SecretStore;
use crate::sync::validate::{store, store_for_mount};

fn problems(provider: &str) -> Vec<String> {
    let yaml = format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: s}}\nspec:\n  provider:\n    gcpsm:\n{provider}"
    );
    store(
        &serde_yaml_ng::from_str::<SecretStore>(&yaml).unwrap().spec,
        false,
    )
}

const WIF: &str = "      projectID: p\n      auth:\n        workloadIdentityFederation:\n          audience: //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k\n          serviceAccountRef: {name: app}\n";

#[test]
fn valid_stores_have_no_problems() {
    assert_eq!(
        problems(
            "      projectID: p\n      location: europe-west4\n      secretVersionSelectionPolicy: LatestOrFetch\n      auth:\n        secretRef:\n          secretAccessKeySecretRef: {name: key, key: key.json}\n"
        ),
        Vec::<String>::new()
    );
    assert_eq!(problems(WIF), Vec::<String>::new());
    assert_eq!(
        problems(&format!(
            "{WIF}          gcpServiceAccountEmail: r@p.iam.gserviceaccount.com\n"
        )),
        Vec::<String>::new()
    );
}

#[test]
fn project_auth_and_policy_are_required_and_checked() {
    let p = problems(
        "      auth:\n        secretRef:\n          secretAccessKeySecretRef: {name: key, key: k}\n",
    );
    assert_eq!(
        p,
        ["spec.provider.gcpsm.projectID is required (there is no GKE metadata server to ask)"]
    );
    let p = problems("      projectID: p\n");
    assert!(
        p[0].contains("spec.provider.gcpsm.auth needs secretRef or workloadIdentityFederation"),
        "{p:?}"
    );
    let p = problems(
        "      projectID: p\n      secretVersionSelectionPolicy: Newest\n      location: eu.evil\n      auth:\n        secretRef: {}\n",
    );
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(
        p.iter()
            .any(|m| m.contains("secretRef.secretAccessKeySecretRef is required")),
        "{p:?}"
    );
    let both =
        format!("{WIF}        secretRef:\n          secretAccessKeySecretRef: {{name: key}}\n");
    assert!(
        problems(&both)
            .iter()
            .any(|m| m.contains("exactly one of secretRef, workloadIdentityFederation"))
    );
}

#[test]
fn wif_sources_and_gke_are_refused_by_name() {
    let p = problems(
        "      projectID: p\n      auth:\n        workloadIdentityFederation:\n          credConfig: {name: c, key: k}\n",
    );
    assert!(p.iter().any(|m| m.starts_with("spec.provider.gcpsm.auth.workloadIdentityFederation.credConfig is not supported by kubectl-secrets: ")), "{p:?}");
    assert!(
        p.iter().any(|m| m.contains("audience is required")),
        "{p:?}"
    );
    assert!(
        !p.iter()
            .any(|m| m.contains("serviceAccountRef is required")),
        "{p:?}"
    );
    let p = problems(
        "      projectID: p\n      auth:\n        workloadIdentityFederation:\n          audience: a\n          awsSecurityCredentials: {region: r}\n",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("awsSecurityCredentials is not supported")),
        "{p:?}"
    );
    let p = problems(
        "      projectID: p\n      auth:\n        workloadIdentity:\n          serviceAccountRef: {name: app}\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with(
            "spec.provider.gcpsm.auth.workloadIdentity is not supported by kubectl-secrets: GKE"
        ),
        "{p:?}"
    );
    let p = problems(&format!(
        "{WIF}          gcpServiceAccountEmail: someone@example.com\n          extra: 1\n"
    ));
    assert!(
        p.iter()
            .any(|m| m.contains("gcpServiceAccountEmail \"someone@example.com\" must be")),
        "{p:?}"
    );
    assert!(p.iter().any(|m| m == "spec.provider.gcpsm.auth.workloadIdentityFederation.extra is not supported by kubectl-secrets"), "{p:?}");
    let p = problems(
        "      projectID: p\n      auth:\n        workloadIdentityFederation: {audience: a}\n",
    );
    assert!(
        p.iter()
            .any(|m| m.contains("serviceAccountRef is required")),
        "{p:?}"
    );
}

#[test]
fn mounts_need_no_service_account_and_cluster_stores_need_namespaces() {
    let yaml = "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    gcpsm:\n      projectID: p\n      auth:\n        workloadIdentityFederation: {audience: a}\n";
    let spec = serde_yaml_ng::from_str::<SecretStore>(yaml).unwrap().spec;
    assert_eq!(store_for_mount(&spec, false), Vec::<String>::new());
    let yaml = "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    gcpsm:\n      projectID: p\n      auth:\n        secretRef:\n          secretAccessKeySecretRef: {name: key, key: k}\n";
    let spec = serde_yaml_ng::from_str::<ClusterSecretStore>(yaml)
        .unwrap()
        .spec;
    let p = store(&spec.inner, true);
    assert!(
        p.iter().any(|m| m
            .contains("secretAccessKeySecretRef.namespace is required on a ClusterSecretStore")),
        "{p:?}"
    );
}
