//! The two calls to the provider socket, as the driver makes them: dial (authority
//! `localhost`), `Version` (which must say `v1alpha1` and a semantic runtime version), then
//! `Mount`. A gRPC error status becomes a failure carrying the status message verbatim, with
//! Go's code names, as the driver reports it in pod events.

use std::path::Path;
use std::time::Duration;

use csi_provider_proto::v1alpha1::csi_driver_provider_client::CsiDriverProviderClient;
use csi_provider_proto::v1alpha1::{MountRequest, MountResponse, VersionRequest, VersionResponse};
use tonic::transport::Channel;

use crate::MountFailure;

/// The API version the driver speaks.
pub const API_VERSION: &str = "v1alpha1";
/// How long one provider call may take (kubelet gives NodePublishVolume about two minutes).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Calls `Version` as the driver does and checks the answer: `v1alpha1` and a semantic
/// `runtime_version`.
pub async fn version(socket: &Path) -> Result<VersionResponse, MountFailure> {
    let mut client = connect(socket).await?;
    let call = client.version(VersionRequest {
        version: API_VERSION.to_owned(),
    });
    let answer = match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(answer)) => answer.into_inner(),
        Ok(Err(status)) => {
            return Err(MountFailure::VersionRpc {
                code: go_code(status.code()),
                message: status.message().to_owned(),
            });
        }
        Err(_) => {
            return Err(MountFailure::VersionRpc {
                code: "DeadlineExceeded".to_owned(),
                message: "context deadline exceeded".to_owned(),
            });
        }
    };
    if answer.version != API_VERSION {
        return Err(MountFailure::VersionMismatch {
            got: answer.version,
        });
    }
    if !is_semver(&answer.runtime_version) {
        return Err(MountFailure::RuntimeVersion {
            got: answer.runtime_version,
        });
    }
    Ok(answer)
}

/// Calls `Mount`; a gRPC error status is a failure carrying its message verbatim.
pub async fn call_mount(
    socket: &Path,
    request: MountRequest,
) -> Result<MountResponse, MountFailure> {
    let mut client = connect(socket).await?;
    match tokio::time::timeout(CALL_TIMEOUT, client.mount(request)).await {
        Ok(Ok(answer)) => Ok(answer.into_inner()),
        Ok(Err(status)) => Err(MountFailure::MountRpc {
            code: go_code(status.code()),
            message: status.message().to_owned(),
        }),
        Err(_) => Err(MountFailure::MountRpc {
            code: "DeadlineExceeded".to_owned(),
            message: "context deadline exceeded".to_owned(),
        }),
    }
}

async fn connect(socket: &Path) -> Result<CsiDriverProviderClient<Channel>, MountFailure> {
    csi_provider_proto::connect(socket)
        .await
        .map_err(|source| MountFailure::Connect {
            socket: socket.to_path_buf(),
            source,
        })
}

/// gRPC code names as Go's `codes.Code.String()` spells them (what the driver logs).
fn go_code(code: tonic::Code) -> String {
    match code {
        tonic::Code::Ok => "OK".to_owned(),
        tonic::Code::Cancelled => "Canceled".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Semantic Versioning 2.0: `MAJOR.MINOR.PATCH`, numbers without leading zeros, optional
/// `-prerelease` and `+build` of dot-separated `[0-9A-Za-z-]` identifiers.
pub fn is_semver(version: &str) -> bool {
    let (rest, build) = match version.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (version, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let number = |n: &str| {
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0'))
    };
    let identifiers = |s: &str, numeric_rule: bool| {
        s.split('.').all(|id| {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && (!numeric_rule || !id.bytes().all(|b| b.is_ascii_digit()) || number(id))
        })
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && pre.is_none_or(|p| identifiers(p, true))
        && build.is_none_or(|b| identifiers(b, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver() {
        for ok in [
            "0.1.0",
            "1.2.3",
            "10.20.30",
            "1.0.0-alpha.1",
            "1.0.0+build.5",
            "1.0.0-rc.1+x-y",
        ] {
            assert!(is_semver(ok), "{ok}");
        }
        for bad in [
            "", "1", "1.2", "v1.2.3", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "1.2.3.4", "1.2.x",
        ] {
            assert!(!is_semver(bad), "{bad}");
        }
    }

    #[test]
    fn go_code_names() {
        assert_eq!(go_code(tonic::Code::Ok), "OK");
        assert_eq!(go_code(tonic::Code::Cancelled), "Canceled");
        assert_eq!(go_code(tonic::Code::PermissionDenied), "PermissionDenied");
    }
}
