//! AWS mounts: IRSA (the pod's token for STS, the role from its account's
//! `eks.amazonaws.com/role-arn`) or EKS Pod Identity (SPC `awsAuth: podIdentity`).

use super::{MountAuth, MountAuthError, MountLogin, given};
use crate::api::secret_store::AwsProvider;

/// The audience of the pod token for AssumeRoleWithWebIdentity.
pub const AWS_STS_AUDIENCE: &str = "sts.amazonaws.com";
/// The audience of the pod token for the EKS Pod Identity agent.
pub const AWS_POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";

pub(super) fn mount_auth(
    aws: &AwsProvider,
    login: MountLogin<'_>,
) -> Result<MountAuth, MountAuthError> {
    let pod_identity = match login.aws_auth.unwrap_or("irsa") {
        "irsa" => false,
        "podIdentity" => true,
        other => {
            return Err(MountAuthError::Parameter(format!(
                "parameter awsAuth {other:?} must be \"irsa\" or \"podIdentity\""
            )));
        }
    };
    let auth = aws.auth.as_ref();
    if auth.is_some_and(|a| a.secret_ref.is_some()) {
        return Err(MountAuthError::Shared(
            "spec.provider.aws.auth.secretRef",
            "the store needs auth.jwt (IRSA) or the SecretProviderClass awsAuth: podIdentity",
        ));
    }
    if !pod_identity && auth.and_then(|a| a.jwt.as_ref()).is_none() {
        return Err(MountAuthError::NoPodLogin(
            "spec.provider.aws.auth has no jwt method; IRSA mounts log in as the pod with it \
             (or set the SecretProviderClass parameter awsAuth: podIdentity)",
        ));
    }
    let audience = if pod_identity {
        AWS_POD_IDENTITY_AUDIENCE
    } else {
        given(login.audience).unwrap_or(AWS_STS_AUDIENCE)
    };
    Ok(MountAuth {
        audience: audience.to_owned(),
        login: if pod_identity {
            "aws EKS Pod Identity".to_owned()
        } else {
            "aws IRSA".to_owned()
        },
        annotations: !pod_identity,
        pod_identity,
    })
}
