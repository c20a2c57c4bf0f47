//! `spec.provider.aws` checks (no IO), with ESO's field semantics. Each problem names its field
//! path: the service (only `SecretsManager`; `ParameterStore` and `CertificateManager` refused
//! by name), the region, exactly one auth method (none is refused: the agent never lends its
//! own identity), the Secret and service-account refs against the store's kind, role ARNs,
//! and every ESO field this version does not implement (`sessionTags`, `transitiveTagKeys`,
//! `sessionTagsPolicy`, `customSessionTags`, `secretsManager`, …), named as unsupported.

use crate::api::SecretKeySelector;
use crate::api::secret_store::AwsProvider;

use super::{namespaced_ref, unknown};

const PATH: &str = "spec.provider.aws";

/// Problems with `spec.provider.aws`; `cluster` is true for a ClusterSecretStore;
/// `service_account_required` is false for a store read by mounts (they log in as the pod's
/// own account, so a `serviceAccountRef`, and for EKS Pod Identity any auth, may be left out).
pub(super) fn provider(
    p: &AwsProvider,
    cluster: bool,
    service_account_required: bool,
    problems: &mut Vec<String>,
) {
    unknown(PATH, &p.unknown, problems, "");
    match p.service.as_str() {
        "SecretsManager" => {}
        "ParameterStore" | "CertificateManager" => problems.push(format!(
            "{PATH}.service {:?} is not supported by kubectl-secrets (only \"SecretsManager\")",
            p.service
        )),
        "" => problems.push(format!("{PATH}.service is required (\"SecretsManager\")")),
        other => problems.push(format!(
            "{PATH}.service {other:?} must be \"SecretsManager\""
        )),
    }
    let region = p.region.trim();
    if region.is_empty() {
        problems.push(format!("{PATH}.region is required (e.g. eu-west-1)"));
    } else if !region_name(region) {
        problems.push(format!(
            "{PATH}.region {region:?} is not a region name (such as eu-west-1)"
        ));
    }
    for (i, role) in p.additional_roles.iter().flatten().enumerate() {
        role_arn(&format!("{PATH}.additionalRoles[{i}]"), role, problems);
    }
    if let Some(role) = &p.role {
        role_arn(&format!("{PATH}.role"), role, problems);
    }
    if p.external_id.is_some() && p.role.as_deref().is_none_or(|r| r.trim().is_empty()) {
        problems.push(format!(
            "{PATH}.externalID is set but {PATH}.role is not (the external id is passed when \
             assuming role)"
        ));
    }
    auth(p, cluster, service_account_required, problems);
}

fn auth(
    p: &AwsProvider,
    cluster: bool,
    service_account_required: bool,
    problems: &mut Vec<String>,
) {
    let path = format!("{PATH}.auth");
    let Some(auth) = &p.auth else {
        if service_account_required {
            problems.push(format!(
                "{path} is required: set secretRef (static keys) or jwt.serviceAccountRef (IRSA); \
                 the agent never lends its own identity"
            ));
        }
        return;
    };
    unknown(
        &path,
        &auth.unknown,
        problems,
        " (supported: secretRef, jwt)",
    );
    match (&auth.secret_ref, &auth.jwt) {
        (Some(_), Some(_)) => {
            problems.push(format!("{path} must set exactly one of secretRef, jwt"))
        }
        (None, None) if auth.unknown.is_empty() && service_account_required => {
            problems.push(format!(
                "{path} needs one of secretRef, jwt.serviceAccountRef; the agent never lends its \
                 own identity"
            ))
        }
        _ => {}
    }
    if let Some(keys) = &auth.secret_ref {
        let path = format!("{path}.secretRef");
        unknown(&path, &keys.unknown, problems, "");
        let refs = [
            ("accessKeyIDSecretRef", &keys.access_key_id_secret_ref, true),
            (
                "secretAccessKeySecretRef",
                &keys.secret_access_key_secret_ref,
                true,
            ),
            (
                "sessionTokenSecretRef",
                &keys.session_token_secret_ref,
                false,
            ),
        ];
        for (name, selector, required) in refs {
            let field = format!("{path}.{name}");
            match selector {
                Some(s) => secret_key(&field, s, cluster, problems),
                None if required => problems.push(format!("{field} is required")),
                None => {}
            }
        }
    }
    if let Some(jwt) = &auth.jwt {
        let path = format!("{path}.jwt");
        unknown(&path, &jwt.unknown, problems, "");
        match &jwt.service_account_ref {
            Some(sa) => {
                let field = format!("{path}.serviceAccountRef");
                if sa.name.trim().is_empty() {
                    problems.push(format!("{field}.name is required"));
                }
                namespaced_ref(&field, &sa.namespace, cluster, problems);
            }
            None if service_account_required => problems.push(format!(
                "{path}.serviceAccountRef is required (the agent never logs in as itself)"
            )),
            None => {}
        }
    }
}

fn secret_key(field: &str, s: &SecretKeySelector, cluster: bool, problems: &mut Vec<String>) {
    unknown(field, &s.unknown, problems, "");
    if s.name.trim().is_empty() {
        problems.push(format!("{field}.name is required"));
    }
    if s.key.as_deref().is_none_or(|k| k.trim().is_empty()) {
        problems.push(format!("{field}.key is required"));
    }
    namespaced_ref(field, &s.namespace, cluster, problems);
}

