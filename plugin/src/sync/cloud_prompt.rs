//! The `sync` wizard's questions for a new cloud SecretStore (dialoguer, on stderr): which
//! provider, then that provider's fields with ESO v1's names, built straight into the API
//! types (`spec.provider.aws`, `.azurekv`, `.gcpsm`) for `sync::store::cloud_store` to check.
//! No IO besides the terminal; nothing secret is asked: the store's own credentials stay in a
//! Secret the person names (and creates), or come from a service account's token.
//!
//! Only what the person chose is written: ESO's defaults (PublicCloud, global secrets, no
//! role) are left out, so GitOps tools see no drift; the auth method is always spelled out.

use anyhow::Context as _;
use dialoguer::Input;
use dialoguer::theme::ColorfulTheme;
use secrets_core::api::secret_store::{
    AwsAuth, AwsJwtAuth, AwsProvider, AwsSecretRef, AzureAuthSecretRef, AzureKvProvider, GcpAuth,
    GcpSecretRef, GcpSmProvider, GcpWorkloadIdentityFederation, Provider, ServiceAccountSelector,
};
use secrets_store_azure::cloud::{Cloud, check_vault_url};

use super::prompt::{k8s_name, optional, pick, text};
use super::store::key_ref;

/// The provider a new store reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Vault,
    Aws,
    Azure,
    Gcp,
}

impl Kind {
    /// The store name offered by default.
    pub(crate) fn default_name(self) -> &'static str {
        match self {
            Kind::Vault => "vault",
            Kind::Aws => "aws",
            Kind::Azure => "azure",
            Kind::Gcp => "gcp",
        }
    }
}

/// Which provider the new store is for.
pub(crate) fn kind(theme: &ColorfulTheme) -> anyhow::Result<Kind> {
    let items = [
        "Vault / OpenBao".to_owned(),
        "AWS Secrets Manager".to_owned(),
        "Azure Key Vault".to_owned(),
        "GCP Secret Manager".to_owned(),
    ];
    Ok(match pick(theme, "Provider", &items)? {
        0 => Kind::Vault,
        1 => Kind::Aws,
        2 => Kind::Azure,
        _ => Kind::Gcp,
    })
}

fn service_account(theme: &ColorfulTheme, prompt: &str) -> anyhow::Result<ServiceAccountSelector> {
    Ok(ServiceAccountSelector {
        name: k8s_name(theme, prompt, "default".to_owned())?,
        namespace: None,
        audiences: None,
    })
}

/// `spec.provider.aws` for the store `name`.
pub(crate) fn aws(theme: &ColorfulTheme, name: &str) -> anyhow::Result<Provider> {
    let region = text(theme, "Region (e.g. eu-west-1)", None)?;
    let kinds = [
        "jwt: IRSA, a service account's token (jwt.serviceAccountRef)".to_owned(),
        "secretRef: an access key kept in a Secret".to_owned(),
    ];
    let auth = match pick(theme, "How the agent logs in", &kinds)? {
        0 => AwsAuth {
            jwt: Some(AwsJwtAuth {
                service_account_ref: Some(service_account(
                    theme,
                    "Service account (annotated with its IAM role)",
                )?),
                ..AwsJwtAuth::default()
            }),
            ..AwsAuth::default()
        },
        _ => {
            let secret = k8s_name(
                theme,
                "Secret holding the access key",
                format!("{name}-credentials"),
            )?;
            let id = text(
                theme,
                "Key of the access key id",
                Some("access-key-id".into()),
            )?;
            let key = text(
                theme,
                "Key of the secret access key",
                Some("secret-access-key".into()),
            )?;
            AwsAuth {
                secret_ref: Some(AwsSecretRef {
                    access_key_id_secret_ref: Some(key_ref(&secret, &id)),
                    secret_access_key_secret_ref: Some(key_ref(&secret, &key)),
                    ..AwsSecretRef::default()
                }),
                ..AwsAuth::default()
            }
        }
    };
    let role = optional(theme, "Role ARN to assume (empty: none)", None)?;
    Ok(Provider {
        aws: Some(AwsProvider {
            service: "SecretsManager".to_owned(),
            region: region.trim().to_owned(),
            role,
            auth: Some(auth),
            ..AwsProvider::default()
        }),
        ..Provider::default()
    })
}

