//! The cloud stores' refs: AWS `auth.secretRef` / `auth.jwt.serviceAccountRef`, Azure
//! `authSecretRef` / `serviceAccountRef`, GCP `auth.secretRef` /
//! `auth.workloadIdentityFederation.serviceAccountRef`, each resolved to its namespace by the
//! same rule as Vault's. The names given to the keys are the ones the store crates read.

use super::{CredentialRef, NamedKeyRef, Scope, invalid_for, namespace, secret_key};
use crate::api::SecretKeySelector;
use crate::api::secret_store::{
    AwsProvider, AzureKvProvider, GcpSmProvider, ServiceAccountSelector,
};
use crate::mount::identity::{AWS_STS_AUDIENCE, AZURE_AUDIENCE};
use crate::store::{StoreError, StoreType};

const AWS: StoreType = StoreType::new("aws");
const AZURE: StoreType = StoreType::new("azurekv");
const GCP: StoreType = StoreType::new("gcpsm");

/// Same message, this store's type.
fn retype(store: StoreType) -> impl Fn(StoreError) -> StoreError {
    move |e| invalid_for(store, e.message().to_owned())
}

fn key(
    store: StoreType,
    name: &str,
    field: String,
    sel: &SecretKeySelector,
    scope: Scope<'_>,
) -> Result<NamedKeyRef, StoreError> {
    // ESO's selectors name their key; the default only guards an empty one.
    let key = secret_key(&field, sel, name, scope).map_err(retype(store))?;
    Ok(NamedKeyRef {
        name: name.to_owned(),
        key,
    })
}

fn federated(
    store: StoreType,
    field: &str,
    sa: &ServiceAccountSelector,
    first: Option<&str>,
    keys: Vec<NamedKeyRef>,
    scope: Scope<'_>,
) -> Result<CredentialRef, StoreError> {
    let mut audiences: Vec<String> = first.into_iter().map(str::to_owned).collect();
    audiences.extend(sa.audiences.iter().flatten().cloned());
    Ok(CredentialRef::Federated {
        namespace: namespace(field, sa.namespace.as_deref(), scope).map_err(retype(store))?,
        name: sa.name.clone(),
        audiences,
        keys,
    })
}

/// AWS: static keys, or IRSA (a token for `sts.amazonaws.com` plus the store's audiences).
pub(super) fn aws(p: &AwsProvider, scope: Scope<'_>) -> Result<CredentialRef, StoreError> {
    let field = "spec.provider.aws.auth";
    let auth = p.auth.as_ref();
    if let Some(s) = auth.and_then(|a| a.secret_ref.as_ref()) {
        let mut keys = Vec::new();
        for (name, sel, required) in [
            ("accessKeyID", &s.access_key_id_secret_ref, true),
            ("secretAccessKey", &s.secret_access_key_secret_ref, true),
            ("sessionToken", &s.session_token_secret_ref, false),
        ] {
            let sub = format!("{field}.secretRef.{name}SecretRef");
            match sel {
                Some(sel) => keys.push(key(AWS, name, sub, sel, scope)?),
                None if required => {
                    return Err(invalid_for(AWS, format!("{sub} is required")));
                }
                None => {}
            }
        }
        return Ok(CredentialRef::Keys(keys));
    }
    if let Some(sa) = auth
        .and_then(|a| a.jwt.as_ref())
        .and_then(|j| j.service_account_ref.as_ref())
    {
        let sa_field = format!("{field}.jwt.serviceAccountRef");
        return federated(
            AWS,
            &sa_field,
            sa,
            Some(AWS_STS_AUDIENCE),
            Vec::new(),
            scope,
        );
    }
    Err(invalid_for(
        AWS,
        format!(
            "{field} needs secretRef or jwt.serviceAccountRef (the agent never lends its own identity)"
        ),
    ))
}

