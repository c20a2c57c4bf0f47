//! New SecretStores from the wizard's answers, checked with the agent's own validation
//! (`validate::store`) before anything reaches the cluster: [`StoreRequest`] → [`secret_store`]
//! for Vault; a cloud provider block the wizard's cloud questions built (`sync::cloud_prompt`,
//! ESO v1 field names) → [`cloud_store`]. Always namespaced: the wizard never makes
//! cluster-wide stores.

use anyhow::Context as _;
use secrets_core::api::secret_store::{
    Provider, ServiceAccountSelector, VaultAppRole, VaultAuth, VaultKubernetesAuth, VaultKvVersion,
    VaultProvider,
};
use secrets_core::api::{SecretKeySelector, SecretStore, SecretStoreSpec};
use secrets_core::secret;
use secrets_core::sync::validate;

use super::manifest::check;

/// How a new store logs in to Vault.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum StoreAuth {
    /// A Vault token kept in a Secret of the store's namespace.
    Token { secret: String, key: String },
    /// Kubernetes auth as a service account of the store's namespace.
    Kubernetes {
        mount: Option<String>,
        role: String,
        service_account: String,
        audience: Option<String>,
    },
    /// AppRole: the role id, and the secret id kept in a Secret.
    AppRole {
        mount: Option<String>,
        role_id: String,
        secret: String,
        key: String,
    },
}

/// A new SecretStore (namespaced: the wizard never makes cluster-wide stores).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoreRequest {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) server: String,
    pub(crate) mount: String,
    pub(crate) version: VaultKvVersion,
    pub(crate) vault_namespace: Option<String>,
    pub(crate) auth: StoreAuth,
}

/// `{name, key}` of a Secret in the store's namespace.
pub(crate) fn key_ref(name: &str, key: &str) -> SecretKeySelector {
    SecretKeySelector {
        name: name.to_owned(),
        key: Some(key.to_owned()),
        ..SecretKeySelector::default()
    }
}

/// Build and check the SecretStore.
pub(crate) fn secret_store(req: &StoreRequest) -> anyhow::Result<SecretStore> {
    secret::validate_name(&req.name).context("checking the SecretStore's name")?;
    let mut auth = VaultAuth::default();
    match &req.auth {
        StoreAuth::Token { secret, key } => auth.token_secret_ref = Some(key_ref(secret, key)),
        StoreAuth::Kubernetes {
            mount,
            role,
            service_account,
            audience,
        } => {
            auth.kubernetes = Some(VaultKubernetesAuth {
                mount_path: mount.clone(),
                role: role.clone(),
                service_account_ref: Some(ServiceAccountSelector {
                    name: service_account.clone(),
                    namespace: None,
                    audiences: audience.clone().map(|a| vec![a]),
                }),
                ..VaultKubernetesAuth::default()
            })
        }
        StoreAuth::AppRole {
            mount,
            role_id,
            secret,
            key,
        } => {
            auth.app_role = Some(VaultAppRole {
                path: mount.clone(),
                role_id: Some(role_id.clone()),
                secret_ref: key_ref(secret, key),
                ..VaultAppRole::default()
            })
        }
    }
    let spec = SecretStoreSpec {
        provider: Provider {
            vault: Some(VaultProvider {
                server: req.server.clone(),
                path: Some(req.mount.clone()),
                version: Some(req.version),
                namespace: req.vault_namespace.clone(),
                auth,
                ..VaultProvider::default()
            }),
            ..Provider::default()
        },
        ..SecretStoreSpec::default()
    };
    checked(&req.name, &req.namespace, spec)
}

/// A new cloud SecretStore (`provider` holds exactly one of aws, azurekv, gcpsm, as the
/// wizard's cloud questions build it), checked like [`secret_store`].
pub(crate) fn cloud_store(
    name: &str,
    namespace: &str,
    provider: Provider,
) -> anyhow::Result<SecretStore> {
    secret::validate_name(name).context("checking the SecretStore's name")?;
    checked(
        name,
        namespace,
        SecretStoreSpec {
            provider,
            ..SecretStoreSpec::default()
        },
    )
}

/// `spec` through the agent's own store validation, as a SecretStore `namespace/name`.
fn checked(name: &str, namespace: &str, spec: SecretStoreSpec) -> anyhow::Result<SecretStore> {
    let problems = validate::store(&spec, false);
    check(
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        },
        "SecretStore",
        name,
    )?;
    let mut store = SecretStore::new(name, spec);
    store.metadata.namespace = Some(namespace.to_owned());
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrets_core::api::secret_store::AwsProvider;

    #[test]
    fn stores_carry_the_chosen_auth() {
        let store = secret_store(&StoreRequest {
            name: "vault".into(),
            namespace: "team".into(),
            server: "https://vault.example:8200".into(),
            mount: "kv".into(),
            version: VaultKvVersion::V1,
            vault_namespace: None,
            auth: StoreAuth::Kubernetes {
                mount: None,
                role: "app".into(),
                service_account: "app".into(),
                audience: Some("vault".into()),
            },
        })
        .unwrap();
        assert_eq!(
            serde_json::to_value(&store.spec).unwrap(),
            serde_json::json!({"provider": {"vault": {
                "server": "https://vault.example:8200", "path": "kv", "version": "v1",
                "auth": {"kubernetes": {"role": "app",
                    "serviceAccountRef": {"name": "app", "audiences": ["vault"]}}}
            }}})
        );
        let err = secret_store(&StoreRequest {
            name: "vault".into(),
            namespace: "team".into(),
            server: "vault:8200".into(),
            mount: "secret".into(),
            version: VaultKvVersion::V2,
            vault_namespace: None,
            auth: StoreAuth::Token {
                secret: "t".into(),
                key: "token".into(),
            },
        })
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("must be an http:// or https:// URL"), "{err}");
    }

    #[test]
    fn cloud_stores_are_checked_by_the_agents_rules() {
        let aws = |region: &str| Provider {
            aws: Some(AwsProvider {
                service: "SecretsManager".into(),
                region: region.into(),
                auth: Some(secrets_core::api::secret_store::AwsAuth {
                    jwt: Some(secrets_core::api::secret_store::AwsJwtAuth {
                        service_account_ref: Some(ServiceAccountSelector {
                            name: "app".into(),
                            namespace: None,
                            audiences: None,
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..AwsProvider::default()
            }),
            ..Provider::default()
        };
        let store = cloud_store("aws", "team", aws("eu-west-1")).unwrap();
        assert_eq!(store.metadata.namespace.as_deref(), Some("team"));
        assert_eq!(
            serde_json::to_value(&store.spec).unwrap(),
            serde_json::json!({"provider": {"aws": {"service": "SecretsManager",
                "region": "eu-west-1", "auth": {"jwt": {"serviceAccountRef": {"name": "app"}}}}}})
        );
        let err = cloud_store("aws", "team", aws("")).unwrap_err().to_string();
        assert!(
            err.contains("spec.provider.aws.region is required"),
            "{err}"
        );
        let err = cloud_store("Bad", "team", aws("eu-west-1"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("checking the SecretStore's name"), "{err}");
    }
}
