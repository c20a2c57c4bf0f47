//! Spec checks done before any IO: unimplemented ESO fields, bad enums the schema cannot
//! express, missing choices. Each problem names the field path, so the `Ready=False` message
//! says exactly what to change.

use std::time::Duration;

use super::duration;
use crate::api::Unknown;
use crate::api::external_secret::{ExternalSecretSpec, RemoteRef};
use crate::api::secret_store::{SecretStoreSpec, VaultProvider};

mod aws;
mod azure;
mod gcp;

/// Default ExternalSecret refresh interval (ESO's).
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

fn unknown(path: &str, fields: &Unknown, problems: &mut Vec<String>, hint: &str) {
    for name in fields.keys() {
        problems.push(format!(
            "{path}.{name} is not supported by kubectl-secrets{hint}"
        ));
    }
}

fn only_value(path: &str, value: Option<&str>, allowed: &str, problems: &mut Vec<String>) {
    if let Some(v) = value
        && v != allowed
    {
        problems.push(format!(
            "{path} {v:?} is not supported by kubectl-secrets (only {allowed:?})"
        ));
    }
}

/// Why `path` cannot be a Vault path (one with an empty, `.` or `..` segment would address
/// another endpoint, or none), if it cannot. Leading and trailing slashes do not count.
fn vault_path_problem(path: &str) -> Option<&'static str> {
    let path = path.trim_matches('/');
    if path.is_empty() {
        return Some("it is empty");
    }
    if path.split('/').any(str::is_empty) {
        return Some("it has an empty segment (\"//\")");
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Some("it has a \".\" or \"..\" segment");
    }
    None
}

/// Problems with a store spec; `cluster` is true for a ClusterSecretStore.
pub fn store(spec: &SecretStoreSpec, cluster: bool) -> Vec<String> {
    store_with(spec, cluster, true)
}

/// Problems with a store spec a mount reads through: as [`store`], except that
/// `auth.kubernetes.serviceAccountRef` may be left out, since a mount logs in as the pod's own
/// service account (see `mount::identity`).
pub fn store_for_mount(spec: &SecretStoreSpec, cluster: bool) -> Vec<String> {
    store_with(spec, cluster, false)
}

fn store_with(
    spec: &SecretStoreSpec,
    cluster: bool,
    service_account_required: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    unknown("spec", &spec.unknown, &mut problems, "");
    if !cluster && spec.conditions.is_some() {
        problems.push("spec.conditions is only allowed on a ClusterSecretStore".into());
    }
    for (i, c) in spec.conditions.iter().flatten().enumerate() {
        unknown(
            &format!("spec.conditions[{i}]"),
            &c.unknown,
            &mut problems,
            " (use namespaces or namespaceSelector)",
        );
    }
    if spec.refresh_interval.is_some_and(|s| s < 0) {
        problems.push("spec.refreshInterval must not be negative".into());
    }
    unknown(
        "spec.provider",
        &spec.provider.unknown,
        &mut problems,
        " (supported providers: vault, aws, azurekv, gcpsm)",
    );
    let p = &spec.provider;
    let set = [
        p.vault.is_some(),
        p.aws.is_some(),
        p.azurekv.is_some(),
        p.gcpsm.is_some(),
    ];
    match set.iter().filter(|s| **s).count() {
        0 if p.unknown.is_empty() => {
            problems.push("spec.provider needs one of vault, aws, azurekv, gcpsm".into())
        }
        0 | 1 => {}
        _ => {
            problems.push("spec.provider must set exactly one of vault, aws, azurekv, gcpsm".into())
        }
    }
    if let Some(vault) = &p.vault {
        vault_problems(vault, cluster, service_account_required, &mut problems);
    }
    if let Some(aws) = &p.aws {
        aws::provider(aws, cluster, service_account_required, &mut problems);
    }
    if let Some(azure) = &p.azurekv {
        azure::provider(azure, cluster, service_account_required, &mut problems);
    }
    if let Some(gcp) = &p.gcpsm {
        gcp::provider(gcp, cluster, service_account_required, &mut problems);
    }
    problems
}

/// A ref's `namespace` against the store's kind (ESO's rule): a SecretStore uses its own, a
/// ClusterSecretStore has none to default to.
fn namespaced_ref(path: &str, ns: &Option<String>, cluster: bool, problems: &mut Vec<String>) {
    if ns.is_some() && !cluster {
        problems.push(format!(
            "{path}.namespace is only allowed on a ClusterSecretStore (a SecretStore uses its own namespace)"
        ));
    }
    if ns.as_deref().is_none_or(str::is_empty) && cluster {
        problems.push(format!(
            "{path}.namespace is required on a ClusterSecretStore"
        ));
    }
}

