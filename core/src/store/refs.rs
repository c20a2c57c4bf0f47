//! Which Kubernetes objects a store spec points at, and in which namespace, without IO: the CA
//! (Vault `caProvider`), and the credentials (Vault `auth.tokenSecretRef`,
//! `auth.kubernetes.serviceAccountRef`, `auth.appRole.secretRef`; the cloud stores' Secret
//! refs and service accounts, in [`cloud`]). The agent and the plugin both resolve a store through these
//! functions and do only the reading themselves, so the two can never disagree on a namespace.
//!
//! The rule is ESO's: a SecretStore's refs live in the store's own namespace (a `namespace` on
//! one is refused by validation); a ClusterSecretStore has no namespace of its own, so each ref
//! must name one, and a ref without one is [`ErrorKind::InvalidConfig`] naming the field
//! (`spec.provider.vault.caProvider.namespace is required on a ClusterSecretStore`).

use std::fmt;

use super::{ErrorKind, StoreError, StoreType};
use crate::api::SecretKeySelector;
use crate::api::secret_store::{CaProvider, CaProviderType, SecretStoreSpec, VaultProvider};

mod cloud;

/// Where the store object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// A SecretStore in this namespace.
    Namespaced(&'a str),
    /// A ClusterSecretStore.
    Cluster,
}

/// The kind of object a key ref names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// A Secret (`data`, base64 in the API).
    Secret,
    /// A ConfigMap (`data`, text).
    ConfigMap,
}

/// One key of one Secret or ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyRef {
    /// Secret or ConfigMap.
    pub kind: ObjectKind,
    /// Its namespace, resolved.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The key in it.
    pub key: String,
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ObjectKind::Secret => "Secret",
            ObjectKind::ConfigMap => "ConfigMap",
        };
        write!(
            f,
            "{kind} {}/{} key {:?}",
            self.namespace, self.name, self.key
        )
    }
}

/// What a store logs in with, as references the caller reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CredentialRef {
    /// A token kept in a Secret.
    Token(KeyRef),
    /// A token the caller requests for a service account (TokenRequest).
    ServiceAccount {
        /// Its namespace, resolved.
        namespace: String,
        /// Its name.
        name: String,
        /// The audiences to request.
        audiences: Vec<String>,
    },
    /// A role id and the Secret key holding the secret id.
    AppRole {
        /// The role id (not a secret).
        role_id: String,
        /// Where the secret id is.
        secret_id: KeyRef,
    },
    /// Named Secret keys (AWS static keys, an Azure service principal, a GCP key JSON): the
    /// caller reads each into `Credentials::Keys` under its name.
    Keys(Vec<NamedKeyRef>),
    /// A service account's token (requested for `audiences`) and annotations, with named
    /// Secret keys beside it: the caller makes `Credentials::Federated`.
    Federated {
        /// Its namespace, resolved.
        namespace: String,
        /// Its name.
        name: String,
        /// The audiences to request.
        audiences: Vec<String>,
        /// Named keys read beside the token (Azure `clientId`, `tenantId`).
        keys: Vec<NamedKeyRef>,
    },
}

/// A Secret key read into the credentials under `name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamedKeyRef {
    /// The name the store looks it up by (`accessKeyID`, `clientSecret`, …).
    pub name: String,
    /// Where it is.
    pub key: KeyRef,
}

fn named(keys: &[NamedKeyRef]) -> String {
    keys.iter()
        .map(|k| format!("{} from {}", k.name, k.key))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for CredentialRef {
    /// A description that identifies the credentials (never their value): the read cache keys
    /// on it, so two stores reading as different identities never share a read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialRef::Token(r) => write!(f, "token from {r}"),
            CredentialRef::ServiceAccount {
                namespace,
                name,
                audiences,
            } => write!(
                f,
                "service account {namespace}/{name} (audiences {audiences:?})"
            ),
            CredentialRef::AppRole { role_id, secret_id } => {
                write!(f, "approle {role_id:?} with the secret id from {secret_id}")
            }
            CredentialRef::Keys(keys) => write!(f, "keys ({})", named(keys)),
            CredentialRef::Federated {
                namespace,
                name,
                audiences,
                keys,
            } => {
                write!(
                    f,
                    "service account {namespace}/{name} (audiences {audiences:?})"
                )?;
                if !keys.is_empty() {
                    write!(f, " with {}", named(keys))?;
                }
                Ok(())
            }
        }
    }
}

