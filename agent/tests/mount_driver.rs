//! The provider binary behind csi-standin, which plays driver v1.6 and the kubelet for one
//! pod: the pod's CSI volume, its pod-bound tokens, the MountRequest as the driver builds it,
//! the driver's checks of the answer, the kubelet's atomic-writer layout and the
//! SecretProviderClassPodStatus. The files land with their modes; a remount after a change in
//! OpenBao rotates them; a pod whose volume shadows a parameter is refused with the
//! provider's message, verbatim, as the driver shows it.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::provider::{connect, mount_env, params};
use serde_json::json;

const PASSWORD: &str = "pw-driver-31c7";

fn pod_with_volume(name: &str, attributes: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team}}\nspec:\n  serviceAccountName: web\n  containers: [{{name: app, image: 'app:1', volumeMounts: [{{name: secrets, mountPath: /mnt/secrets, readOnly: true}}]}}]\n  volumes:\n  - name: secrets\n    csi:\n      driver: secrets-store.csi.k8s.io\n      readOnly: true\n      volumeAttributes: {{secretProviderClass: app{attributes}}}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn csi_standin_mounts_the_pods_files_and_rotates_them() {
    let env = mount_env().await;
    env.bao.kv2_put(
        "secret",
        "team/db",
        json!({"username": "app", "password": PASSWORD}),
    );
    env.spc(
        "app",
        &params(&[
            ("store", "vault"),
            (
                "objects",
                "- path: db/password\n  remoteRef: {key: team/db, property: password}\n  mode: \"0440\"\n- path: username\n  remoteRef: {key: team/db, property: username}\n",
            ),
        ]),
    );
    env.apply(&pod_with_volume("web-0", ""));
    let provider = env.start_provider();
    drop(connect(&env.socket()).await);

    let driver = csi_standin::CsiStandin::new(
        env.cluster.client().await,
        env.dir.path(),
        vec!["vault".to_owned()],
    );
    let target = tempfile::tempdir().unwrap();
    let mounted = driver.mount("team", "web-0", target.path()).await.unwrap();
    assert_eq!(mounted.runtime_name, "kubectl-secrets");
    let read = |path: &str| std::fs::read_to_string(target.path().join(path)).unwrap();
    assert_eq!(read("db/password"), PASSWORD);
    assert_eq!(read("username"), "app");
    let mode = std::fs::metadata(target.path().join("db/password"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o440);
    assert_eq!(
        mounted.versions,
        [
            ("db/password".to_owned(), "team/db#password@v1".to_owned()),
            ("username".to_owned(), "team/db#username@v1".to_owned()),
        ]
    );
    assert_eq!(mounted.pod_status, "web-0-team-app");

    // A change in OpenBao, then the kubelet's republish: the payload is swapped.
    env.bao.kv2_put(
        "secret",
        "team/db",
        json!({"username": "app", "password": "pw-driver-rotated"}),
    );
    let again = driver.mount("team", "web-0", target.path()).await.unwrap();
    assert!(again.changed);
    assert_eq!(read("db/password"), "pw-driver-rotated");
    assert_eq!(again.versions[0].1, "team/db#password@v2");

    // A pod whose volumeAttributes shadow the store: the driver fails with our message.
    env.apply(&pod_with_volume("web-1", ", store: other"));
    let err = driver
        .mount("team", "web-1", tempfile::tempdir().unwrap().path())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mount for pod team/web-1: SecretProviderClass \"app\": the pod's volumeAttributes set \"store\"")
            && err.contains("[invalid_config]"),
        "{err}"
    );
    let log = provider.stop();
    assert!(!log.contains(PASSWORD) && !log.contains("pw-driver-rotated"));
}
