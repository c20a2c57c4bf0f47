//! The provider's socket: the driver's gRPC calls over a unix socket, served until shutdown.
//!
//! Data flow: [`bind`] removes a stale socket (only a socket: any other file there is an
//! error), binds under a temporary name, sets mode 0600 and renames it into place, so no one
//! can connect before the mode is set → [`serve`] accepts connections, serves each with HTTP/2
//! (`csi_provider_proto`) and answers `Version` and `Mount` (the latter through
//! [`Provider::mount`], timed and counted in `secrets_agent_mounts_total` /
//! `secrets_agent_mount_duration_seconds`) → when `shutdown` resolves it stops accepting,
//! removes the socket file, tells every connection to finish (in-flight calls complete) and
//! waits at most [`GRACE`] for them.

use std::future::Future;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use csi_provider_proto::v1alpha1::csi_driver_provider_server::{
    CsiDriverProvider, CsiDriverProviderServer,
};
use csi_provider_proto::v1alpha1::{MountRequest, MountResponse, VersionRequest, VersionResponse};
use secrets_core::mount::PROVIDER_NAME;
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::flow::Provider;

/// How long in-flight calls get to finish after shutdown.
pub const GRACE: Duration = Duration::from_secs(10);

/// A listening socket and the path it answers at (removed when serving stops).
pub struct Socket {
    listener: UnixListener,
    path: PathBuf,
}

impl Socket {
    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Listen at `path` with mode 0600, replacing a stale socket left by an earlier run.
pub fn bind(path: &Path) -> std::io::Result<Socket> {
    use std::io::{Error, ErrorKind};
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Err(err) if err.kind() == ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "the socket path has no file name"))?;
    let mut temporary = file_name.to_os_string();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary);
    let _ = std::fs::remove_file(&temporary);
    let listener = UnixListener::bind(&temporary)?;
    let placed = std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(err) = placed {
        let _ = std::fs::remove_file(&temporary);
        return Err(err);
    }
    Ok(Socket {
        listener,
        path: path.to_owned(),
    })
}

/// The gRPC service over a provider.
#[derive(Clone)]
struct Service(Arc<Provider>);

#[tonic::async_trait]
impl CsiDriverProvider for Service {
    async fn version(
        &self,
        _request: tonic::Request<VersionRequest>,
    ) -> Result<tonic::Response<VersionResponse>, tonic::Status> {
        Ok(tonic::Response::new(VersionResponse {
            version: "v1alpha1".to_owned(),
            runtime_name: PROVIDER_NAME.to_owned(),
            runtime_version: env!("CARGO_PKG_VERSION").to_owned(),
        }))
    }

    async fn mount(
        &self,
        request: tonic::Request<MountRequest>,
    ) -> Result<tonic::Response<MountResponse>, tonic::Status> {
        let started = Instant::now();
        let result = self.0.mount(request.get_ref()).await;
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(answer) => {
                self.0.metrics().mounted("success", "", seconds);
                Ok(tonic::Response::new(answer))
            }
            Err(failure) => {
                self.0.metrics().mounted("error", failure.category, seconds);
                Err(failure.status())
            }
        }
    }
}

/// Serve `socket` until `shutdown` resolves, then drain (bounded by [`GRACE`]).
pub async fn serve(
    provider: Arc<Provider>,
    socket: Socket,
    shutdown: impl Future<Output = ()> + Send,
) {
    let service = CsiDriverProviderServer::new(Service(provider));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = socket.listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    tracing::warn!(error = %crate::telemetry::error_chain(&err), "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = service.clone();
        let mut stop = stop_rx.clone();
        connections.spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(err) =
                csi_provider_proto::serve_connection_until(stream, service, stopped).await
            {
                tracing::debug!(error = %crate::telemetry::error_chain(&err), "a driver connection ended with an error");
            }
        });
    }
    let Socket { listener, path } = socket;
    drop(listener);
    if let Err(err) = std::fs::remove_file(&path) {
        tracing::warn!(socket = %path.display(), error = %err, "removing the socket failed");
    }
    let _ = stop_tx.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, drained).await.is_err() {
        tracing::warn!("mounts still running after the shutdown grace period; dropping them");
        connections.abort_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bind_sets_0600_replaces_a_stale_socket_and_spares_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubectl-secrets.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let socket = bind(&path).unwrap();
        let meta = std::fs::symlink_metadata(socket.path()).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        // Only the socket is left in the directory (no temporary name).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // It answers at the final path.
        tokio::net::UnixStream::connect(&path).await.unwrap();
        drop(socket);

        let file = dir.path().join("not-a-socket");
        std::fs::write(&file, b"keep me").unwrap();
        let err = bind(&file).err().unwrap();
        assert!(err.to_string().contains("is not a socket"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    }
}
