//! `spec.provider.azurekv` checks (no IO). Each problem names its field path.
//!
//! `vaultUrl` must be `https://NAME` + the Key Vault DNS suffix of `environmentType`'s cloud
//! (or a loopback host, for tests); `authType` is `ServicePrincipal` (default: `tenantId` and
//! `authSecretRef.clientId` + `clientSecret`) or `WorkloadIdentity` (`serviceAccountRef`,
//! except for mounts, which log in as the pod); `ManagedIdentity` and the fields we do not
//! implement (`identityId`, `useAzureSDK`, `customCloudConfig`, `clientCertificate`, …) are
//! named. The store crate repeats the URL check at open, so nothing relies on this alone.

use crate::api::SecretKeySelector;
use crate::api::secret_store::AzureKvProvider;

use super::{namespaced_ref, unknown};

const PATH: &str = "spec.provider.azurekv";

/// The Key Vault DNS suffix of an `environmentType`, or the problem with it.
fn vault_suffix(environment: Option<&str>) -> Result<&'static str, String> {
    match environment.unwrap_or("PublicCloud") {
        "" | "PublicCloud" => Ok(".vault.azure.net"),
        "USGovernmentCloud" => Ok(".vault.usgovcloudapi.net"),
        "ChinaCloud" => Ok(".vault.azure.cn"),
        other @ ("GermanCloud" | "AzureStackCloud") => Err(format!(
            "{PATH}.environmentType {other} is not supported by kubectl-secrets (PublicCloud, \
             USGovernmentCloud and ChinaCloud are)"
        )),
        other => Err(format!(
            "{PATH}.environmentType {other:?} is not one of PublicCloud, USGovernmentCloud, ChinaCloud"
        )),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// What is wrong with `url` as a vault of the cloud with `suffix`, if anything.
fn vault_url_problem(url: &str, suffix: &str) -> Option<String> {
    if url.is_empty() {
        return Some(format!("{PATH}.vaultUrl is required"));
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return Some(format!("{PATH}.vaultUrl {url:?} must be an https:// URL"));
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
        return Some(format!(
            "{PATH}.vaultUrl {url:?} must be the vault's address alone (https://NAME{suffix})"
        ));
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(':') => {
            host
        }
        _ => authority,
    };
    if is_loopback(host) {
        return None;
    }
    let lower = host.to_ascii_lowercase();
    match lower.strip_suffix(suffix) {
        Some(name) if !name.is_empty() && !name.contains('.') => None,
        _ => Some(format!(
            "{PATH}.vaultUrl {url:?} is not a Key Vault of this cloud: its host must be NAME{suffix}"
        )),
    }
}

fn required_key(
    path: &str,
    selector: Option<&SecretKeySelector>,
    cluster: bool,
    problems: &mut Vec<String>,
) {
    match selector {
        None => problems.push(format!("{path} is required")),
        Some(s) => {
            if s.key.as_deref().is_none_or(str::is_empty) {
                problems.push(format!("{path}.key is required"));
            }
            namespaced_ref(path, &s.namespace, cluster, problems);
        }
    }
}

/// Problems with `spec.provider.azurekv`; `cluster` is true for a ClusterSecretStore;
/// `service_account_required` is false for a store read by mounts (they log in as the pod's
/// own account, so a `serviceAccountRef` may be left out).
pub(super) fn provider(
    p: &AzureKvProvider,
    cluster: bool,
    service_account_required: bool,
    problems: &mut Vec<String>,
) {
    unknown(PATH, &p.unknown, problems, "");
    match vault_suffix(p.environment_type.as_deref()) {
        Ok(suffix) => problems.extend(vault_url_problem(&p.vault_url, suffix)),
        Err(problem) => problems.push(problem),
    }
    let secret_ref = p.auth_secret_ref.as_ref();
    if let Some(r) = secret_ref {
        unknown(&format!("{PATH}.authSecretRef"), &r.unknown, problems, "");
        for (name, selector) in [("tenantId", &r.tenant_id), ("clientId", &r.client_id)] {
            if let Some(s) = selector {
                namespaced_ref(
                    &format!("{PATH}.authSecretRef.{name}"),
                    &s.namespace,
                    cluster,
                    problems,
                );
            }
        }
    }
    match p.auth_type.as_deref().unwrap_or("ServicePrincipal") {
        "ServicePrincipal" => {
            let has_tenant = p.tenant_id.as_deref().is_some_and(|t| !t.is_empty())
                || secret_ref.is_some_and(|r| r.tenant_id.is_some());
            if !has_tenant {
                problems.push(format!(
                    "{PATH}.tenantId (or authSecretRef.tenantId) is required for authType ServicePrincipal"
                ));
            }
            required_key(
                &format!("{PATH}.authSecretRef.clientId"),
                secret_ref.and_then(|r| r.client_id.as_ref()),
                cluster,
                problems,
            );
            required_key(
                &format!("{PATH}.authSecretRef.clientSecret"),
                secret_ref.and_then(|r| r.client_secret.as_ref()),
                cluster,
                problems,
            );
            if p.service_account_ref.is_some() {
                problems.push(format!(
                    "{PATH}.serviceAccountRef is only used with authType WorkloadIdentity"
                ));
            }
        }
        "WorkloadIdentity" => {
            if let Some(r) = secret_ref
                && r.client_secret.is_some()
            {
                problems.push(format!(
                    "{PATH}.authSecretRef.clientSecret is not used with authType WorkloadIdentity"
                ));
            }
            match &p.service_account_ref {
                Some(sa) => namespaced_ref(
                    &format!("{PATH}.serviceAccountRef"),
                    &sa.namespace,
                    cluster,
                    problems,
                ),
                None if service_account_required => problems.push(format!(
                    "{PATH}.serviceAccountRef is required for authType WorkloadIdentity (the agent \
                     never uses its own identity)"
                )),
                None => {}
            }
        }
        "ManagedIdentity" => problems.push(format!(
            "{PATH}.authType ManagedIdentity is not supported by kubectl-secrets: the agent never \
             lends its own (the node's) identity; use WorkloadIdentity"
        )),
        other => problems.push(format!(
            "{PATH}.authType {other:?} is not one of ServicePrincipal, WorkloadIdentity"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str, cluster: bool, sa_required: bool) -> Vec<String> {
        let p: AzureKvProvider = serde_yaml_ng::from_str(yaml).unwrap();
        let mut out = Vec::new();
        provider(&p, cluster, sa_required, &mut out);
        out
    }

    const SP: &str = "vaultUrl: https://v.vault.azure.net\ntenantId: t\nauthSecretRef:\n  clientId: {name: sp, key: id}\n  clientSecret: {name: sp, key: secret}\n";

    #[test]
    fn a_complete_service_principal_store_passes() {
        assert_eq!(problems(SP, false, true), Vec::<String>::new());
    }

    #[test]
    fn service_principal_needs_tenant_and_keys() {
        let found = problems("vaultUrl: https://v.vault.azure.net\n", false, true);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("tenantId"), "{found:?}");
        assert!(
            found[1].contains("authSecretRef.clientId is required"),
            "{found:?}"
        );
        assert!(
            found[2].contains("authSecretRef.clientSecret is required"),
            "{found:?}"
        );
    }

    #[test]
    fn vault_urls_must_match_the_cloud() {
        let gov = format!("{SP}environmentType: USGovernmentCloud\n");
        let found = problems(&gov, false, true);
        assert!(
            found.len() == 1 && found[0].contains(".vault.usgovcloudapi.net"),
            "{found:?}"
        );
        for url in [
            "http://v.vault.azure.net",
            "https://evil.example.com",
            "https://v.vault.azure.net/x",
            "''",
        ] {
            let yaml = SP.replace("https://v.vault.azure.net", url);
            assert_eq!(problems(&yaml, false, true).len(), 1, "{url}");
        }
        let loopback = SP.replace("https://v.vault.azure.net", "https://127.0.0.1:8443");
        assert!(problems(&loopback, false, true).is_empty());
        let german = format!("{SP}environmentType: GermanCloud\n");
        assert!(problems(&german, false, true)[0].contains("GermanCloud is not supported"));
    }

    #[test]
    fn workload_identity_needs_an_account_except_for_mounts() {
        let wi = "vaultUrl: https://v.vault.azure.net\nauthType: WorkloadIdentity\n";
        assert!(problems(wi, false, true)[0].contains("serviceAccountRef is required"));
        assert!(problems(wi, false, false).is_empty());
        let with_sa = format!("{wi}serviceAccountRef: {{name: web}}\n");
        assert!(problems(&with_sa, false, true).is_empty());
        let cluster = problems(&with_sa, true, true);
        assert!(
            cluster[0].contains("serviceAccountRef.namespace is required"),
            "{cluster:?}"
        );
    }

    #[test]
    fn unsupported_fields_and_auth_types_are_named() {
        let managed = "vaultUrl: https://v.vault.azure.net\nauthType: ManagedIdentity\nidentityId: x\nuseAzureSDK: true\ncustomCloudConfig: {activeDirectoryEndpoint: x}\n";
        let found = problems(managed, false, true).join("\n");
        for name in [
            "identityId",
            "useAzureSDK",
            "customCloudConfig",
            "ManagedIdentity",
        ] {
            assert!(found.contains(name), "{name} not named in {found}");
        }
        let cert = SP.replace(
            "  clientSecret:",
            "  clientCertificate: {name: c, key: k}\n  clientSecret:",
        );
        assert!(problems(&cert, false, true)[0].contains("authSecretRef.clientCertificate"));
    }
}