/// Azure: a service principal's client secret, or workload identity (a token for
/// `api://AzureADTokenExchange`, the client and tenant ids from `authSecretRef` when given).
pub(super) fn azure(p: &AzureKvProvider, scope: Scope<'_>) -> Result<CredentialRef, StoreError> {
    let base = "spec.provider.azurekv";
    let mut keys = Vec::new();
    let auth = p.auth_secret_ref.as_ref();
    for (name, sel) in [
        ("clientId", auth.and_then(|a| a.client_id.as_ref())),
        ("tenantId", auth.and_then(|a| a.tenant_id.as_ref())),
        ("clientSecret", auth.and_then(|a| a.client_secret.as_ref())),
    ] {
        if let Some(sel) = sel {
            let sub = format!("{base}.authSecretRef.{name}");
            keys.push(key(AZURE, name, sub, sel, scope)?);
        }
    }
    match p.auth_type.as_deref().unwrap_or("ServicePrincipal") {
        "WorkloadIdentity" => {
            let Some(sa) = &p.service_account_ref else {
                return Err(invalid_for(
                    AZURE,
                    format!(
                        "{base}.serviceAccountRef is required for WorkloadIdentity (the agent never lends its own identity)"
                    ),
                ));
            };
            let field = format!("{base}.serviceAccountRef");
            federated(AZURE, &field, sa, Some(AZURE_AUDIENCE), keys, scope)
        }
        "ServicePrincipal" => {
            for name in ["clientId", "clientSecret"] {
                if !keys.iter().any(|k| k.name == name) {
                    return Err(invalid_for(
                        AZURE,
                        format!("{base}.authSecretRef.{name} is required for ServicePrincipal"),
                    ));
                }
            }
            Ok(CredentialRef::Keys(keys))
        }
        other => Err(invalid_for(
            AZURE,
            format!(
                "{base}.authType {other:?} is not supported (ServicePrincipal or WorkloadIdentity)"
            ),
        )),
    }
}

