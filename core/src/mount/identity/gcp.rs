//! GCP mounts: workload identity federation as the pod. The pod's token, requested for the
//! pool's audience (the SPC's `audience`, else the store's
//! `workloadIdentityFederation.audience`), is exchanged at STS for the store's pool provider;
//! then the store's `gcpServiceAccountEmail` is impersonated, or, when it names none, the one
//! in the pod's account annotation `iam.gke.io/gcp-service-account` (so the provider reads the
//! account), or none (the federated principal reads directly). A key JSON (`secretRef`) is
//! refused: it would give every pod the key's access.

use super::{MountAuth, MountAuthError, MountLogin, given};
use crate::api::secret_store::GcpSmProvider;

pub(super) fn mount_auth(
    gcp: &GcpSmProvider,
    login: MountLogin<'_>,
) -> Result<MountAuth, MountAuthError> {
    let auth = gcp.auth.as_ref();
    if auth.is_some_and(|a| a.secret_ref.is_some()) {
        return Err(MountAuthError::Shared(
            "spec.provider.gcpsm.auth.secretRef",
            "the store needs auth.workloadIdentityFederation (audience)",
        ));
    }
    let Some(wif) = auth.and_then(|a| a.workload_identity_federation.as_ref()) else {
        return Err(MountAuthError::NoPodLogin(
            "spec.provider.gcpsm.auth has no workloadIdentityFederation; mounts log in as the \
             pod with it",
        ));
    };
    let pool = wif.audience.as_deref().filter(|a| !a.is_empty());
    let Some(pool) = pool else {
        return Err(MountAuthError::NoPodLogin(
            "spec.provider.gcpsm.auth.workloadIdentityFederation.audience is required",
        ));
    };
    let audience = given(login.audience).unwrap_or(pool);
    let email = wif
        .gcp_service_account_email
        .as_deref()
        .filter(|e| !e.is_empty());
    let described = match email {
        Some(email) => format!("gcp workload identity federation ({pool}, as {email})"),
        None => format!("gcp workload identity federation ({pool})"),
    };
    Ok(MountAuth {
        audience: audience.to_owned(),
        login: described,
        annotations: email.is_none(),
        pod_identity: false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{MountAuthError, MountLogin, mount_auth};
    use crate::api::SecretStore;

    fn spec(auth: &str) -> crate::api::SecretStoreSpec {
        let yaml = format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {{name: s}}\nspec:\n  provider:\n    gcpsm:\n      projectID: p\n      auth:\n{auth}"
        );
        serde_yaml_ng::from_str::<SecretStore>(&yaml).unwrap().spec
    }

    const POOL: &str =
        "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k";

    #[test]
    fn the_pod_token_is_for_the_pool_audience() {
        let s = spec(&format!(
            "        workloadIdentityFederation: {{audience: \"{POOL}\"}}\n"
        ));
        let auth = mount_auth(&s, MountLogin::default()).unwrap();
        assert_eq!(auth.audience, POOL);
        assert!(
            auth.annotations,
            "no email: the pod's account annotation names one"
        );
        assert!(!auth.pod_identity);
        let mine = mount_auth(
            &s,
            MountLogin {
                audience: Some("https://iam.googleapis.com/x"),
                aws_auth: None,
            },
        )
        .unwrap();
        assert_eq!(mine.audience, "https://iam.googleapis.com/x");
        let s = spec(&format!(
            "        workloadIdentityFederation:\n          audience: \"{POOL}\"\n          gcpServiceAccountEmail: r@p.iam.gserviceaccount.com\n"
        ));
        let auth = mount_auth(&s, MountLogin::default()).unwrap();
        assert!(
            !auth.annotations && auth.login.contains("as r@p.iam.gserviceaccount.com"),
            "{auth:?}"
        );
    }

    #[test]
    fn keys_and_missing_federation_are_refused() {
        let err = mount_auth(
            &spec("        secretRef:\n          secretAccessKeySecretRef: {name: k, key: k}\n"),
            MountLogin::default(),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                MountAuthError::Shared("spec.provider.gcpsm.auth.secretRef", _)
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("shared credentials"), "{err}");
        let err = mount_auth(
            &spec("        workloadIdentityFederation: {}\n"),
            MountLogin::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("audience is required"), "{err}");
        let err = mount_auth(
            &spec("        workloadIdentity: {serviceAccountRef: {name: a}}\n"),
            MountLogin::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("no workloadIdentityFederation"),
            "{err}"
        );
    }
}
