//! A server and a client over a real unix socket: the plumbing both ends use.

use csi_provider_proto::v1alpha1::csi_driver_provider_server::{
    CsiDriverProvider, CsiDriverProviderServer,
};
use csi_provider_proto::v1alpha1::{
    File, MountRequest, MountResponse, ObjectVersion, VersionRequest, VersionResponse,
};
use tonic::{Request, Response, Status};

struct Echo;

#[tonic::async_trait]
impl CsiDriverProvider for Echo {
    async fn version(
        &self,
        request: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        Ok(Response::new(VersionResponse {
            version: request.into_inner().version,
            runtime_name: "echo".into(),
            runtime_version: "0.1.0".into(),
        }))
    }

    async fn mount(
        &self,
        request: Request<MountRequest>,
    ) -> Result<Response<MountResponse>, Status> {
        let request = request.into_inner();
        if request.permission != "420" {
            return Err(Status::invalid_argument("permission is not 420"));
        }
        Ok(Response::new(MountResponse {
            object_version: vec![ObjectVersion {
                id: "a".into(),
                version: "1".into(),
            }],
            error: None,
            files: vec![File {
                path: "a".into(),
                mode: 0o644,
                contents: request.attributes.into_bytes(),
            }],
        }))
    }
}

#[tokio::test]
async fn version_and_mount_cross_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("temp dir: {err}"));
    let socket = dir.path().join("p.sock");
    let listener = tokio::net::UnixListener::bind(&socket)
        .unwrap_or_else(|err| panic!("binding {}: {err}", socket.display()));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = CsiDriverProviderServer::new(Echo);
            tokio::spawn(csi_provider_proto::serve_connection(stream, service));
        }
    });
    let mut client = csi_provider_proto::connect(&socket)
        .await
        .unwrap_or_else(|err| panic!("connecting: {err}"));
    let version = client
        .version(VersionRequest {
            version: "v1alpha1".into(),
        })
        .await
        .unwrap_or_else(|err| panic!("version: {err}"))
        .into_inner();
    assert_eq!(version.version, "v1alpha1");
    let mount = client
        .mount(MountRequest {
            attributes: "{}".into(),
            permission: "420".into(),
            ..MountRequest::default()
        })
        .await
        .unwrap_or_else(|err| panic!("mount: {err}"))
        .into_inner();
    assert_eq!(mount.files[0].contents, b"{}");
    assert_eq!(mount.files[0].mode, 420);
    let refused = client
        .mount(MountRequest::default())
        .await
        .err()
        .unwrap_or_else(|| panic!("a mount without permission was answered"));
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert_eq!(refused.message(), "permission is not 420");
}