/// Everything a store spec points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRefs {
    /// The CA bundle's location, when `caProvider` is set.
    pub ca: Option<KeyRef>,
    /// The credentials.
    pub credentials: CredentialRef,
}

const VAULT: StoreType = StoreType::new("vault");

fn invalid(message: String) -> StoreError {
    invalid_for(VAULT, message)
}

fn invalid_for(store: StoreType, message: String) -> StoreError {
    StoreError::new(store, ErrorKind::InvalidConfig, message)
}

/// The namespace a ref at `field` lives in.
fn namespace(field: &str, given: Option<&str>, scope: Scope<'_>) -> Result<String, StoreError> {
    match (scope, given) {
        (Scope::Namespaced(own), _) => Ok(own.to_owned()),
        (Scope::Cluster, Some(ns)) if !ns.is_empty() => Ok(ns.to_owned()),
        (Scope::Cluster, _) => Err(invalid(format!(
            "{field}.namespace is required on a ClusterSecretStore"
        ))),
    }
}

fn secret_key(
    field: &str,
    sel: &SecretKeySelector,
    default_key: &str,
    scope: Scope<'_>,
) -> Result<KeyRef, StoreError> {
    Ok(KeyRef {
        kind: ObjectKind::Secret,
        namespace: namespace(field, sel.namespace.as_deref(), scope)?,
        name: sel.name.clone(),
        key: sel.key.clone().unwrap_or_else(|| default_key.to_owned()),
    })
}

/// Where a Vault store's `caProvider` points, if it has one.
pub fn ca_provider(vault: &VaultProvider, scope: Scope<'_>) -> Result<Option<KeyRef>, StoreError> {
    let Some(CaProvider {
        type_,
        name,
        key,
        namespace: given,
    }) = &vault.ca_provider
    else {
        return Ok(None);
    };
    let field = "spec.provider.vault.caProvider";
    Ok(Some(KeyRef {
        kind: match type_ {
            CaProviderType::Secret => ObjectKind::Secret,
            CaProviderType::ConfigMap => ObjectKind::ConfigMap,
        },
        namespace: namespace(field, given.as_deref(), scope)?,
        name: name.clone(),
        key: key.clone(),
    }))
}

/// Where a Vault store's credentials are.
pub fn vault_credentials(
    vault: &VaultProvider,
    scope: Scope<'_>,
) -> Result<CredentialRef, StoreError> {
    let auth = &vault.auth;
    let field = "spec.provider.vault.auth";
    if let Some(sel) = &auth.token_secret_ref {
        return Ok(CredentialRef::Token(secret_key(
            &format!("{field}.tokenSecretRef"),
            sel,
            "token",
            scope,
        )?));
    }
    if let Some(k) = &auth.kubernetes {
        let sa_field = format!("{field}.kubernetes.serviceAccountRef");
        let Some(sa) = &k.service_account_ref else {
            return Err(invalid(format!(
                "{sa_field} is required (the agent never logs in as itself)"
            )));
        };
        return Ok(CredentialRef::ServiceAccount {
            namespace: namespace(&sa_field, sa.namespace.as_deref(), scope)?,
            name: sa.name.clone(),
            audiences: sa.audiences.clone().unwrap_or_default(),
        });
    }
    if let Some(a) = &auth.app_role {
        return Ok(CredentialRef::AppRole {
            role_id: a.role_id.clone().unwrap_or_default(),
            secret_id: secret_key(
                &format!("{field}.appRole.secretRef"),
                &a.secret_ref,
                "secretId",
                scope,
            )?,
        });
    }
    Err(invalid(format!(
        "{field} needs one of tokenSecretRef, kubernetes, appRole"
    )))
}