fn vault_problems(
    vault: &VaultProvider,
    cluster: bool,
    service_account_required: bool,
    problems: &mut Vec<String>,
) {
    unknown("spec.provider.vault", &vault.unknown, problems, "");
    if !(vault.server.starts_with("http://") || vault.server.starts_with("https://")) {
        problems.push(format!(
            "spec.provider.vault.server {:?} must be an http:// or https:// URL",
            vault.server
        ));
    }
    if let Some(path) = &vault.path
        && let Some(why) = vault_path_problem(path)
    {
        problems.push(format!(
            "spec.provider.vault.path {path:?} is not a usable vault mount path: {why}"
        ));
    }
    if vault.ca_bundle.is_some() && vault.ca_provider.is_some() {
        problems.push("spec.provider.vault: set caBundle or caProvider, not both".into());
    }
    if let Some(ca) = &vault.ca_provider {
        if ca.namespace.is_some() && !cluster {
            problems.push(
                "spec.provider.vault.caProvider.namespace is only allowed on a ClusterSecretStore"
                    .into(),
            );
        }
        // ESO's rule: a ClusterSecretStore has no namespace of its own to default to.
        if ca.namespace.as_deref().is_none_or(str::is_empty) && cluster {
            problems.push(
                "spec.provider.vault.caProvider.namespace is required on a ClusterSecretStore"
                    .into(),
            );
        }
    }
    let auth = &vault.auth;
    unknown(
        "spec.provider.vault.auth",
        &auth.unknown,
        problems,
        " (supported: tokenSecretRef, kubernetes, appRole)",
    );
    let methods = [
        auth.token_secret_ref.is_some(),
        auth.kubernetes.is_some(),
        auth.app_role.is_some(),
    ];
    match methods.iter().filter(|m| **m).count() {
        0 if auth.unknown.is_empty() => problems.push(
            "spec.provider.vault.auth needs one of tokenSecretRef, kubernetes, appRole".into(),
        ),
        0 | 1 => {}
        _ => problems.push(
            "spec.provider.vault.auth must set exactly one of tokenSecretRef, kubernetes, appRole"
                .into(),
        ),
    }
    let namespaced_ref = |path: &str, ns: &Option<String>, problems: &mut Vec<String>| {
        namespaced_ref(path, ns, cluster, problems)
    };
    if let Some(r) = &auth.token_secret_ref {
        unknown(
            "spec.provider.vault.auth.tokenSecretRef",
            &r.unknown,
            problems,
            "",
        );
        namespaced_ref(
            "spec.provider.vault.auth.tokenSecretRef",
            &r.namespace,
            problems,
        );
    }
    if let Some(k) = &auth.kubernetes {
        unknown(
            "spec.provider.vault.auth.kubernetes",
            &k.unknown,
            problems,
            " (use serviceAccountRef)",
        );
        if k.role.is_empty() {
            problems.push("spec.provider.vault.auth.kubernetes.role is required".into());
        }
        match &k.service_account_ref {
            None if !service_account_required => {}
            None => problems.push(
                "spec.provider.vault.auth.kubernetes.serviceAccountRef is required (the agent never logs in as itself)"
                    .into(),
            ),
            Some(sa) => namespaced_ref(
                "spec.provider.vault.auth.kubernetes.serviceAccountRef",
                &sa.namespace,
                problems,
            ),
        }
    }
    if let Some(a) = &auth.app_role {
        unknown("spec.provider.vault.auth.appRole", &a.unknown, problems, "");
        if a.role_id.as_deref().is_none_or(str::is_empty) {
            problems.push("spec.provider.vault.auth.appRole.roleId is required".into());
        }
        unknown(
            "spec.provider.vault.auth.appRole.secretRef",
            &a.secret_ref.unknown,
            problems,
            "",
        );
        namespaced_ref(
            "spec.provider.vault.auth.appRole.secretRef",
            &a.secret_ref.namespace,
            problems,
        );
    }
}

