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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::secret_store::SecretStoreSpec;
    use crate::mount::identity::mount_auth as spec_mount_auth;

    fn spec(auth: &str) -> SecretStoreSpec {
        let yaml = format!(
            "provider:\n  aws:\n    service: SecretsManager\n    region: eu-west-1\n{auth}"
        );
        serde_yaml_ng::from_str(&yaml).unwrap()
    }

    const JWT: &str = "    auth:\n      jwt: {}\n";

    fn login<'a>(audience: Option<&'a str>, aws_auth: Option<&'a str>) -> MountLogin<'a> {
        MountLogin { audience, aws_auth }
    }

    #[test]
    fn irsa_is_the_default_with_the_sts_audience_and_annotations() {
        let auth = spec_mount_auth(&spec(JWT), login(None, None)).unwrap();
        assert_eq!(auth.audience, AWS_STS_AUDIENCE);
        assert!(auth.annotations && !auth.pod_identity);
        assert_eq!(auth.login, "aws IRSA");
        // An SPC audience replaces the default (an EKS cluster with a custom audience).
        let custom = spec_mount_auth(&spec(JWT), login(Some("custom"), Some("irsa"))).unwrap();
        assert_eq!(custom.audience, "custom");
    }

    #[test]
    fn pod_identity_uses_its_own_audience_and_needs_no_jwt() {
        for store in [spec(JWT), spec("")] {
            let auth =
                spec_mount_auth(&store, login(Some("ignored"), Some("podIdentity"))).unwrap();
            assert_eq!(auth.audience, AWS_POD_IDENTITY_AUDIENCE);
            assert!(auth.pod_identity && !auth.annotations);
        }
    }

    #[test]
    fn static_keys_bad_parameters_and_missing_jwt_are_refused() {
        let keys = spec(
            "    auth:\n      secretRef:\n        accessKeyIDSecretRef: {name: k, key: id}\n        secretAccessKeySecretRef: {name: k, key: s}\n",
        );
        for aws_auth in [None, Some("podIdentity")] {
            let err = spec_mount_auth(&keys, login(None, aws_auth)).unwrap_err();
            assert!(matches!(err, MountAuthError::Shared(..)), "{err:?}");
            assert!(err.to_string().contains("auth.secretRef"), "{err}");
        }
        let err = spec_mount_auth(&spec(JWT), login(None, Some("kiam"))).unwrap_err();
        assert!(err.to_string().contains("\"kiam\""), "{err}");
        let err = spec_mount_auth(&spec(""), login(None, None)).unwrap_err();
        assert!(matches!(err, MountAuthError::NoPodLogin(_)), "{err:?}");
    }
}
