//! Who the store logs in as, resolved from what the caller passed: a service principal
//! (`clientId`, `clientSecret`, optional `tenantId` keys), a workload identity (a service
//! account's token plus the client and tenant ids from the store's keys or the account's
//! `azure.workload.identity/*` annotations), or a person's bearer token (the plugin). Pure:
//! [`resolve_client_id`] and [`resolve_tenant`] apply ESO's order and refuse conflicts.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

/// The service-account annotation naming the application (client) id.
pub const CLIENT_ID_ANNOTATION: &str = "azure.workload.identity/client-id";
/// The service-account annotation naming the tenant id.
pub const TENANT_ID_ANNOTATION: &str = "azure.workload.identity/tenant-id";

/// A source of an id, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    AuthSecret,
    Spec,
    Annotation,
    Environment,
}

impl Source {
    fn describe(self, what: &str) -> String {
        match self {
            Source::AuthSecret => format!("authSecretRef.{what}"),
            Source::Spec => format!("spec.provider.azurekv.{what}"),
            Source::Annotation => format!(
                "the service account's annotation {}",
                if what == "clientId" {
                    CLIENT_ID_ANNOTATION
                } else {
                    TENANT_ID_ANNOTATION
                }
            ),
            Source::Environment => "AZURE_TENANT_ID".to_owned(),
        }
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The first present value among `candidates`, refusing two present values that differ.
fn first_agreeing(
    what: &str,
    candidates: &[(Source, Option<&str>)],
) -> Result<Option<String>, String> {
    let present: Vec<(Source, &str)> = candidates
        .iter()
        .filter_map(|(source, value)| non_empty(*value).map(|v| (*source, v)))
        .collect();
    let Some((first_source, first)) = present.first().copied() else {
        return Ok(None);
    };
    if let Some((other_source, other)) = present.iter().find(|(_, v)| *v != first) {
        return Err(format!(
            "{} is {first:?} but {} is {other:?}: set the {what} in one place",
            first_source.describe(what),
            other_source.describe(what)
        ));
    }
    Ok(Some(first.to_owned()))
}

/// A workload identity's client id: `authSecretRef.clientId`, else the account's annotation.
pub fn resolve_client_id(
    keys: &BTreeMap<String, Zeroizing<String>>,
    annotations: &BTreeMap<String, String>,
) -> Result<String, String> {
    first_agreeing(
        "clientId",
        &[
            (Source::AuthSecret, keys.get("clientId").map(|v| v.as_str())),
            (
                Source::Annotation,
                annotations.get(CLIENT_ID_ANNOTATION).map(String::as_str),
            ),
        ],
    )?
    .ok_or_else(|| {
        format!(
            "workload identity needs a client id: set authSecretRef.clientId or annotate the \
             service account with {CLIENT_ID_ANNOTATION}"
        )
    })
}

/// The tenant: `authSecretRef.tenantId` → `spec.tenantId` → the account's annotation →
/// `AZURE_TENANT_ID` (ESO's order); two that differ are an error.
pub fn resolve_tenant(
    keys: &BTreeMap<String, Zeroizing<String>>,
    spec_tenant: Option<&str>,
    annotations: &BTreeMap<String, String>,
    environment: Option<&str>,
) -> Result<String, String> {
    first_agreeing(
        "tenantId",
        &[
            (Source::AuthSecret, keys.get("tenantId").map(|v| v.as_str())),
            (Source::Spec, spec_tenant),
            (
                Source::Annotation,
                annotations.get(TENANT_ID_ANNOTATION).map(String::as_str),
            ),
            (Source::Environment, environment),
        ],
    )?
    .ok_or_else(|| {
        format!(
            "no tenant id: set spec.provider.azurekv.tenantId, authSecretRef.tenantId or the \
             service account's annotation {TENANT_ID_ANNOTATION}"
        )
    })
}

/// A tenant id goes into the token URL's path: a GUID or a domain name, nothing else.
pub fn check_tenant(tenant: &str) -> Result<(), String> {
    let ok = !tenant.is_empty()
        && tenant.len() <= 256
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tenant id {tenant:?} is neither a GUID nor a domain name"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pairs: &[(&str, &str)]) -> BTreeMap<String, Zeroizing<String>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Zeroizing::new((*v).to_owned())))
            .collect()
    }

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn client_id_comes_from_keys_or_annotation_and_conflicts_fail() {
        let a = annotations(&[(CLIENT_ID_ANNOTATION, "from-sa")]);
        assert_eq!(resolve_client_id(&keys(&[]), &a).unwrap(), "from-sa");
        assert_eq!(
            resolve_client_id(&keys(&[("clientId", "k")]), &annotations(&[])).unwrap(),
            "k"
        );
        assert_eq!(
            resolve_client_id(&keys(&[("clientId", "from-sa")]), &a).unwrap(),
            "from-sa"
        );
        let err = resolve_client_id(&keys(&[("clientId", "other")]), &a).unwrap_err();
        assert!(
            err.contains("authSecretRef.clientId") && err.contains(CLIENT_ID_ANNOTATION),
            "{err}"
        );
        assert!(
            resolve_client_id(&keys(&[]), &annotations(&[]))
                .unwrap_err()
                .contains("needs a client id")
        );
    }

    #[test]
    fn tenant_follows_esos_order() {
        let none = annotations(&[]);
        let sa = annotations(&[(TENANT_ID_ANNOTATION, "t-sa")]);
        assert_eq!(
            resolve_tenant(&keys(&[]), Some("t-spec"), &none, None).unwrap(),
            "t-spec"
        );
        assert_eq!(
            resolve_tenant(&keys(&[]), None, &sa, Some("t-sa")).unwrap(),
            "t-sa"
        );
        assert_eq!(
            resolve_tenant(&keys(&[]), None, &none, Some("t-env")).unwrap(),
            "t-env"
        );
        assert_eq!(
            resolve_tenant(&keys(&[("tenantId", "t-k")]), Some(""), &none, None).unwrap(),
            "t-k"
        );
        let err = resolve_tenant(&keys(&[]), Some("t-spec"), &sa, None).unwrap_err();
        assert!(
            err.contains("spec.provider.azurekv.tenantId") && err.contains("t-sa"),
            "{err}"
        );
        assert!(resolve_tenant(&keys(&[]), None, &none, None).is_err());
        assert!(check_tenant("72f988bf-86f1-41af-91ab-2d7cd011db47").is_ok());
        assert!(check_tenant("contoso.onmicrosoft.com").is_ok());
        assert!(check_tenant("a/../b").is_err());
    }
}