fn remote_ref(path: &str, r: &RemoteRef, problems: &mut Vec<String>) {
    unknown(path, &r.unknown, problems, "");
    if r.key.trim_matches('/').is_empty() {
        problems.push(format!("{path}.key must not be empty"));
    } else if let Some(why) = vault_path_problem(&r.key) {
        problems.push(format!(
            "{path}.key {:?} is not a usable vault key: {why}",
            r.key
        ));
    }
    only_value(
        &format!("{path}.decodingStrategy"),
        r.decoding_strategy.as_deref(),
        "None",
        problems,
    );
    only_value(
        &format!("{path}.conversionStrategy"),
        r.conversion_strategy.as_deref(),
        "Default",
        problems,
    );
    if let Some(policy) = r.metadata_policy.as_deref()
        && policy != "None"
        && policy != "Fetch"
    {
        problems.push(format!(
            "{path}.metadataPolicy {policy:?} must be \"None\" or \"Fetch\""
        ));
    }
    only_value(
        &format!("{path}.nullBytePolicy"),
        r.null_byte_policy.as_deref(),
        "Ignore",
        problems,
    );
}

/// Problems with the `remoteRef.version`s of an ExternalSecret, as the store that will read
/// them judges them (`check` is the store's [`crate::store::Store::check_version`]): a version
/// is a string only the store can validate (Vault KV numbers, AWS version ids, …), so this
/// runs once the store is known, with each problem naming its field.
pub fn versions(
    spec: &ExternalSecretSpec,
    check: &dyn Fn(&str) -> Result<(), String>,
) -> Vec<String> {
    let data = spec
        .data
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("spec.data[{i}].remoteRef"), &d.remote_ref));
    let data_from =
        spec.data_from.iter().enumerate().filter_map(|(i, d)| {
            Some((format!("spec.dataFrom[{i}].extract"), d.extract.as_ref()?))
        });
    data.chain(data_from)
        .filter_map(|(path, r)| {
            let v = r.version.as_deref()?;
            check(v)
                .err()
                .map(|why| format!("{path}.version {v:?} {why}"))
        })
        .collect()
}

