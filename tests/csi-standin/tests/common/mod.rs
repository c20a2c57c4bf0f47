//! A fake provider on a unix socket (the generated server trait, canned answers, every
//! request recorded) and a kube-standin cluster with a pod, its service account and a
//! SecretProviderClass, for csi-standin's tests.
#![allow(dead_code, unreachable_pub)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test support: failing loudly is the point"
)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use csi_provider_proto::v1alpha1::csi_driver_provider_server::{
    CsiDriverProvider, CsiDriverProviderServer,
};
use csi_provider_proto::v1alpha1::{
    File, MountRequest, MountResponse, ObjectVersion, VersionRequest, VersionResponse,
};
use test_support::Cluster;
use tokio::net::UnixListener;

pub const NS: &str = "team-a";
pub const POD: &str = "web-0";
pub const SA: &str = "web";
pub const SPC: &str = "app-secrets";
pub const PROVIDER: &str = "fake";

/// What the fake answers to Mount.
#[derive(Clone)]
pub enum Answer {
    Response(MountResponse),
    Status(tonic::Status),
}

#[derive(Clone)]
pub struct Fake {
    pub answer: Arc<Mutex<Answer>>,
    pub version: Arc<Mutex<VersionResponse>>,
    pub mounts: Arc<Mutex<Vec<MountRequest>>>,
    pub versions: Arc<Mutex<Vec<VersionRequest>>>,
}

#[tonic::async_trait]
impl CsiDriverProvider for Fake {
    async fn version(
        &self,
        request: tonic::Request<VersionRequest>,
    ) -> Result<tonic::Response<VersionResponse>, tonic::Status> {
        self.versions.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(self.version.lock().unwrap().clone()))
    }

    async fn mount(
        &self,
        request: tonic::Request<MountRequest>,
    ) -> Result<tonic::Response<MountResponse>, tonic::Status> {
        self.mounts.lock().unwrap().push(request.into_inner());
        match self.answer.lock().unwrap().clone() {
            Answer::Response(r) => Ok(tonic::Response::new(r)),
            Answer::Status(s) => Err(s),
        }
    }
}

impl Fake {
    pub fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn respond(&self, response: MountResponse) {
        self.answer(Answer::Response(response));
    }

    pub fn last_mount(&self) -> MountRequest {
        self.mounts
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a Mount call")
    }

    pub fn mount_count(&self) -> usize {
        self.mounts.lock().unwrap().len()
    }
}

pub fn file(path: &str, mode: i32, contents: &str) -> File {
    File {
        path: path.into(),
        mode,
        contents: contents.as_bytes().to_vec(),
    }
}

pub fn version(id: &str, v: &str) -> ObjectVersion {
    ObjectVersion {
        id: id.into(),
        version: v.into(),
    }
}

/// Two files in a subdirectory and at the top, two objects.
pub fn canned() -> MountResponse {
    MountResponse {
        object_version: vec![
            version("team-a/db#password", "v1"),
            version("team-a/api", "v7"),
        ],
        error: None,
        files: vec![
            file("db/password", 0o440, "s3cr3t"),
            file("api-key", 0o644, "k-123"),
        ],
    }
}

/// A fake provider serving `<dir>/<name>.sock` until the test's runtime ends.
pub fn serve_fake(dir: &Path, name: &str) -> (Fake, PathBuf) {
    let fake = Fake {
        answer: Arc::new(Mutex::new(Answer::Response(canned()))),
        version: Arc::new(Mutex::new(VersionResponse {
            version: "v1alpha1".into(),
            runtime_name: "fake-provider".into(),
            runtime_version: "0.1.0".into(),
        })),
        mounts: Arc::default(),
        versions: Arc::default(),
    };
    let socket = dir.join(format!("{name}.sock"));
    let listener = UnixListener::bind(&socket).unwrap();
    let service = CsiDriverProviderServer::new(fake.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                let _ = csi_provider_proto::serve_connection(stream, service).await;
            });
        }
    });
    (fake, socket)
}

/// The pod manifest with one CSI volume naming app-secrets; `csi_extra` (lines indented by
/// six spaces) is appended to the `csi` source.
pub fn pod_yaml(csi_extra: &str) -> String {
    pod_yaml_with(&format!("{{secretProviderClass: {SPC}}}"), csi_extra)
}

/// As [`pod_yaml`], with these `volumeAttributes` (a YAML flow mapping).
pub fn pod_yaml_with(attributes: &str, csi_extra: &str) -> String {
    [
        "apiVersion: v1".to_owned(),
        "kind: Pod".to_owned(),
        format!("metadata: {{name: {POD}, namespace: {NS}}}"),
        "spec:".to_owned(),
        format!("  serviceAccountName: {SA}"),
        "  containers: [{name: app, image: 'app:1'}]".to_owned(),
        "  volumes:".to_owned(),
        "  - name: secrets".to_owned(),
        "    csi:".to_owned(),
        "      driver: secrets-store.csi.k8s.io".to_owned(),
        format!("      volumeAttributes: {attributes}"),
        csi_extra.to_owned(),
    ]
    .join("\n")
}

pub fn spc_yaml(name: &str, namespace: &str, provider: &str, parameters: &str) -> String {
    format!(
        "apiVersion: secrets-store.csi.x-k8s.io/v1\nkind: SecretProviderClass\n\
         metadata: {{name: {name}, namespace: {namespace}}}\n\
         spec:\n  provider: {provider}\n  parameters: {parameters}\n"
    )
}

/// A cluster with the CRDs, namespace team-a, service account web, a read-only pod web-0 and
/// the SecretProviderClass app-secrets for provider "fake".
pub async fn cluster() -> (Cluster, kube::Client) {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    csi_standin::install_crds(&client).await.unwrap();
    cluster.create_service_accounts(NS, &[SA, "other"]);
    cluster.apply(&pod_yaml("      readOnly: true"));
    cluster.apply(&spc_yaml(
        SPC,
        NS,
        PROVIDER,
        "{objects: '- objectName: db-password', roleName: web}",
    ));
    (cluster, client)
}

/// Poll `check` until true, failing after `timeout` with `what`.
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
