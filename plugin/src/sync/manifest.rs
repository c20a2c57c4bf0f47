//! ExternalSecrets and SecretStores built from what the person chose (flags or the wizard),
//! checked with the agent's own validation before anything reaches the cluster.
//!
//! Data flow: [`ExternalSecretRequest`] → [`external_secret`]: names checked, one `data[]`
//! item per property (Secret key given, else the property's last path segment) or, with no
//! property, `dataFrom[].extract` → `secrets_core::sync::validate::external_secret` → an
//! `ExternalSecret` holding only the fields the person gave: ESO's defaults (refresh `1h`,
//! kind `SecretStore`, target name, policies) are never written, so GitOps tools see no
//! drift. SecretStores are `sync::store`'s.

use anyhow::{Context as _, bail};
use secrets_core::api::external_secret::{
    CreationPolicy, DataFrom, DataItem, DeletionPolicy, RemoteRef, SecretStoreRef, Target,
};
use secrets_core::api::secret_store::StoreKind;
use secrets_core::api::{ExternalSecret, ExternalSecretSpec};
use secrets_core::secret;
use secrets_core::sync::validate;

/// What an ExternalSecret should do; `None` and empty mean "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExternalSecretRequest {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) store: String,
    pub(crate) store_kind: Option<StoreKind>,
    pub(crate) key: String,
    /// `remoteRef.version` of every item (none: the latest).
    pub(crate) version: Option<String>,
    pub(crate) properties: Vec<String>,
    pub(crate) secret_keys: Vec<String>,
    pub(crate) refresh: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) creation_policy: Option<CreationPolicy>,
    pub(crate) deletion_policy: Option<DeletionPolicy>,
}

/// The Secret key a property lands in by default: its last path segment (`db.password` →
/// `password`; `\.` is a literal dot, as in the property syntax).
pub(crate) fn default_secret_key(property: &str) -> String {
    let mut segment = String::new();
    let mut chars = property.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => segment.extend(chars.next()),
            '.' => segment.clear(),
            c => segment.push(c),
        }
    }
    segment
}

fn remote(key: &str, version: Option<&str>, property: Option<&str>) -> RemoteRef {
    RemoteRef {
        key: key.to_owned(),
        property: property.map(str::to_owned),
        version: version.map(str::to_owned),
        ..RemoteRef::default()
    }
}

/// Build and check the ExternalSecret.
pub(crate) fn external_secret(req: &ExternalSecretRequest) -> anyhow::Result<ExternalSecret> {
    secret::validate_name(&req.name).context("checking the ExternalSecret's name")?;
    secret::validate_namespace(&req.namespace)?;
    if let Some(target) = &req.target {
        secret::validate_name(target).context("checking the target Secret's name")?;
    }
    if req.secret_keys.len() > req.properties.len().max(1) {
        bail!(
            "{} --secret-key for {} --property: give at most one Secret key per property",
            req.secret_keys.len(),
            req.properties.len()
        );
    }
    let (data, data_from) = if req.properties.is_empty() {
        match req.secret_keys.first() {
            // The whole remote secret, as one JSON value.
            Some(secret_key) => (
                vec![DataItem {
                    secret_key: secret_key.clone(),
                    remote_ref: remote(&req.key, req.version.as_deref(), None),
                    ..DataItem::default()
                }],
                vec![],
            ),
            None => (
                vec![],
                vec![DataFrom {
                    extract: Some(remote(&req.key, req.version.as_deref(), None)),
                    ..DataFrom::default()
                }],
            ),
        }
    } else {
        let items = req
            .properties
            .iter()
            .enumerate()
            .map(|(i, property)| DataItem {
                secret_key: req
                    .secret_keys
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| default_secret_key(property)),
                remote_ref: remote(&req.key, req.version.as_deref(), Some(property)),
                ..DataItem::default()
            })
            .collect();
        (items, vec![])
    };
    let mut seen = std::collections::BTreeSet::new();
    for item in &data {
        if !seen.insert(item.secret_key.as_str()) {
            bail!(
                "two properties would land in Secret key {:?}: name them with --secret-key",
                item.secret_key
            );
        }
    }
    let target =
        (req.target.is_some() || req.creation_policy.is_some() || req.deletion_policy.is_some())
            .then(|| Target {
                name: req.target.clone(),
                creation_policy: req.creation_policy,
                deletion_policy: req.deletion_policy,
                ..Target::default()
            });
    let spec = ExternalSecretSpec {
        secret_store_ref: SecretStoreRef {
            name: req.store.clone(),
            kind: req.store_kind,
        },
        refresh_interval: req.refresh.clone(),
        target,
        data,
        data_from,
        ..ExternalSecretSpec::default()
    };
    check(
        validate::external_secret(&spec).map(|_| ()),
        "ExternalSecret",
        &req.name,
    )?;
    let mut es = ExternalSecret::new(&req.name, spec);
    es.metadata.namespace = Some(req.namespace.clone());
    Ok(es)
}