/// GCP: a service-account key JSON, or workload identity federation (a token for the pool's
/// `audience`).
pub(super) fn gcp(p: &GcpSmProvider, scope: Scope<'_>) -> Result<CredentialRef, StoreError> {
    let field = "spec.provider.gcpsm.auth";
    let auth = p.auth.as_ref();
    if let Some(sel) = auth
        .and_then(|a| a.secret_ref.as_ref())
        .and_then(|s| s.secret_access_key_secret_ref.as_ref())
    {
        let sub = format!("{field}.secretRef.secretAccessKeySecretRef");
        return Ok(CredentialRef::Keys(vec![key(
            GCP,
            "secretAccessKey",
            sub,
            sel,
            scope,
        )?]));
    }
    if let Some(wif) = auth.and_then(|a| a.workload_identity_federation.as_ref())
        && let Some(sa) = &wif.service_account_ref
    {
        let sa_field = format!("{field}.workloadIdentityFederation.serviceAccountRef");
        let audience = wif.audience.as_deref().filter(|a| !a.is_empty());
        if audience.is_none() {
            return Err(invalid_for(
                GCP,
                format!("{field}.workloadIdentityFederation.audience is required"),
            ));
        }
        return federated(GCP, &sa_field, sa, audience, Vec::new(), scope);
    }
    Err(invalid_for(
        GCP,
        format!(
            "{field} needs secretRef or workloadIdentityFederation.serviceAccountRef (the agent never lends its own identity)"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::{ObjectKind, resolve};
    use super::*;
    use crate::api::{ClusterSecretStore, SecretStore};

    fn spec(kind: &str, provider: &str) -> crate::api::SecretStoreSpec {
        let yaml = format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: {kind}\nmetadata: {{name: s}}\nspec:\n  provider:\n{provider}"
        );
        match kind {
            "SecretStore" => serde_yaml_ng::from_str::<SecretStore>(&yaml).unwrap().spec,
            _ => {
                serde_yaml_ng::from_str::<ClusterSecretStore>(&yaml)
                    .unwrap()
                    .spec
                    .inner
            }
        }
    }

    #[test]
    fn aws_static_keys_and_irsa_resolve_in_the_store_namespace() {
        let keys = spec(
            "SecretStore",
            "    aws:\n      service: SecretsManager\n      region: eu-west-1\n      auth:\n        secretRef:\n          accessKeyIDSecretRef: {name: k, key: id}\n          secretAccessKeySecretRef: {name: k, key: secret}\n",
        );
        let CredentialRef::Keys(k) = resolve(&keys, Scope::Namespaced("team"))
            .unwrap()
            .credentials
        else {
            panic!("keys expected")
        };
        assert_eq!(
            k.iter()
                .map(|k| (
                    k.name.as_str(),
                    k.key.key.as_str(),
                    k.key.namespace.as_str(),
                    k.key.kind
                ))
                .collect::<Vec<_>>(),
            vec![
                ("accessKeyID", "id", "team", ObjectKind::Secret),
                ("secretAccessKey", "secret", "team", ObjectKind::Secret)
            ]
        );
        let irsa = spec(
            "ClusterSecretStore",
            "    aws:\n      service: SecretsManager\n      region: eu-west-1\n      auth:\n        jwt:\n          serviceAccountRef: {name: app, namespace: ops, audiences: [extra]}\n",
        );
        assert_eq!(
            resolve(&irsa, Scope::Cluster).unwrap().credentials,
            CredentialRef::Federated {
                namespace: "ops".into(),
                name: "app".into(),
                audiences: vec!["sts.amazonaws.com".into(), "extra".into()],
                keys: vec![],
            }
        );
    }

    #[test]
    fn missing_auth_and_cluster_namespaces_are_named() {
        let none = spec(
            "SecretStore",
            "    aws:\n      service: SecretsManager\n      region: eu-west-1\n",
        );
        let err = resolve(&none, Scope::Namespaced("team")).unwrap_err();
        assert_eq!(err.store_type().as_str(), "aws");
        assert!(
            err.to_string().contains("never lends its own identity"),
            "{err}"
        );
        let wi = spec(
            "ClusterSecretStore",
            "    azurekv:\n      vaultUrl: https://v.vault.azure.net\n      authType: WorkloadIdentity\n      serviceAccountRef: {name: app}\n",
        );
        assert_eq!(
            resolve(&wi, Scope::Cluster).unwrap_err().to_string(),
            "spec.provider.azurekv.serviceAccountRef.namespace is required on a ClusterSecretStore"
        );
    }

    #[test]
    fn azure_workload_identity_carries_its_secret_keys_and_gcp_its_pool_audience() {
        let wi = spec(
            "SecretStore",
            "    azurekv:\n      vaultUrl: https://v.vault.azure.net\n      authType: WorkloadIdentity\n      serviceAccountRef: {name: app}\n      authSecretRef:\n        clientId: {name: ids, key: client}\n",
        );
        let refs = resolve(&wi, Scope::Namespaced("team")).unwrap().credentials;
        let CredentialRef::Federated {
            audiences, keys, ..
        } = &refs
        else {
            panic!("federated expected")
        };
        assert_eq!(audiences, &vec!["api://AzureADTokenExchange".to_owned()]);
        assert_eq!(keys[0].name, "clientId");
        assert!(
            refs.to_string()
                .contains("clientId from Secret team/ids key \"client\""),
            "{refs}"
        );
        let gcp = spec(
            "SecretStore",
            "    gcpsm:\n      projectID: p\n      auth:\n        workloadIdentityFederation:\n          audience: //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k\n          serviceAccountRef: {name: app}\n",
        );
        let CredentialRef::Federated { audiences, .. } = resolve(&gcp, Scope::Namespaced("team"))
            .unwrap()
            .credentials
        else {
            panic!("federated expected")
        };
        assert_eq!(audiences.len(), 1);
        assert!(audiences[0].starts_with("//iam.googleapis.com/"));
    }
}
