//! Mounts from AWS Secrets Manager as the pod, through csi-standin (driver v1.6 and the
//! kubelet for one pod) and the real `secrets-agent csi-provider`, against moto behind
//! aws-standin: IRSA (the pod's token for `sts.amazonaws.com`, checked by the stand-in against
//! kube-standin's key; the role from the pod's service account annotation) and EKS Pod
//! Identity (SecretProviderClass `awsAuth: podIdentity`: the pod's token for
//! `pods.eks.amazonaws.com` to the credentials endpoint). A warm remount logs in no more; a
//! change in AWS reaches the files; no value or token in the provider's log.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::sync::Arc;

use aws_standin::{ASSUME_ROLE_FOR_POD_IDENTITY, ASSUME_ROLE_WITH_WEB_IDENTITY, AwsStandin};
use common::aws::{REGION, ROLE, aws_env_vars};
use common::cluster;
use common::provider::{ProviderProcess, connect, params};
use test_support::{Moto, SecretValue};

const PASSWORD: &str = "pw-aws-mount-6e1b";
const ROTATED: &str = "pw-aws-mount-rotated";
const POD_ROLE: &str = "arn:aws:iam::123456789012:role/web-pod";

fn pod(name: &str, spc: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  serviceAccountName: web\n  containers: [{{name: app, image: 'app:1', volumeMounts: [{{name: secrets, mountPath: /mnt/secrets, readOnly: true}}]}}]\n  volumes:\n  - name: secrets\n    csi:\n      driver: secrets-store.csi.k8s.io\n      readOnly: true\n      volumeAttributes: {{secretProviderClass: {spc}}}\n"
    )
}

fn spc(name: &str, extra: &[(&str, &str)]) -> String {
    let mut parameters = params(&[
        ("store", "aws"),
        (
            "objects",
            "- path: db/password\n  remoteRef: {key: app/db, property: password}\n",
        ),
    ]);
    for (k, v) in extra {
        parameters.insert((*k).into(), (*v).into());
    }
    serde_json::json!({
        "apiVersion": "secrets-store.csi.x-k8s.io/v1",
        "kind": "SecretProviderClass",
        "metadata": {"name": name, "namespace": "team"},
        "spec": {"provider": "kubectl-secrets", "parameters": parameters},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn mounts_as_the_pod_with_irsa_and_with_pod_identity() {
    let (cluster, client) = cluster().await;
    csi_standin::install_crds(&client).await.unwrap();
    let moto = Arc::new(tokio::task::spawn_blocking(Moto::start).await.unwrap());
    let standin = AwsStandin::start(moto.url()).unwrap();
    let control = standin.control();
    let tokens = cluster.standin().tokens();
    control.trust_tokens(tokens.issuer(), &tokens.public_key_pem());
    control.associate("team", "web", POD_ROLE);
    moto.create_string("app/db", &format!(r#"{{"password":"{PASSWORD}"}}"#));

    cluster.apply(&format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: team\n  annotations: {{eks.amazonaws.com/role-arn: \"{ROLE}\"}}\n"
    ));
    // The mount store: the pod's own identity, so no credentials of its own.
    cluster.apply(&format!(
        "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: aws, namespace: team}}\nspec:\n  provider:\n    aws:\n      service: SecretsManager\n      region: {REGION}\n      auth:\n        jwt:\n          serviceAccountRef: {{name: web}}\n"
    ));
    cluster.apply(&spc("irsa", &[]));
    cluster.apply(&spc("podid", &[("awsAuth", "podIdentity")]));
    cluster.apply(&pod("web-0", "irsa"));
    cluster.apply(&pod("web-1", "podid"));

    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("kubectl-secrets.sock");
    let (url, pod_identity_url) = (standin.url(), standin.pod_identity_url());
    let provider = ProviderProcess::start(
        &cluster,
        &socket,
        dir.path(),
        &[],
        &aws_env_vars(&url, &pod_identity_url),
    );
    drop(connect(&socket).await);
    let driver = csi_standin::CsiStandin::new(
        cluster.client().await,
        dir.path(),
        vec![
            "sts.amazonaws.com".to_owned(),
            "pods.eks.amazonaws.com".to_owned(),
        ],
    );

    // IRSA: one web-identity login as the annotation's role, with the pod's token.
    let target = tempfile::tempdir().unwrap();
    let read =
        |t: &tempfile::TempDir| std::fs::read_to_string(t.path().join("db/password")).unwrap();
    driver.mount("team", "web-0", target.path()).await.unwrap();
    assert_eq!(read(&target), PASSWORD);
    let logins: Vec<_> = control
        .calls()
        .into_iter()
        .filter(|c| c.action == ASSUME_ROLE_WITH_WEB_IDENTITY)
        .collect();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert_eq!(logins[0].role_arn.as_deref(), Some(ROLE));
    assert_eq!(logins[0].web_identity.as_deref(), Some("team/web"));

    // Pod Identity: the credentials endpoint, the associated role.
    let target_pi = tempfile::tempdir().unwrap();
    driver
        .mount("team", "web-1", target_pi.path())
        .await
        .unwrap();
    assert_eq!(read(&target_pi), PASSWORD);
    assert_eq!(control.count(ASSUME_ROLE_FOR_POD_IDENTITY), 1);
    let read_call = control
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.action.starts_with("secretsmanager:"))
        .unwrap();
    assert!(
        read_call
            .principal
            .as_deref()
            .unwrap()
            .contains("assumed-role/web-pod/"),
        "{read_call:?}"
    );

    // A change in AWS, then the kubelet's republish of both: new files, and the logins are
    // cached per pod identity (the republish brings fresh pod tokens, so at most one more each).
    moto.put_secret_value(
        "app/db",
        SecretValue::String(&format!(r#"{{"password":"{ROTATED}"}}"#)),
    );
    let again = driver.mount("team", "web-0", target.path()).await.unwrap();
    assert!(again.changed);
    assert_eq!(read(&target), ROTATED);
    driver
        .mount("team", "web-1", target_pi.path())
        .await
        .unwrap();
    assert_eq!(read(&target_pi), ROTATED);

    let log = provider.stop();
    for secret in [PASSWORD, ROTATED] {
        assert!(!log.contains(secret), "a value reached the provider's log");
    }
    assert!(!log.contains("eyJ"), "a token reached the provider's log");
}