/// Everything `spec` points at.
pub fn resolve(spec: &SecretStoreSpec, scope: Scope<'_>) -> Result<StoreRefs, StoreError> {
    let p = &spec.provider;
    if let Some(vault) = &p.vault {
        return Ok(StoreRefs {
            ca: ca_provider(vault, scope)?,
            credentials: vault_credentials(vault, scope)?,
        });
    }
    let credentials = if let Some(aws) = &p.aws {
        cloud::aws(aws, scope)?
    } else if let Some(azure) = &p.azurekv {
        cloud::azure(azure, scope)?
    } else if let Some(gcp) = &p.gcpsm {
        cloud::gcp(gcp, scope)?
    } else {
        return Err(invalid_for(
            StoreType::new("unknown"),
            "spec.provider needs one of vault, aws, azurekv, gcpsm".into(),
        ));
    };
    Ok(StoreRefs {
        ca: None,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ClusterSecretStore, SecretStore};

    fn spec(kind: &str, vault: &str) -> SecretStoreSpec {
        let yaml = format!(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: {kind}\nmetadata: {{name: s}}\nspec:\n  provider:\n    vault:\n      server: https://v:8200\n{vault}"
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

    const TOKEN: &str = "      auth:\n        tokenSecretRef: {name: t, namespace: ops}\n";
    const CA: &str = "      caProvider: {type: ConfigMap, name: ca, key: ca.crt}\n";

    #[test]
    fn a_secret_store_reads_its_refs_in_its_own_namespace() {
        let s = spec(
            "SecretStore",
            &format!("{CA}      auth:\n        tokenSecretRef: {{name: t}}\n"),
        );
        let refs = resolve(&s, Scope::Namespaced("team")).unwrap();
        let ca = refs.ca.unwrap();
        assert_eq!(
            (
                ca.kind,
                ca.namespace.as_str(),
                ca.name.as_str(),
                ca.key.as_str()
            ),
            (ObjectKind::ConfigMap, "team", "ca", "ca.crt")
        );
        assert_eq!(
            refs.credentials,
            CredentialRef::Token(KeyRef {
                kind: ObjectKind::Secret,
                namespace: "team".into(),
                name: "t".into(),
                key: "token".into()
            })
        );
    }

    #[test]
    fn a_cluster_store_ca_provider_must_name_its_namespace() {
        let s = spec("ClusterSecretStore", &format!("{CA}{TOKEN}"));
        let err = resolve(&s, Scope::Cluster).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfig);
        assert_eq!(
            err.to_string(),
            "spec.provider.vault.caProvider.namespace is required on a ClusterSecretStore"
        );
        let named = spec(
            "ClusterSecretStore",
            &format!(
                "      caProvider: {{type: Secret, name: ca, key: ca.crt, namespace: pki}}\n{TOKEN}"
            ),
        );
        let refs = resolve(&named, Scope::Cluster).unwrap();
        let ca = refs.ca.unwrap();
        assert_eq!(
            (ca.kind, ca.namespace.as_str()),
            (ObjectKind::Secret, "pki")
        );
        assert!(matches!(refs.credentials, CredentialRef::Token(r) if r.namespace == "ops"));
    }

    #[test]
    fn cluster_store_credential_refs_must_name_their_namespace() {
        for (auth, field) in [
            (
                "        tokenSecretRef: {name: t}\n",
                "spec.provider.vault.auth.tokenSecretRef",
            ),
            (
                "        kubernetes: {role: r, serviceAccountRef: {name: app}}\n",
                "spec.provider.vault.auth.kubernetes.serviceAccountRef",
            ),
            (
                "        appRole: {roleId: r, secretRef: {name: s}}\n",
                "spec.provider.vault.auth.appRole.secretRef",
            ),
        ] {
            let s = spec("ClusterSecretStore", &format!("      auth:\n{auth}"));
            let err = resolve(&s, Scope::Cluster).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("{field}.namespace is required on a ClusterSecretStore")
            );
            // The same store as a SecretStore resolves in the store's namespace.
            let s = spec("SecretStore", &format!("      auth:\n{auth}"));
            assert!(resolve(&s, Scope::Namespaced("team")).is_ok(), "{field}");
        }
    }

    #[test]
    fn identities_differ_by_credentials_and_show_no_value() {
        let a = spec(
            "SecretStore",
            "      auth:\n        tokenSecretRef: {name: a}\n",
        );
        let b = spec(
            "SecretStore",
            "      auth:\n        tokenSecretRef: {name: b}\n",
        );
        let id = |s: &SecretStoreSpec| {
            resolve(s, Scope::Namespaced("team"))
                .unwrap()
                .credentials
                .to_string()
        };
        assert_eq!(id(&a), "token from Secret team/a key \"token\"");
        assert_ne!(id(&a), id(&b));
    }
}