fn role_arn(field: &str, role: &str, problems: &mut Vec<String>) {
    let role = role.trim();
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts.first() == Some(&"arn")
        && parts.get(2) == Some(&"iam")
        && parts.get(5).is_some_and(|r| r.starts_with("role/"));
    if !ok {
        problems.push(format!(
            "{field} {role:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        ));
    }
}

fn region_name(region: &str) -> bool {
    region.len() <= 64
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !region.starts_with('-')
        && !region.ends_with('-')
}

#[cfg(test)]
mod tests {
    use crate::api::secret_store::SecretStoreSpec;
    use crate::sync::validate::{store, store_for_mount};

    fn spec(aws: &str) -> SecretStoreSpec {
        let yaml = format!("provider:\n  aws:\n{aws}");
        serde_yaml_ng::from_str(&yaml).unwrap()
    }

    const KEYS: &str = "    auth:\n      secretRef:\n        accessKeyIDSecretRef: {name: k, key: id}\n        secretAccessKeySecretRef: {name: k, key: secret}\n";

    #[test]
    fn a_complete_store_passes() {
        let s = spec(&format!(
            "    service: SecretsManager\n    region: eu-west-1\n    role: arn:aws:iam::1:role/r\n    externalID: x\n    additionalRoles: [\"arn:aws-cn:iam::2:role/path/hop\"]\n    prefix: app/\n{KEYS}"
        ));
        assert_eq!(store(&s, false), Vec::<String>::new());
        let irsa = spec(
            "    service: SecretsManager\n    region: eu-west-1\n    auth:\n      jwt:\n        serviceAccountRef: {name: app}\n",
        );
        assert_eq!(store(&irsa, false), Vec::<String>::new());
    }

    #[test]
    fn other_services_and_missing_region_are_named() {
        let s = spec(&format!(
            "    service: ParameterStore\n    region: \"\"\n{KEYS}"
        ));
        let problems = store(&s, false);
        assert!(
            problems.contains(&"spec.provider.aws.service \"ParameterStore\" is not supported by kubectl-secrets (only \"SecretsManager\")".to_owned()),
            "{problems:?}"
        );
        assert!(
            problems.contains(&"spec.provider.aws.region is required (e.g. eu-west-1)".to_owned()),
            "{problems:?}"
        );
        let s = spec(&format!(
            "    service: CertificateManager\n    region: eu-west-1\n{KEYS}"
        ));
        assert!(store(&s, false)[0].contains("\"CertificateManager\" is not supported"));
    }

    #[test]
    fn no_auth_is_refused_for_sync_but_not_for_mounts() {
        let s = spec("    service: SecretsManager\n    region: eu-west-1\n");
        let problems = store(&s, false);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("never lends its own identity"),
            "{problems:?}"
        );
        assert_eq!(store_for_mount(&s, false), Vec::<String>::new());
        let jwt =
            spec("    service: SecretsManager\n    region: eu-west-1\n    auth:\n      jwt: {}\n");
        assert!(store(&jwt, false)[0].contains("jwt.serviceAccountRef is required"));
        assert_eq!(store_for_mount(&jwt, false), Vec::<String>::new());
    }

    #[test]
    fn both_methods_missing_keys_and_namespaces() {
        let s = spec(
            "    service: SecretsManager\n    region: eu-west-1\n    auth:\n      secretRef:\n        accessKeyIDSecretRef: {name: k, key: id, namespace: other}\n      jwt:\n        serviceAccountRef: {name: app}\n",
        );
        let problems = store(&s, false);
        for expected in [
            "spec.provider.aws.auth must set exactly one of secretRef, jwt",
            "spec.provider.aws.auth.secretRef.secretAccessKeySecretRef is required",
            "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef.namespace is only allowed on a ClusterSecretStore (a SecretStore uses its own namespace)",
        ] {
            assert!(
                problems.contains(&expected.to_owned()),
                "{expected}: {problems:?}"
            );
        }
        let cluster = spec(
            "    service: SecretsManager\n    region: eu-west-1\n    auth:\n      jwt:\n        serviceAccountRef: {name: app}\n",
        );
        assert_eq!(
            store(&cluster, true),
            [
                "spec.provider.aws.auth.jwt.serviceAccountRef.namespace is required on a ClusterSecretStore"
            ]
        );
    }

    #[test]
    fn unsupported_eso_fields_and_bad_roles_are_named() {
        let s = spec(&format!(
            "    service: SecretsManager\n    region: eu-west-1\n    sessionTags: [{{key: a, value: b}}]\n    transitiveTagKeys: [a]\n    secretsManager: {{forceDeleteWithoutRecovery: true}}\n    role: my-role\n    additionalRoles: [\"arn:aws:s3:::bucket\"]\n{KEYS}"
        ));
        let problems = store(&s, false);
        for expected in [
            "spec.provider.aws.sessionTags is not supported by kubectl-secrets",
            "spec.provider.aws.transitiveTagKeys is not supported by kubectl-secrets",
            "spec.provider.aws.secretsManager is not supported by kubectl-secrets",
            "spec.provider.aws.role \"my-role\" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
            "spec.provider.aws.additionalRoles[0] \"arn:aws:s3:::bucket\" is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
        ] {
            assert!(
                problems.contains(&expected.to_owned()),
                "{expected}: {problems:?}"
            );
        }
        let ext = spec(&format!(
            "    service: SecretsManager\n    region: eu-west-1\n    externalID: x\n{KEYS}"
        ));
        assert!(store(&ext, false)[0].contains("externalID is set but"));
        let region = spec(&format!(
            "    service: SecretsManager\n    region: EU-West-1\n{KEYS}"
        ));
        assert!(store(&region, false)[0].contains("is not a region name"));
    }
}
