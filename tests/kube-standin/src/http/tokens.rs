//! TokenRequest (`POST .../serviceaccounts/NAME/token`) and TokenReview, as kube-apiserver
//! answers them. A request is validated, its service account looked up, its
//! `boundObjectRef` resolved to a pod (which must run as that service account) or a secret of
//! the namespace (uid checked when given), and the signer issues the token. Reviews look the
//! service account and bound objects up in the store as they are now.

use http::{Response, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Body, State, json};
use crate::api::{ApiError, Target};
use crate::registry::{ResKey, strings};
use crate::store::Store;
use crate::tokens::{
    Binding, DEFAULT_AUDIENCE, DEFAULT_SERVICE_ACCOUNT, ObjectState, Objects, Subject,
};

/// Shortest TokenRequest lifetime kube-apiserver allows.
const MIN_TOKEN_SECONDS: i64 = 600;
/// Longest: 2^32 seconds.
const MAX_TOKEN_SECONDS: i64 = 1 << 32;
/// The lifetime kube-apiserver defaults an absent `expirationSeconds` to.
const DEFAULT_TOKEN_SECONDS: i64 = 3600;

/// The store as a token review sees it.
pub(super) struct StoreObjects<'a>(pub(super) &'a Store);

impl StoreObjects<'_> {
    fn state(&self, resource: &str, ns: &str, name: &str) -> Option<ObjectState> {
        let key = ResKey {
            group: String::new(),
            resource: resource.into(),
        };
        let object = self.0.get_raw(&key, ns, name)?;
        let metadata = &object["metadata"];
        Some(ObjectState {
            uid: metadata["uid"].as_str().unwrap_or_default().to_owned(),
            deletion_timestamp: metadata["deletionTimestamp"]
                .as_str()
                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
        })
    }
}

impl Objects for StoreObjects<'_> {
    fn service_account(&self, namespace: &str, name: &str) -> Option<ObjectState> {
        self.state("serviceaccounts", namespace, name)
    }
    fn pod(&self, namespace: &str, name: &str) -> Option<ObjectState> {
        self.state("pods", namespace, name)
    }
    fn secret(&self, namespace: &str, name: &str) -> Option<ObjectState> {
        self.state("secrets", namespace, name)
    }
}

pub(super) fn token_request(
    state: &State,
    ns: &str,
    name: &str,
    body: &Value,
) -> Result<Response<Body>, ApiError> {
    let spec = &body["spec"];
    let audiences = strings(&spec["audiences"]);
    let seconds = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(DEFAULT_TOKEN_SECONDS);
    let invalid = |why: &str| {
        ApiError::unprocessable(format!(
            "TokenRequest.authentication.k8s.io \"{name}\" is invalid: spec.expirationSeconds: Invalid value: {seconds}: {why}"
        ))
    };
    if seconds < MIN_TOKEN_SECONDS {
        return Err(invalid("may not specify a duration less than 10 minutes"));
    }
    if seconds > MAX_TOKEN_SECONDS {
        return Err(invalid(
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    let sa = get(&state.store, "serviceaccounts", ns, name)?;
    let binding = bind(&state.store, ns, name, &spec["boundObjectRef"])?;

    let now_t = OffsetDateTime::now_utc();
    let subject = Subject {
        namespace: ns.to_owned(),
        name: name.to_owned(),
        uid: sa["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let token = state
        .tokens
        .issue_bound(&subject, binding.as_ref(), &audiences, seconds, now_t)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let expires = rfc3339(now_t + time::Duration::seconds(seconds));
    let audiences = if audiences.is_empty() {
        vec![DEFAULT_AUDIENCE.to_owned()]
    } else {
        audiences
    };
    Ok(json(
        StatusCode::CREATED,
        &json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "metadata": {"name": name, "namespace": ns, "creationTimestamp": rfc3339(now_t)},
            "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": spec["boundObjectRef"]},
            "status": {"token": token, "expirationTimestamp": expires},
        }),
    ))
}

/// Resolves `boundObjectRef` as kube-apiserver does: the kind decides (any version of the
/// core group), the object must exist in the namespace, a pod must run as the service
/// account, and a given uid must be the object's.
fn bind(
    store: &Store,
    ns: &str,
    service_account: &str,
    reference: &Value,
) -> Result<Option<Binding>, ApiError> {
    if reference.is_null() {
        return Ok(None);
    }
    let api_version = reference["apiVersion"].as_str().unwrap_or_default();
    let kind = reference["kind"].as_str().unwrap_or_default();
    let name = reference["name"].as_str().unwrap_or_default();
    let (group, version) = group_version(api_version);
    let binding = match (group, kind) {
        ("", "Pod") => {
            let pod = get(store, "pods", ns, name)?;
            let runs_as = pod["spec"]["serviceAccountName"]
                .as_str()
                .filter(|sa| !sa.is_empty())
                .unwrap_or(DEFAULT_SERVICE_ACCOUNT);
            if runs_as != service_account {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token for serviceaccount \"{service_account}\" to pod running with different serviceaccount name."
                )));
            }
            Binding::Pod {
                name: name.to_owned(),
                uid: uid_of(&pod),
            }
        }
        ("", "Secret") => {
            let secret = get(store, "secrets", ns, name)?;
            Binding::Secret {
                name: name.to_owned(),
                uid: uid_of(&secret),
            }
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "cannot bind token to object of type {group}/{version}, Kind={kind}"
            )));
        }
    };
    let actual = match &binding {
        Binding::Pod { uid, .. } | Binding::Secret { uid, .. } => uid,
    };
    match reference["uid"].as_str() {
        Some(wanted) if !wanted.is_empty() && wanted != actual => Err(ApiError::conflict(
            Target {
                resource: kind,
                group,
                kind,
            },
            name,
            &format!(
                "the UID in the bound object reference ({wanted}) does not match the UID in record. The object might have been deleted and then recreated"
            ),
        )),
        _ => Ok(Some(binding)),
    }
}

/// `apiVersion` split as Kubernetes parses it: `v1` is the core group; a string it cannot
/// parse (more than one `/`) counts as no group and no version.
fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        None => ("", api_version),
        Some((_, rest)) if rest.contains('/') => ("", ""),
        Some((group, version)) => (group, version),
    }
}

fn get(store: &Store, resource: &str, ns: &str, name: &str) -> Result<Value, ApiError> {
    let def = store
        .def("", "v1", resource)
        .ok_or_else(|| ApiError::internal(format!("{resource} are not served")))?;
    store.get(&def, Some(ns), name)
}

fn uid_of(object: &Value) -> String {
    object["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}

pub(super) fn token_review(state: &State, body: &Value) -> Response<Body> {
    let spec = &body["spec"];
    let token = spec["token"].as_str().unwrap_or_default();
    let audiences = strings(&spec["audiences"]);
    let status = state.tokens.review(
        token,
        &audiences,
        OffsetDateTime::now_utc(),
        &StoreObjects(&state.store),
    );
    json(
        StatusCode::CREATED,
        &json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "metadata": {"creationTimestamp": null},
            // The token itself is not echoed back: it is a credential.
            "spec": {"audiences": audiences},
            "status": status,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::group_version;

    #[test]
    fn api_versions_parse_as_kubernetes_does() {
        assert_eq!(group_version("v1"), ("", "v1"));
        assert_eq!(group_version(""), ("", ""));
        assert_eq!(group_version("apps/v1"), ("apps", "v1"));
        assert_eq!(group_version("a/b/c"), ("", ""));
    }
}