/// `spec.provider.azurekv` for the store `name`; the vault URL is checked against the chosen
/// cloud by the store crate's own rule.
pub(crate) fn azure(theme: &ColorfulTheme, name: &str) -> anyhow::Result<Provider> {
    let clouds = [Cloud::Public, Cloud::UsGovernment, Cloud::China];
    let names: Vec<String> = clouds.iter().map(|c| c.name().to_owned()).collect();
    let cloud = clouds[pick(theme, "Azure cloud (environmentType)", &names)?];
    let vault_url: String = Input::with_theme(theme)
        .with_prompt(format!("Vault URL (https://NAME{})", cloud.vault_suffix()))
        .validate_with(|url: &String| check_vault_url(url.trim(), cloud).map(|_| ()))
        .interact_text()
        .context("asking for the vault url")?;
    let tenant = text(theme, "Tenant id", None)?;
    let kinds = [
        "ServicePrincipal: a client id and secret kept in a Secret".to_owned(),
        "WorkloadIdentity: a service account's token".to_owned(),
    ];
    let mut provider = AzureKvProvider {
        vault_url: vault_url.trim().trim_end_matches('/').to_owned(),
        tenant_id: Some(tenant.trim().to_owned()),
        environment_type: (cloud != Cloud::Public).then(|| cloud.name().to_owned()),
        ..AzureKvProvider::default()
    };
    if pick(theme, "How the agent logs in (authType)", &kinds)? == 0 {
        let secret = k8s_name(
            theme,
            "Secret holding the client id and secret",
            format!("{name}-sp"),
        )?;
        let id = text(theme, "Key of the client id", Some("client-id".into()))?;
        let key = text(
            theme,
            "Key of the client secret",
            Some("client-secret".into()),
        )?;
        provider.auth_type = Some("ServicePrincipal".to_owned());
        provider.auth_secret_ref = Some(AzureAuthSecretRef {
            client_id: Some(key_ref(&secret, &id)),
            client_secret: Some(key_ref(&secret, &key)),
            ..AzureAuthSecretRef::default()
        });
    } else {
        provider.auth_type = Some("WorkloadIdentity".to_owned());
        provider.service_account_ref = Some(service_account(
            theme,
            "Service account (annotated with its client id)",
        )?);
    }
    Ok(Provider {
        azurekv: Some(provider),
        ..Provider::default()
    })
}

/// `spec.provider.gcpsm` for the store `name`.
pub(crate) fn gcp(theme: &ColorfulTheme, name: &str) -> anyhow::Result<Provider> {
    let project = text(theme, "Project id (projectID)", None)?;
    let location = optional(
        theme,
        "Location, for regional secrets (empty: global)",
        None,
    )?;
    let kinds = [
        "workloadIdentityFederation: a service account's token exchanged at STS".to_owned(),
        "secretRef: a service-account key JSON kept in a Secret".to_owned(),
    ];
    let auth = match pick(theme, "How the agent logs in", &kinds)? {
        0 => GcpAuth {
            workload_identity_federation: Some(GcpWorkloadIdentityFederation {
                audience: Some(text(
                    theme,
                    "Pool provider audience (//iam.googleapis.com/projects/NUMBER/locations/\
                     global/workloadIdentityPools/POOL/providers/PROVIDER)",
                    None,
                )?),
                service_account_ref: Some(service_account(theme, "Service account")?),
                gcp_service_account_email: optional(
                    theme,
                    "Google service account to impersonate (empty: none)",
                    None,
                )?,
                ..GcpWorkloadIdentityFederation::default()
            }),
            ..GcpAuth::default()
        },
        _ => {
            let secret = k8s_name(theme, "Secret holding the key JSON", format!("{name}-key"))?;
            let key = text(theme, "Key in that Secret", Some("key.json".into()))?;
            GcpAuth {
                secret_ref: Some(GcpSecretRef {
                    secret_access_key_secret_ref: Some(key_ref(&secret, &key)),
                    ..GcpSecretRef::default()
                }),
                ..GcpAuth::default()
            }
        }
    };
    Ok(Provider {
        gcpsm: Some(GcpSmProvider {
            project_id: Some(project.trim().to_owned()),
            location,
            auth: Some(auth),
            ..GcpSmProvider::default()
        }),
        ..Provider::default()
    })
}