/// Problems with an ExternalSecret spec, and its refresh interval when there are none.
pub fn external_secret(spec: &ExternalSecretSpec) -> Result<Duration, Vec<String>> {
    let mut problems = Vec::new();
    unknown("spec", &spec.unknown, &mut problems, "");
    let interval = match spec.refresh_interval.as_deref().map(duration::parse) {
        None => DEFAULT_REFRESH,
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            problems.push(format!("spec.refreshInterval: {e}"));
            DEFAULT_REFRESH
        }
    };
    if spec.secret_store_ref.name.is_empty() {
        problems.push("spec.secretStoreRef.name is required".into());
    }
    if let Some(t) = &spec.target {
        unknown("spec.target", &t.unknown, &mut problems, "");
        if let Some(tpl) = &t.template {
            unknown("spec.target.template", &tpl.unknown, &mut problems, "");
            only_value(
                "spec.target.template.engineVersion",
                tpl.engine_version.as_deref(),
                "v2",
                &mut problems,
            );
            only_value(
                "spec.target.template.mergePolicy",
                tpl.merge_policy.as_deref(),
                "Replace",
                &mut problems,
            );
            if let Some(m) = &tpl.metadata {
                unknown(
                    "spec.target.template.metadata",
                    &m.unknown,
                    &mut problems,
                    "",
                );
            }
            for (key, text) in tpl.data.iter().flatten() {
                if !crate::secret::valid_key(key) {
                    problems.push(format!(
                        "spec.target.template.data key {key:?} is not a valid Secret key"
                    ));
                }
                if let Err(e) = crate::template::check(text) {
                    problems.push(format!("spec.target.template.data[{key}]: {e}"));
                }
            }
        }
    }
    if spec.data.is_empty() && spec.data_from.is_empty() {
        problems.push("spec.data or spec.dataFrom must name at least one remote secret".into());
    }
    for (i, item) in spec.data.iter().enumerate() {
        let path = format!("spec.data[{i}]");
        unknown(&path, &item.unknown, &mut problems, "");
        if !crate::secret::valid_key(&item.secret_key) {
            problems.push(format!(
                "{path}.secretKey {:?} must match ^[-._a-zA-Z0-9]+$",
                item.secret_key
            ));
        }
        remote_ref(
            &format!("{path}.remoteRef"),
            &item.remote_ref,
            &mut problems,
        );
    }
    for (i, from) in spec.data_from.iter().enumerate() {
        let path = format!("spec.dataFrom[{i}]");
        unknown(&path, &from.unknown, &mut problems, " (supported: extract)");
        match &from.extract {
            Some(r) => remote_ref(&format!("{path}.extract"), r, &mut problems),
            None if from.unknown.is_empty() => problems.push(format!("{path}.extract is required")),
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(interval)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ClusterSecretStore, ExternalSecret, SecretStore};

    /// The spec checks, then the version checks as a KV v2 store makes them (the Vault store
    /// crate's own check, restated here: core depends on no store).
    fn problems_es(yaml: &str) -> Vec<String> {
        let es: ExternalSecret = serde_yaml_ng::from_str(yaml).unwrap();
        let kv2 = |v: &str| {
            v.parse::<u64>()
                .map(drop)
                .map_err(|_| "must be a KV v2 version number".to_owned())
        };
        let mut problems = external_secret(&es.spec).err().unwrap_or_default();
        problems.extend(versions(&es.spec, &kv2));
        problems
    }

    const ES: &str = "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ExternalSecret\nmetadata: {name: a}\nspec:\n  secretStoreRef: {name: s}\n";

    #[test]
    fn a_plain_external_secret_is_valid_and_defaults_to_an_hour() {
        let es: ExternalSecret = serde_yaml_ng::from_str(&format!(
            "{ES}  data: [{{secretKey: k, remoteRef: {{key: a/b, decodingStrategy: None, conversionStrategy: Default}}}}]\n"
        ))
        .unwrap();
        assert_eq!(external_secret(&es.spec), Ok(DEFAULT_REFRESH));
        // Defaults are not written back: the spec serializes as it came.
        let back = serde_json::to_value(&es.spec).unwrap();
        assert!(back.get("refreshInterval").is_none() && back.get("target").is_none());
    }

    #[test]
    fn unimplemented_eso_fields_are_named() {
        let p = problems_es(&format!(
            "{ES}  refreshInterval: 1x\n  syncWindows: {{}}\n  dataFrom:\n  - find: {{path: a}}\n  data:\n  - secretKey: 'bad key'\n    remoteRef: {{key: a, decodingStrategy: Base64, version: latest}}\n  target:\n    manifest: {{kind: ConfigMap}}\n    template: {{engineVersion: v1, templateFrom: []}}\n"
        ));
        let all = p.join("\n");
        for needle in [
            "spec.refreshInterval",
            "spec.syncWindows is not supported",
            "spec.dataFrom[0].find is not supported by kubectl-secrets (supported: extract)",
            "spec.data[0].secretKey \"bad key\"",
            "spec.data[0].remoteRef.decodingStrategy \"Base64\"",
            "spec.data[0].remoteRef.version \"latest\"",
            "spec.target.manifest is not supported",
            "spec.target.template.engineVersion \"v1\"",
            "spec.target.template.templateFrom is not supported",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    /// Templates are checked before anything is read: Go syntax with `index` and `printf` is
    /// fine; refused and unknown functions are named.
    #[test]
    fn templates_are_checked_without_values() {
        let with = |template: &str| {
            problems_es(&format!(
                "{ES}  data: [{{secretKey: k, remoteRef: {{key: a/b}}}}]\n  target:\n    template:\n      data:\n        x: '{template}'\n"
            ))
            .join("\n")
        };
        assert_eq!(with(r#"{{ printf "%s" (index . "db-password") }}"#), "");
        let refused = with("{{ uuidv4 }}");
        assert!(
            refused.contains("template.data[x]") && refused.contains("\"uuidv4\" is refused"),
            "{refused}"
        );
        let unknown = with("{{ frob .k }}");
        assert!(unknown.contains("\"frob\" is not defined"), "{unknown}");
        let syntax = with("{{ if .k }}");
        assert!(syntax.contains("syntax error"), "{syntax}");
    }

    #[test]
    fn unusable_vault_keys_name_the_field_and_the_cause() {
        let p = problems_es(&format!(
            "{ES}  data:\n  - secretKey: a\n    remoteRef: {{key: 'app//db'}}\n  - secretKey: b\n    remoteRef: {{key: '../sys/seal'}}\n  - secretKey: c\n    remoteRef: {{key: /app/db/}}\n  dataFrom:\n  - extract: {{key: 'a/./b'}}\n"
        ));
        assert_eq!(
            p,
            vec![
                "spec.data[0].remoteRef.key \"app//db\" is not a usable vault key: it has an empty segment (\"//\")",
                "spec.data[1].remoteRef.key \"../sys/seal\" is not a usable vault key: it has a \".\" or \"..\" segment",
                "spec.dataFrom[0].extract.key \"a/./b\" is not a usable vault key: it has a \".\" or \"..\" segment",
            ]
        );
    }

    #[test]
    fn an_unusable_store_path_is_named() {
        let s: SecretStore = serde_yaml_ng::from_str(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    vault:\n      server: http://v:8200\n      path: kv//a\n      auth:\n        tokenSecretRef: {name: t, key: token}\n",
        )
        .unwrap();
        assert_eq!(
            store(&s.spec, false),
            vec![
                "spec.provider.vault.path \"kv//a\" is not a usable vault mount path: it has an empty segment (\"//\")"
            ]
        );
    }

    #[test]
    fn empty_data_is_an_error() {
        assert!(problems_es(ES)[0].contains("at least one remote secret"));
    }

    #[test]
    fn stores_reject_other_providers_and_bad_auth() {
        let s: SecretStore = serde_yaml_ng::from_str(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    akeyless: {akeylessGWApiURL: x}\n",
        )
        .unwrap();
        assert_eq!(
            store(&s.spec, false),
            vec![
                "spec.provider.akeyless is not supported by kubectl-secrets (supported providers: vault, aws, azurekv, gcpsm)"
            ]
        );
        let two: SecretStore = serde_yaml_ng::from_str(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    vault: {server: https://v, auth: {tokenSecretRef: {name: t}}}\n    gcpsm: {projectID: p}\n",
        )
        .unwrap();
        assert!(
            store(&two.spec, false).contains(
                &"spec.provider must set exactly one of vault, aws, azurekv, gcpsm".to_owned()
            ),
            "{:?}",
            store(&two.spec, false)
        );
        let s: SecretStore = serde_yaml_ng::from_str(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n  conditions: []\n  provider:\n    vault:\n      server: vault:8200\n      auth:\n        kubernetes: {role: r}\n        ldap: {}\n",
        )
        .unwrap();
        let all = store(&s.spec, false).join("\n");
        for needle in [
            "only allowed on a ClusterSecretStore",
            "must be an http",
            "auth.ldap is not supported",
            "serviceAccountRef is required",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        // A mount logs in as the pod: no serviceAccountRef needed, the rest still checked.
        let mount = store_for_mount(&s.spec, false).join("\n");
        assert!(!mount.contains("serviceAccountRef"), "{mount}");
        assert!(mount.contains("auth.ldap is not supported"), "{mount}");
    }

    #[test]
    fn a_cluster_store_ca_provider_needs_its_namespace() {
        let yaml = |kind: &str, ca: &str| {
            format!(
                "apiVersion: kubectl-secrets.io/v1alpha1\nkind: {kind}\nmetadata: {{name: s}}\nspec:\n  provider:\n    vault:\n      server: https://v:8200\n      caProvider: {ca}\n      auth:\n        tokenSecretRef: {{name: t, key: token, namespace: ops}}\n"
            )
        };
        let c: ClusterSecretStore = serde_yaml_ng::from_str(&yaml(
            "ClusterSecretStore",
            "{type: Secret, name: ca, key: ca.crt}",
        ))
        .unwrap();
        assert_eq!(
            store(&c.spec.inner, true),
            vec!["spec.provider.vault.caProvider.namespace is required on a ClusterSecretStore"]
        );
        let c: ClusterSecretStore = serde_yaml_ng::from_str(&yaml(
            "ClusterSecretStore",
            "{type: Secret, name: ca, key: ca.crt, namespace: pki}",
        ))
        .unwrap();
        assert!(store(&c.spec.inner, true).is_empty());
    }

    #[test]
    fn versions_are_judged_by_the_store_with_their_field() {
        let es: ExternalSecret = serde_yaml_ng::from_str(&format!(
            "{ES}  data:\n  - secretKey: a\n    remoteRef: {{key: a, version: '2'}}\n  dataFrom:\n  - extract: {{key: b, version: AWSCURRENT}}\n"
        ))
        .unwrap();
        // Core itself accepts any string: the store decides.
        assert!(external_secret(&es.spec).is_ok());
        let numbers = |v: &str| {
            v.parse::<u64>()
                .map(drop)
                .map_err(|_| "is not a number".to_owned())
        };
        assert_eq!(
            versions(&es.spec, &numbers),
            vec!["spec.dataFrom[0].extract.version \"AWSCURRENT\" is not a number"]
        );
        assert!(versions(&es.spec, &|_| Ok(())).is_empty());
    }

    #[test]
    fn cluster_store_refs_need_namespaces() {
        let c: ClusterSecretStore = serde_yaml_ng::from_str(
            "apiVersion: kubectl-secrets.io/v1alpha1\nkind: ClusterSecretStore\nmetadata: {name: s}\nspec:\n  conditions: [{namespaces: [a]}]\n  provider:\n    vault:\n      server: http://v:8200\n      auth:\n        tokenSecretRef: {name: t, key: token}\n",
        )
        .unwrap();
        assert_eq!(
            store(&c.spec.inner, true),
            vec![
                "spec.provider.vault.auth.tokenSecretRef.namespace is required on a ClusterSecretStore"
            ]
        );
    }
}