/// Core validation problems as one error line: `ExternalSecret "db": a; b`.
pub(super) fn check(result: Result<(), Vec<String>>, kind: &str, name: &str) -> anyhow::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(problems) => bail!("{kind} {name:?} is invalid: {}", problems.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> ExternalSecretRequest {
        ExternalSecretRequest {
            name: "db".into(),
            namespace: "team".into(),
            store: "vault".into(),
            key: "app/db".into(),
            ..Default::default()
        }
    }

    fn spec_json(req: &ExternalSecretRequest) -> serde_json::Value {
        serde_json::to_value(&external_secret(req).unwrap().spec).unwrap()
    }

    #[test]
    fn no_property_extracts_the_whole_secret_and_writes_no_defaults() {
        assert_eq!(
            spec_json(&req()),
            serde_json::json!({
                "secretStoreRef": {"name": "vault"},
                "dataFrom": [{"extract": {"key": "app/db"}}]
            })
        );
    }

    #[test]
    fn properties_become_data_items_with_default_keys() {
        let r = ExternalSecretRequest {
            properties: vec!["password".into(), "conn.user".into(), "tls\\.crt".into()],
            secret_keys: vec!["db-password".into()],
            refresh: Some("15m".into()),
            store_kind: Some(StoreKind::ClusterSecretStore),
            target: Some("db-secret".into()),
            creation_policy: Some(CreationPolicy::Orphan),
            ..req()
        };
        assert_eq!(
            spec_json(&r),
            serde_json::json!({
                "secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"},
                "refreshInterval": "15m",
                "target": {"name": "db-secret", "creationPolicy": "Orphan"},
                "data": [
                    {"secretKey": "db-password", "remoteRef": {"key": "app/db", "property": "password"}},
                    {"secretKey": "user", "remoteRef": {"key": "app/db", "property": "conn.user"}},
                    {"secretKey": "tls.crt", "remoteRef": {"key": "app/db", "property": "tls\\.crt"}}
                ]
            })
        );
    }

    #[test]
    fn a_secret_key_without_property_holds_the_whole_secret() {
        let r = ExternalSecretRequest {
            secret_keys: vec!["config.json".into()],
            ..req()
        };
        assert_eq!(
            spec_json(&r)["data"],
            serde_json::json!([{"secretKey": "config.json", "remoteRef": {"key": "app/db"}}])
        );
    }

    #[test]
    fn bad_requests_are_refused_with_the_field() {
        let err = |r: ExternalSecretRequest| external_secret(&r).err().unwrap().to_string();
        assert!(
            err(ExternalSecretRequest {
                refresh: Some("1d".into()),
                ..req()
            })
            .contains("spec.refreshInterval")
        );
        assert!(
            err(ExternalSecretRequest {
                properties: vec!["p".into()],
                secret_keys: vec!["bad key".into()],
                ..req()
            })
            .contains("secretKey \"bad key\"")
        );
        assert!(
            err(ExternalSecretRequest {
                properties: vec!["a.x".into(), "b.x".into()],
                ..req()
            })
            .contains("two properties would land in Secret key \"x\"")
        );
        assert!(
            err(ExternalSecretRequest {
                secret_keys: vec!["a".into(), "b".into()],
                ..req()
            })
            .contains("at most one Secret key per property")
        );
        assert!(
            err(ExternalSecretRequest {
                name: "Bad_Name".into(),
                ..req()
            })
            .contains("checking the ExternalSecret's name")
        );
    }
}
